//! An input acting on an original (a refund, a cancellation) acts in the original's programme
//! or not at all: one that names another programme, or leaves `program_id` out (it defaults to
//! `default`) for an original of another, goes to the DLQ as `original_mismatch` and touches no
//! account. Through Kafka and Redis, every topic read to its end.

mod common;

use common::{balances, error_kinds, read_to_end, txscore_feed, Stack};
use std::collections::BTreeSet;
use txscore::synth::SyntheticMessage;

const RULES: &str = r#"version = "programmes-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
[programs.airline]
base_currency = "CNY"
points_per_unit = "2"
default_tier = "standard"
tiers = { standard = "1" }
"#;

fn message(key: &str, body: &str) -> SyntheticMessage {
    SyntheticMessage {
        key: key.into(),
        payload: body.as_bytes().to_vec(),
    }
}

/// A purchase or refund by M-1, with `extra` fields (`program_id`, `original_txn_id`).
fn txn(id: &str, kind: &str, amount: &str, extra: &str) -> SyntheticMessage {
    message(
        "tok_M-1",
        &format!(
            r#"{{"txn_id":"{id}","type":"{kind}","card_token":"tok_M-1","member_id":"M-1",
            "amount":"{amount}","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"2026-11-20T10:00:00Z"{extra}}}"#
        ),
    )
}

fn command(id: &str, fields: &str) -> SyntheticMessage {
    message(
        "M-1",
        &format!(
            r#"{{"command_id":"{id}","member_id":"M-1",{fields},"timestamp":"2026-11-21T10:00:00Z"}}"#
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_and_cancellations_act_only_in_the_originals_programme() {
    let stack = Stack::start("original-programmes", RULES, |_| {}).await;
    let broker = &stack.broker;
    broker
        .feed(&[txn("P-1", "purchase", "500", r#","program_id":"airline""#)])
        .await;
    broker.wait_consumed(&broker.topics.transactions);
    txscore_feed(
        &broker.brokers,
        &broker.topics.commands,
        &[
            command(
                "C-1",
                r#""program_id":"airline","type":"redeem","reward":"lounge","points":400"#,
            ),
            command("C-2", r#""type":"cancel_redemption","redemption_id":"C-1""#),
        ],
    )
    .await;
    broker.wait_consumed(&broker.topics.commands);
    broker
        .feed(&[
            txn("R-1", "refund", "100", r#","original_txn_id":"P-1""#),
            txn(
                "R-2",
                "refund",
                "100",
                r#","original_txn_id":"P-1","program_id":"default""#,
            ),
            txn(
                "R-3",
                "refund",
                "100",
                r#","original_txn_id":"P-1","program_id":"airline""#,
            ),
        ])
        .await;
    broker.wait_consumed(&broker.topics.transactions);
    let ledger = read_to_end(&broker.brokers, &broker.topics.ledger, false);
    let dead = read_to_end(&broker.brokers, &broker.topics.dlq, false);
    stack.running.stop().await.expect("clean stop");

    let ids: BTreeSet<String> = ledger
        .iter()
        .map(|(_, payload)| {
            let event: serde_json::Value = serde_json::from_str(payload).unwrap();
            event["event_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(
            [
                "C-1/points_redeemed",
                "P-1/points_earned",
                "R-3/points_reversed"
            ]
            .map(String::from)
        ),
        "only the refund naming the original's programme took anything back"
    );
    assert_eq!(
        error_kinds(&dead),
        ["original_mismatch"; 3],
        "the cancellation without a programme and both refunds naming the wrong one"
    );
    let accounts = ["default", "airline"].map(|p| format!("txscore:{{m:M-1}}:account:{p}"));
    let after = balances(&stack.store, &accounts).await;
    assert!(
        !after.contains_key(&accounts[0]),
        "no default account was opened: {after:?}"
    );
    assert_eq!(
        after[&accounts[1]].0,
        1000 - 400 - 200,
        "earned 1000, redeemed 400, the one refund took back a fifth"
    );
}
