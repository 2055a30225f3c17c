//! A txn_id re-sent with different content is not a replay: it goes to the DLQ as
//! `txn_conflict` and changes nothing, while an exact redelivery (or the same transaction
//! re-serialised, `100` for `100.00`) is recognised as a replay. Through Kafka and Redis.

mod common;

use common::{balances, error_kinds, flat_rules, read_to_end, Stack};
use txscore::synth::SyntheticMessage;

fn purchase(amount: &str, mcc: &str) -> SyntheticMessage {
    SyntheticMessage {
        key: "tok_M-1".into(),
        payload: format!(
            r#"{{"txn_id":"T-1","type":"purchase","card_token":"tok_M-1","member_id":"M-1",
            "amount":"{amount}","currency":"CNY","merchant":{{"id":"MER-1","mcc":"{mcc}","country":"CN"}},
            "timestamp":"2026-11-20T10:00:00Z"}}"#
        )
        .into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_txn_id_with_other_content_is_a_conflict_not_a_replay() {
    let stack = Stack::start("txn-conflicts", &flat_rules("conflicts-1"), |_| {}).await;
    let broker = &stack.broker;
    broker
        .feed(&[
            purchase("100.00", "5411"),
            purchase("100.00", "5411"),
            purchase("100", "5411"),
            purchase("900.00", "5411"),
            purchase("100.00", "5812"),
        ])
        .await;
    broker.wait_consumed(&broker.topics.transactions);
    let ledger = read_to_end(&broker.brokers, &broker.topics.ledger, false);
    let dead = read_to_end(&broker.brokers, &broker.topics.dlq, false);
    let summary = stack.running.stop().await.expect("clean stop");

    assert_eq!(ledger.len(), 3, "the sale and its two replays, identical");
    assert!(ledger.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(summary.replayed, 2);
    assert_eq!(error_kinds(&dead), ["txn_conflict", "txn_conflict"]);
    let record: serde_json::Value = serde_json::from_str(&dead[0].1).unwrap();
    assert!(
        record["reason"].as_str().unwrap().contains("`T-1`"),
        "{record}"
    );
    let account = "txscore:{m:M-1}:account:default".to_owned();
    let after = balances(&stack.store, std::slice::from_ref(&account)).await;
    assert_eq!(after[&account].0, 100, "only the first content counted");
}
