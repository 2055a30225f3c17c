//! Hostile and messy input through decoding and the whole batch processor: no panic, every
//! message either scored or dead-lettered with a reason, card numbers caught where they hide
//! and numeric ids left alone. One regression test per case found in the field.

mod common;

use common::{balances, processor_settings, read_topic, rules_toml, Stack};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::Value;
use std::time::Duration;
use txscore::domain::bounds::MAX_ACCOUNT_POINTS;
use txscore::pipeline::{BatchProcessor, BatchReport, Destination, Inbound};
use txscore::rules::{RuleBook, RuleSet};
use txscore::store::{Keyspace, MemoryStore, Owner};
use txscore::synth::SyntheticMessage;
use txscore::wire::{DlqRecord, SourcePosition};

fn purchase(timestamp: &str) -> String {
    format!(
        r#"{{"txn_id":"T-1","type":"purchase","card_token":"tok_1","member_id":"M-1",
        "amount":"10.00","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
        "timestamp":"{timestamp}"}}"#
    )
}

/// `payloads` as one batch on a transactions partition, each with `broker_ms` as its record
/// timestamp.
fn batch(payloads: &[String], broker_ms: Option<i64>) -> Vec<Inbound<'_>> {
    payloads
        .iter()
        .enumerate()
        .map(|(offset, payload)| Inbound {
            payload: payload.as_bytes(),
            key: None,
            source: SourcePosition {
                topic: "transactions".into(),
                partition: 0,
                offset: offset as i64,
            },
            broker_timestamp_ms: broker_ms,
            routed: None,
        })
        .collect()
}

fn processor() -> BatchProcessor<MemoryStore> {
    BatchProcessor::new(MemoryStore::new(), Keyspace::new("t"), processor_settings())
}

