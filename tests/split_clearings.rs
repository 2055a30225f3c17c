//! An authorization cleared in parts (a split shipment, an incremental charge): every clearing
//! earns its own amount, the first releases the hold, and each can be refunded on its own.
//! Through Kafka and Redis, read to the end of the outputs.

mod common;

use common::{balances, error_kinds, flat_rules, ledger_events, read_to_end, Stack};
use txscore::synth::SyntheticMessage;

fn txn(id: &str, kind: &str, amount: &str, original: Option<&str>, day: u32) -> SyntheticMessage {
    let original = original.map_or(String::new(), |id| format!(r#""original_txn_id":"{id}","#));
    SyntheticMessage {
        key: "tok_s".into(),
        payload: format!(
            r#"{{"txn_id":"{id}","type":"{kind}","card_token":"tok_s","member_id":"M-S",{original}
            "amount":"{amount}","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"2026-11-{day:02}T10:00:00Z"}}"#
        )
        .into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_clearing_of_a_split_authorization_earns_once() {
    let stack = Stack::start("split-clearings", &flat_rules("split-1"), |_| {}).await;
    let broker = &stack.broker;
    broker
        .feed(&[
            txn("A-1", "authorization", "200", None, 1),
            txn("C-1", "clearing", "120", Some("A-1"), 3),
            txn("C-2", "clearing", "80", Some("A-1"), 6),
            txn("C-2", "clearing", "80", Some("A-1"), 6),
            txn("R-1", "refund", "80", Some("C-2"), 9),
        ])
        .await;
    broker.wait_consumed(&broker.topics.transactions);
    let ledger = read_to_end(&broker.brokers, &broker.topics.ledger, false);
    let dead = read_to_end(&broker.brokers, &broker.topics.dlq, false);
    stack.running.stop().await.expect("clean stop");

    assert_eq!(error_kinds(&dead), Vec::<String>::new());
    assert_eq!(ledger.len(), 5, "C-2's redelivery repeats its event once");
    let moves: Vec<(String, i64, i64)> = ledger_events(&ledger)
        .into_values()
        .map(|event| {
            (
                event["event_id"].as_str().unwrap().to_owned(),
                event["points"].as_i64().unwrap(),
                event["pending_points"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("A-1/points_pending", 0, 200),
        ("C-1/points_earned", 120, -200),
        ("C-2/points_earned", 80, 0),
        ("R-1/points_reversed", -80, 0),
    ]
    .map(|(id, points, pending)| (id.to_owned(), points, pending));
    assert_eq!(moves, expected);
    let account = "txscore:{m:M-S}:account:default".to_owned();
    let after = balances(&stack.store, std::slice::from_ref(&account)).await;
    assert_eq!(after[&account], (120, 0), "balance and pending");
}
