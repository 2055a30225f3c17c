//! One member's purchases on five cards (so on different partitions), fed in a shuffled
//! order: every event dated inside the programme's lateness finds its day's and month's cap
//! counters, so no cap is ever exceeded and each month's cap fills exactly; an event dated
//! before the lateness is dead-lettered as `too_late`. Through Kafka and Redis.

mod common;

use common::service::Random;
use common::{error_kinds, read_to_end, Stack};
use std::collections::BTreeMap;
use time::macros::datetime;
use txscore::synth::SyntheticMessage;

const RULES: &str = r#"version = "late-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
[programs.default.earning.caps]
day = 300
month = 2000
"#;

fn purchase(n: usize, card: usize, at: time::OffsetDateTime) -> SyntheticMessage {
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    SyntheticMessage {
        key: format!("tok-{card}"),
        payload: format!(
            r#"{{"txn_id":"T-{n}","type":"purchase","card_token":"tok-{card}","member_id":"M-1",
            "amount":"100","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"{at}"}}"#
        )
        .into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_arrival_never_exceeds_a_cap_and_fills_each_month_exactly() {
    let mut random = Random::from_env();
    let context = random.context();
    // Five purchases of 100 a day (500 asked, 300 allowed) on each of 50 days across two
    // months, spread over five cards.
    let start = datetime!(2026-10-01 09:00 UTC);
    let mut messages: Vec<SyntheticMessage> = (0..250)
        .map(|n| {
            let at =
                start + time::Duration::days((n / 5) as i64) + time::Duration::minutes(n as i64);
            purchase(n, n % 5, at)
        })
        .collect();
    for i in (1..messages.len()).rev() {
        let j = random.below(i as u64 + 1) as usize;
        messages.swap(i, j);
    }
    let stack = Stack::start("late-events", RULES, |_| {}).await;
    let broker = &stack.broker;
    broker.feed_by_card(&messages).await;
    broker.wait_consumed(&broker.topics.transactions);
    // Dated 200 days before the member's latest event: past the 92 days' lateness.
    broker
        .feed_by_card(&[purchase(999, 0, datetime!(2026-05-01 09:00 UTC))])
        .await;
    broker.wait_consumed(&broker.topics.transactions);
    let ledger = read_to_end(&broker.brokers, &broker.topics.ledger, false);
    let dead = read_to_end(&broker.brokers, &broker.topics.dlq, false);
    stack.running.stop().await.expect("clean stop");

    let mut by_day: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
    let mut events = std::collections::BTreeSet::new();
    for (_, payload) in &ledger {
        let event: serde_json::Value = serde_json::from_str(payload).unwrap();
        let id = event["event_id"].as_str().unwrap().to_owned();
        if id.starts_with("T-999/") || !events.insert(id) {
            continue;
        }
        assert_eq!(event["event_type"], "points_earned", "{context}: {event}");
        let day = event["occurred_at"].as_str().unwrap()[..10].to_owned();
        let points = event["points"].as_i64().unwrap();
        *by_month.entry(day[..7].to_owned()).or_default() += points;
        *by_day.entry(day).or_default() += points;
    }
    for (day, points) in &by_day {
        assert!(
            *points <= 300,
            "{context}: {day} credited {points}, over the day cap"
        );
    }
    assert_eq!(
        by_month.values().copied().collect::<Vec<_>>(),
        [2000, 2000],
        "{context}: each month's cap fills exactly, whatever the order: {by_month:?}"
    );
    assert_eq!(events.len(), 250, "{context}: one event per purchase");
    assert_eq!(error_kinds(&dead), ["too_late"], "{context}");
}