async fn run(processor: &BatchProcessor<MemoryStore>, batch: &[Inbound<'_>]) -> BatchReport {
    let rules: RuleBook = RuleSet::embedded_default().into();
    processor
        .process(batch, &rules)
        .await
        .expect("the store works")
}

/// The DLQ records of a report, as JSON.
fn dead_letters(report: &BatchReport) -> Vec<Value> {
    report
        .outbound
        .iter()
        .filter(|out| out.destination == Destination::Dlq)
        .map(|out| serde_json::from_str(&out.payload).expect("DLQ records are JSON"))
        .collect()
}

/// Processes one payload and returns its DLQ record's kind and reason, if it was rejected.
async fn rejection_of(payload: String) -> Option<(String, String)> {
    let payloads = [payload];
    let report = run(&processor(), &batch(&payloads, None)).await;
    let dead = dead_letters(&report);
    assert!(
        dead.len() + report.scored as usize == 1,
        "one outcome per input"
    );
    dead.first().map(|record| {
        (
            record["error_kind"].as_str().unwrap().to_owned(),
            record["reason"].as_str().unwrap().to_owned(),
        )
    })
}

#[tokio::test]
async fn event_times_at_the_edges_of_the_calendar_are_dead_lettered_not_a_crash() {
    for timestamp in [
        "9999-12-31T23:59:00Z",
        "9999-12-31T23:59:59-01:00",
        "0000-01-01T00:30:00+01:00",
        "9999-12-20T00:00:00Z",
        "2100-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
    ] {
        let (kind, reason) = rejection_of(purchase(timestamp))
            .await
            .unwrap_or_else(|| panic!("{timestamp} was scored"));
        assert_eq!(kind, "invalid_field", "{timestamp}");
        assert!(reason.contains("`timestamp`"), "{timestamp}: {reason}");
    }
    assert_eq!(rejection_of(purchase("2099-12-31T23:59:59Z")).await, None);
}

#[tokio::test]
async fn an_event_time_far_ahead_of_its_broker_timestamp_is_dead_lettered() {
    let recorded = time::macros::datetime!(2026-11-22 10:00 UTC);
    let broker_ms = (recorded.unix_timestamp_nanos() / 1_000_000) as i64;
    let payloads = [
        purchase("2026-11-23T09:59:00Z"),
        purchase("2099-01-01T00:00:00Z")
            .replace("T-1", "T-2")
            .replace("M-1", "M-2"),
        purchase("2026-11-23T10:00:01Z")
            .replace("T-1", "T-3")
            .replace("M-1", "M-3"),
    ];
    let report = run(&processor(), &batch(&payloads, Some(broker_ms))).await;
    assert_eq!(report.scored, 1, "within the day's lead");
    let dead = dead_letters(&report);
    assert_eq!(dead.len(), 2);
    for record in &dead {
        assert_eq!(record["error_kind"], "invalid_field");
        assert!(record["reason"]
            .as_str()
            .unwrap()
            .contains("ahead of the time the broker"));
    }
    // A replay of the same records decides the same way: the broker time is in the log.
    let again = run(&processor(), &batch(&payloads, Some(broker_ms))).await;
    assert_eq!((again.scored, dead_letters(&again).len()), (1, 2));
    // Without a broker timestamp (a file replay) only the calendar range applies.
    let unstamped = run(&processor(), &batch(&payloads, None)).await;
    assert_eq!(unstamped.scored, 3);
}

#[tokio::test]
async fn card_numbers_are_caught_escaped_glued_and_in_free_text() {
    for (field, value) in [
        ("card_token", r"\u0034111111111111111"),
        ("card_token", "tok_4111111111111111"),
        ("card_token", "5555 5555 5555 4444"),
        ("merchant_name", r"Caf\u00e9 \u0035555555555554444"),
        ("merchant_name", "paid with 3782-822463-10005"),
        ("merchant_id", "4111111111111111"),
    ] {
        let payload = match field {
            "card_token" => purchase("2026-11-22T10:00:00Z").replace("tok_1", value),
            "merchant_name" => purchase("2026-11-22T10:00:00Z").replace(
                r#""id":"MER-1""#,
                &format!(r#""id":"MER-1","name":"{value}""#),
            ),
            _ => purchase("2026-11-22T10:00:00Z").replace("MER-1", value),
        };
        let payloads = [payload];
        let report = run(&processor(), &batch(&payloads, None)).await;
        let dead = dead_letters(&report);
        assert_eq!(dead.len(), 1, "{value} was not caught");
        assert_eq!(dead[0]["error_kind"], "raw_pan", "{value}");
        let original = dead[0]["original"].as_str().unwrap();
        assert!(
            txscore::wire::pan::find_pans(original.as_bytes()).is_empty(),
            "the DLQ record still carries the number: {original}"
        );
    }
}

#[tokio::test]
async fn numeric_merchant_ids_that_pass_luhn_are_ids() {
    let payload = purchase("2026-11-22T10:00:00Z").replace("MER-1", "MER-3527213246127876953");
    assert_eq!(rejection_of(payload).await, None);
}

#[test]
fn a_dead_letter_masks_before_it_truncates() {
    let payload = format!(r#"{{"note":"{}4111111111111111"}}"#, "x".repeat(100));
    let cut_inside_the_number = 100 + 10 + 8;
    let source = SourcePosition {
        topic: "transactions".into(),
        partition: 0,
        offset: 0,
    };
    let record = DlqRecord::new(
        payload.as_bytes(),
        cut_inside_the_number,
        source,
        "raw_pan",
        "x".into(),
    );
    assert!(record.truncated);
    let clear_digits = record.original.chars().filter(char::is_ascii_digit).count();
    assert_eq!(clear_digits, 0, "{}", record.original);
}

#[tokio::test]
async fn ambiguous_input_is_refused_naming_the_field() {
    let at = "2026-11-22T10:00:00Z";
    for (payload, field) in [
        (
            purchase(at).replace(
                r#""amount":"10.00""#,
                r#""amount":"1.00","amount":"999999.00""#,
            ),
            "amount",
        ),
        (purchase(at).replace("10.00", "1_000.00"), "amount"),
        (purchase(at).replace("10.00", "1e3"), "amount"),
        (purchase(at).replace("M-1", "M-{m:2}"), "member_id"),
        (purchase(at).replace("M-1", "M-1:account:x"), "member_id"),
        (purchase(at).replace("T-1", "T-*"), "txn_id"),
        (purchase(at).replace("tok_1", "tok 1"), "card_token"),
    ] {
        let (kind, reason) = rejection_of(payload.clone())
            .await
            .unwrap_or_else(|| panic!("accepted: {payload}"));
        assert_eq!(kind, "invalid_field", "{payload}");
        assert!(reason.contains(&format!("`{field}`")), "{reason}");
    }
}

/// The shipped rules without their day, month and year caps, which would stop huge amounts
/// long before an account's bound.
fn uncapped_rules() -> RuleBook {
    let mut rules: toml::Table = rules_toml().parse().unwrap();
    let earning = rules
        .get_mut("programs")
        .and_then(|programs| programs.get_mut("default"))
        .and_then(|program| program.get_mut("earning"))
        .and_then(toml::Value::as_table_mut)
        .expect("the default programme's earning rules");
    earning.remove("caps").expect("the shipped rules have caps");
    RuleSet::from_toml(&toml::to_string(&rules).unwrap())
        .unwrap()
        .into()
}

#[tokio::test]
async fn points_that_would_leave_an_account_out_of_range_are_dead_lettered() {
    let rules = uncapped_rules();
    let processor = processor();
    let payloads: Vec<String> = (0..1500)
        .map(|n| {
            purchase(&format!("2026-11-{:02}T10:{:02}:00Z", 1 + n / 60, n % 60))
                .replace("T-1", &format!("T-{n}"))
                .replace("10.00", "100000000000000.00")
        })
        .collect();
    let mut out_of_range = 0;
    for chunk in payloads.chunks(500) {
        let report = processor
            .process(&batch(chunk, None), &rules)
            .await
            .unwrap();
        out_of_range += report
            .dead_lettered
            .get("out_of_range")
            .copied()
            .unwrap_or(0);
    }
    assert!(out_of_range > 0, "the bound was never reached");
    let key = Keyspace::new("t").account(&Owner::Member("M-1".into()), "default");
    let (balance, pending) = balances(processor.store(), std::slice::from_ref(&key)).await[&key];
    assert!((0..=MAX_ACCOUNT_POINTS).contains(&balance), "{balance}");
    assert!((0..=MAX_ACCOUNT_POINTS).contains(&pending), "{pending}");
}

#[tokio::test]
async fn command_points_beyond_one_inputs_range_are_refused() {
    let payloads = [
        r#"{"command_id":"C-1","type":"redeem","member_id":"M-1","points":9223372036854775807,
        "reward":"r","timestamp":"2026-11-22T12:00:00Z"}"#
            .to_owned(),
    ];
    let mut settings = processor_settings();
    settings.topics.commands = "transactions".into();
    let processor = BatchProcessor::new(MemoryStore::new(), Keyspace::new("t"), settings);
    let report = run(&processor, &batch(&payloads, None)).await;
    assert_eq!(report.dead_lettered.get("invalid_field"), Some(&1));
}

/// Field values a messy or hostile feed sends.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[0-9]{1,30}(\\.[0-9]{0,30})?".prop_map(Value::String),
        prop::sample::select(vec![
            "9999-12-31T23:59:59-23:59",
            "0000-01-01T00:00:00+23:59",
            "-0001-01-01T00:00:00Z",
            "2026-02-30T10:00:00Z",
            "2026-11-22T10:00:00.999999999Z",
            "79228162514264337593543950335",
            "-0.0000",
            "0.00001",
            "1e400",
            "\u{0}",
            "\\u0034111111111111111",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        "\\PC{0,200}".prop_map(Value::String),
    ]
}

/// A transaction-shaped object, each field either plausible or hostile, sometimes nested deep.
fn hostile_transaction() -> impl Strategy<Value = String> {
    let field = |plausible: &'static str| prop_oneof![3 => Just(Value::String(plausible.to_owned())), 1 => hostile_value()];
    (
        (
            field("T-1"),
            field("purchase"),
            field("tok_1"),
            field("M-1"),
        ),
        (field("12.50"), field("CNY"), field("2026-11-22T10:00:00Z")),
        (field("MER-1"), field("5411"), field("CN")),
        0..40_usize,
    )
        .prop_map(
            |((txn, kind, card, member), (amount, currency, at), (mer, mcc, country), depth)| {
                let mut nested = Value::Null;
                for _ in 0..depth {
                    nested = Value::Array(vec![nested]);
                }
                serde_json::json!({
                    "txn_id": txn, "type": kind, "card_token": card, "member_id": member,
                    "amount": amount, "currency": currency, "timestamp": at,
                    "original_txn_id": "T-0", "extra": nested,
                    "merchant": {"id": mer, "mcc": mcc, "country": country},
                })
                .to_string()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Arbitrary bytes and arbitrary transaction-shaped JSON: no panic (nothing contained
    /// either), and every message is scored, replayed or dead-lettered with a reason.
    #[test]
    fn every_input_is_scored_or_dead_lettered(
        payloads in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..300)
                    .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                hostile_transaction(),
            ],
            1..20,
        ),
        broker_ms in prop_oneof![Just(None), any::<i64>().prop_map(Some)],
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let report = runtime.block_on(run(&processor(), &batch(&payloads, broker_ms)));
        let dead = dead_letters(&report);
        prop_assert_eq!(
            report.scored + report.replayed + dead.len() as u64,
            payloads.len() as u64
        );
        for record in &dead {
            prop_assert_ne!(&record["error_kind"], "internal_error", "{}", record);
            prop_assert!(!record["reason"].as_str().unwrap_or_default().is_empty());
        }
    }
}

/// Random numeric ids of 8 to 23 digits in every identifier field of otherwise legitimate
/// transactions: the share wrongly rejected as card numbers must stay under 1 in 1,000.
#[tokio::test]
async fn numeric_ids_in_every_id_field_are_rarely_mistaken_for_card_numbers() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let id = || proptest::string::string_regex("[1-9][0-9]{7,22}").unwrap();
    let transactions = 20_000;
    let payloads: Vec<String> = (0..transactions)
        .map(|n| {
            let mut draw = || id().new_tree(&mut runner).unwrap().current();
            format!(
                r#"{{"txn_id":"{}","type":"purchase","card_token":"tok_{n:08x}","member_id":"{}",
                "amount":"25.00","currency":"CNY","terminal_id":"{}","rrn":"{}",
                "acquirer_reference":"{}","merchant":{{"id":"{}","name":"Shop {n}","mcc":"5411",
                "country":"CN"}},"timestamp":"2026-11-22T10:00:00Z"}}"#,
                draw(),
                draw(),
                draw(),
                draw(),
                draw(),
                draw()
            )
        })
        .collect();
    let mut rejected = 0_u64;
    for chunk in payloads.chunks(1_000) {
        let report = run(&processor(), &batch(chunk, None)).await;
        rejected += report.dead_lettered.get("raw_pan").copied().unwrap_or(0);
    }
    let rate = rejected as f64 / transactions as f64;
    println!(
        "card-number false positives: {rejected} of {transactions} transactions with six random \
         numeric ids each ({:.3}%)",
        rate * 100.0
    );
    assert!(
        rate < 0.001,
        "{rejected} of {transactions} rejected as raw_pan"
    );
}

