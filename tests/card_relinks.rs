//! A member-less transaction belongs to the member its card was linked to when it was first
//! seen, for good: re-linking the card to another member neither scores a redelivery of it
//! again for the new member nor sends its refund there. Through Kafka and Redis, with one
//! test per lookup mode (member-less only, and every transaction with pooled cards).

mod common;

use common::{balances, error_kinds, flat_rules, ledger_events, read_to_end, txscore_feed, Stack};
use txscore::synth::SyntheticMessage;

fn message(key: &str, body: String) -> SyntheticMessage {
    SyntheticMessage {
        key: key.into(),
        payload: body.into_bytes(),
    }
}

fn linked(event: &str, member: &str, day: u32) -> SyntheticMessage {
    message(
        member,
        format!(
            r#"{{"event_id":"{event}","member_id":"{member}","type":"card_linked","card_token":"tok_x",
            "timestamp":"2026-11-{day:02}T09:00:00Z"}}"#
        ),
    )
}

fn sale(txn: &str, kind: &str, original: Option<&str>, day: u32) -> SyntheticMessage {
    let original = original.map_or(String::new(), |id| format!(r#""original_txn_id":"{id}","#));
    message(
        "tok_x",
        format!(
            r#"{{"txn_id":"{txn}","type":"{kind}","card_token":"tok_x",{original}"amount":"100",
            "currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"2026-11-{day:02}T10:00:00Z"}}"#
        ),
    )
}

async fn relinked_card_keeps_its_transactions(test: &str, pooled_cards: bool) {
    let stack = Stack::start(test, &flat_rules("relinks-1"), |config| {
        config.processor.pooled_cards = pooled_cards
    })
    .await;
    let broker = &stack.broker;
    txscore_feed(
        &broker.brokers,
        &broker.topics.member_events,
        &[linked("E-1", "M-1", 1)],
    )
    .await;
    broker.wait_consumed(&broker.topics.member_events);
    broker.feed(&[sale("T-1", "purchase", None, 2)]).await;
    broker.wait_consumed(&broker.topics.transactions);

    txscore_feed(
        &broker.brokers,
        &broker.topics.member_events,
        &[linked("E-2", "M-2", 3)],
    )
    .await;
    broker.wait_consumed(&broker.topics.member_events);
    broker
        .feed(&[
            sale("T-1", "purchase", None, 2),
            sale("R-1", "refund", Some("T-1"), 4),
            sale("T-2", "purchase", None, 5),
        ])
        .await;
    broker.wait_consumed(&broker.topics.transactions);
    let ledger = read_to_end(&broker.brokers, &broker.topics.ledger, false);
    let dead = read_to_end(&broker.brokers, &broker.topics.dlq, false);
    stack.running.stop().await.expect("clean stop");

    assert_eq!(error_kinds(&dead), Vec::<String>::new());
    let owners: Vec<(String, String)> = ledger_events(&ledger)
        .into_values()
        .map(|event| {
            (
                event["event_id"].as_str().unwrap().to_owned(),
                event["member_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        owners,
        [
            ("R-1/points_reversed".to_owned(), "M-1".to_owned()),
            ("T-1/points_earned".to_owned(), "M-1".to_owned()),
            ("T-2/points_earned".to_owned(), "M-2".to_owned()),
        ]
    );
    assert_eq!(ledger.len(), 4, "T-1's redelivery repeats its event, once");
    let keys = ["M-1", "M-2"].map(|member| format!("txscore:{{m:{member}}}:account:default"));
    let after = balances(&stack.store, &keys).await;
    assert_eq!(
        after[&keys[0]].0, 0,
        "M-1 earned T-1 and its refund took it back"
    );
    assert_eq!(after[&keys[1]].0, 100, "M-2 earned only T-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relinked_card_keeps_its_member_less_transactions_with_their_first_owner() {
    relinked_card_keeps_its_transactions("relinks", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relinked_pooled_card_keeps_its_transactions_with_their_first_owner() {
    relinked_card_keeps_its_transactions("relinks-pooled", true).await;
}
