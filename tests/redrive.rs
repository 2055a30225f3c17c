//! `txscore redrive` on Apache Kafka with exactly-once output, so the dead-letter topic ends in
//! a commit marker: a refund that arrived before its purchase is dead-lettered as
//! `unknown_original`; once the purchase is in, re-driving that kind sends the refund back to
//! its input topic, and it is applied, once; a malformed message beside it stays where it is,
//! and a refund whose purchase never comes is dead-lettered again. Re-driving again changes no
//! balance and publishes nothing new (the refund's outputs again, byte for byte), and sends
//! the refund without a purchase once, though the topic now holds it twice. A dry run sends
//! nothing.

mod common;

use common::{by_event_id, error_kinds, flat_rules, read_to_end, Stack};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::time::Duration;
use txscore::commands::redrive::{redrive_dead_letters, Redriven, Selection};
use txscore::synth::SyntheticMessage;

fn message(payload: &str) -> SyntheticMessage {
    SyntheticMessage {
        key: "tok-1".into(),
        payload: payload.as_bytes().to_vec(),
    }
}

fn purchase() -> SyntheticMessage {
    message(
        r#"{"txn_id":"T-1","type":"purchase","card_token":"tok-1","member_id":"M-1",
        "amount":"100","currency":"CNY","merchant":{"id":"MER-1","mcc":"5411","country":"CN"},
        "timestamp":"2026-11-02T09:00:00Z"}"#,
    )
}

fn refund(txn_id: &str, original: &str) -> SyntheticMessage {
    message(&format!(
        r#"{{"txn_id":"{txn_id}","type":"refund","original_txn_id":"{original}",
        "card_token":"tok-1","member_id":"M-1","amount":"40","currency":"CNY",
        "merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
        "timestamp":"2026-11-03T09:00:00Z"}}"#
    ))
}

/// Ledger events by event id, with every payload each was published with.
fn ledger_by_id(stack: &Stack) -> BTreeMap<String, Vec<String>> {
    let broker = &stack.broker;
    by_event_id(&read_to_end(&broker.brokers, &broker.topics.ledger, true))
        .into_iter()
        .collect()
}

/// Messages on the transactions topic, all partitions together.
fn transactions_produced(stack: &Stack) -> i64 {
    let broker = &stack.broker;
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.brokers)
        .create()
        .unwrap();
    (0..broker.partitions)
        .map(|partition| {
            let (low, high) = reader
                .fetch_watermarks(
                    &broker.topics.transactions,
                    partition,
                    Duration::from_secs(10),
                )
                .unwrap();
            high - low
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_that_came_before_its_purchase_is_redriven_and_applied_once() {
    let stack = Stack::start("redrive", &flat_rules("redrive-1"), |config| {
        config.kafka.transactional_id = Some("redrive-0".into());
    })
    .await;
    let broker = &stack.broker;
    let config = {
        let mut config = broker.config(&stack.redis, 50);
        config.kafka.transactional_id = Some("redrive-tool".into());
        config
    };
    let unknown_original = Selection {
        kinds: vec!["unknown_original".into()],
        since_ms: None,
    };

    broker
        .feed_by_card(&[
            refund("R-1", "T-1"),
            message(r#"{"txn_id":"#),
            refund("R-2", "T-9"),
        ])
        .await;
    broker.wait_consumed(&broker.topics.transactions);
    broker.feed_by_card(&[purchase()]).await;
    broker.wait_consumed(&broker.topics.transactions);
    let dead = read_to_end(&broker.brokers, &broker.topics.dlq, true);
    assert_eq!(
        error_kinds(&dead),
        ["malformed_json", "unknown_original", "unknown_original"]
    );
    assert_eq!(
        ledger_by_id(&stack).keys().collect::<Vec<_>>(),
        ["T-1/points_earned"]
    );

    let produced = transactions_produced(&stack);
    let dry = redrive_dead_letters(&config, &unknown_original, true)
        .await
        .expect("dry run");
    assert_eq!(
        dry,
        Redriven {
            read: BTreeMap::from([("malformed_json".into(), 1), ("unknown_original".into(), 2)]),
            sent: BTreeMap::from([("unknown_original".into(), 2)]),
            unsendable: BTreeMap::new(),
        }
    );
    assert_eq!(
        transactions_produced(&stack),
        produced,
        "a dry run sends nothing"
    );

    let redriven = redrive_dead_letters(&config, &unknown_original, false)
        .await
        .expect("re-drive");
    assert_eq!(redriven, dry);
    assert_eq!(transactions_produced(&stack), produced + 2);
    broker.wait_consumed(&broker.topics.transactions);
    let ledger = ledger_by_id(&stack);
    assert_eq!(
        ledger.keys().collect::<Vec<_>>(),
        ["R-1/points_reversed", "T-1/points_earned"],
        "the refund is applied, and nothing else happens: {ledger:?}"
    );
    let reversal: serde_json::Value =
        serde_json::from_str(&ledger["R-1/points_reversed"][0]).unwrap();
    assert_eq!(reversal["points"], -40);
    assert_eq!(reversal["balance_after"], 60);
    assert!(ledger.values().all(|payloads| payloads.len() == 1));

    // The same dead letters again: R-1 is a redelivery now, and R-2 is on the topic twice.
    let again = redrive_dead_letters(&config, &unknown_original, false)
        .await
        .expect("second re-drive");
    assert_eq!(
        again,
        Redriven {
            read: BTreeMap::from([("malformed_json".into(), 1), ("unknown_original".into(), 3)]),
            sent: BTreeMap::from([("unknown_original".into(), 2)]),
            unsendable: BTreeMap::from([("a copy of a message sent in this run", 1)]),
        }
    );
    assert_eq!(transactions_produced(&stack), produced + 4);
    broker.wait_consumed(&broker.topics.transactions);
    let after = ledger_by_id(&stack);
    stack.running.stop().await.expect("clean stop");
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        ledger.keys().collect::<Vec<_>>(),
        "no new event"
    );
    let repeated = &after["R-1/points_reversed"];
    assert!(
        repeated.len() == 2 && repeated[0] == repeated[1],
        "the refund's outputs are published again as they were: {repeated:?}"
    );
    let dead = read_to_end(&broker.brokers, &broker.topics.dlq, true);
    let refunds_without_purchase = dead
        .iter()
        .filter(|(_, record)| record.contains(r#"\"txn_id\":\"R-2\""#))
        .count();
    assert_eq!(
        (dead.len(), refunds_without_purchase),
        (5, 3),
        "R-2 dead-lettered once more per re-drive, nothing else"
    );
}