/// The poison messages of the field reports, then ordinary purchases, on one partition of a
/// running pipeline: each poison is exactly one DLQ record with its provenance, and the
/// partition goes on to score what follows (before, one of them crash-looped the process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_through_the_running_pipeline_are_set_aside_and_the_partition_goes_on() {
    let stack = Stack::start("hostile", &rules_toml(), |_| {}).await;
    let at = "2026-11-22T10:00:00Z";
    let poison = [
        (
            purchase("9999-12-31T23:59:00Z").replace("T-1", "P-1"),
            "invalid_field",
        ),
        (
            purchase("2099-01-01T00:00:00Z").replace("T-1", "P-2"),
            "invalid_field",
        ),
        (
            purchase(at).replace("tok_1", r"\u0034111111111111111"),
            "raw_pan",
        ),
        (
            purchase(at).replace(r#""amount":"10.00""#, r#""amount":"1.00","amount":"9.00""#),
            "invalid_field",
        ),
        (purchase(at).replace("10.00", "1_000.00"), "invalid_field"),
        (purchase(at).replace("M-1", "M-{m:2}"), "invalid_field"),
    ];
    let valid = ["T-OK-1", "T-OK-2", "T-OK-3"];
    let messages: Vec<SyntheticMessage> = poison
        .iter()
        .map(|(payload, _)| payload.clone())
        .chain(valid.iter().map(|id| {
            purchase(at)
                .replace("T-1", id)
                .replace("MER-1", "MER-3527213246127876953")
        }))
        .map(|payload| SyntheticMessage {
            key: "tok_1".into(),
            payload: payload.into_bytes(),
        })
        .collect();
    stack.broker.feed(&messages).await;

    let ledger = stack.broker.ledger_events(valid.len());
    let mut scored: Vec<String> = ledger
        .iter()
        .map(|(_, payload)| {
            let event: Value = serde_json::from_str(payload).unwrap();
            event["txn_id"].as_str().unwrap().to_owned()
        })
        .collect();
    scored.sort();
    scored.dedup();
    assert_eq!(scored, valid, "the partition went on past the poison");
    // Read past the expected count, so an extra record would be caught.
    let dead = read_topic(
        &stack.broker.brokers,
        &stack.broker.topics.dlq,
        Duration::from_secs(10),
        common::count(poison.len() as u64 + 1),
    );
    assert_eq!(
        dead.len(),
        poison.len(),
        "one DLQ record per poison message"
    );
    let mut offsets = Vec::new();
    for ((_, payload), (_, kind)) in dead.iter().zip(&poison) {
        let record: Value = serde_json::from_str(payload).unwrap();
        assert_eq!(record["error_kind"], *kind, "{record}");
        assert!(txscore::wire::pan::find_pans(payload.as_bytes()).is_empty());
        offsets.push(record["source"]["offset"].as_i64().unwrap());
    }
    assert_eq!(offsets, (0..poison.len() as i64).collect::<Vec<_>>());
    stack.running.stop().await.expect("a clean stop");
}
