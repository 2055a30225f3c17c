//! Holds and reviews through the real pipeline: an enforced alert whose severity's action is
//! `hold_points` keeps a sale's points pending; a review on the `reviews` topic approves (posts)
//! or rejects (drops) them, once, with both in the ledger; a shadow rule only observes; bad and
//! pointless reviews are dead-lettered with the reason.

mod common;

use common::{
    balances, count, error_kinds, ledger_events, progressed, read_topic, txscore_feed, Stack,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use txscore::synth::SyntheticMessage;

const RULES: &str = r#"version = "holds-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
[fraud]
actions = { critical = "hold_points" }
[fraud.risky_category]
id = "gambling"
mccs = ["7995"]
score = 0.95
[fraud.card_not_present]
id = "card_not_present_trial"
min_amount = "3000"
score = 0.2
mode = "shadow"
"#;

fn purchase(txn: &str, member: &str, mcc: &str, amount: &str, present: bool) -> SyntheticMessage {
    let card = format!("tok_{member}");
    SyntheticMessage {
        key: card.clone(),
        payload: format!(
            r#"{{"txn_id":"{txn}","type":"purchase","card_token":"{card}","member_id":"{member}",
            "amount":"{amount}","currency":"CNY","card_present":{present},
            "merchant":{{"id":"MER-{mcc}","mcc":"{mcc}","country":"CN"}},
            "timestamp":"2026-11-22T10:00:00Z"}}"#
        )
        .into_bytes(),
    }
}

fn review(id: &str, txn: &str, member: &str, decision: &str) -> SyntheticMessage {
    SyntheticMessage {
        key: member.into(),
        payload: format!(
            r#"{{"review_id":"{id}","txn_id":"{txn}","member_id":"{member}","decision":"{decision}",
            "reviewer":"analyst-7","timestamp":"2026-11-22T12:00:00Z"}}"#
        )
        .into_bytes(),
    }
}

fn json(payload: &str) -> Value {
    serde_json::from_str(payload).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_points_are_posted_on_approval_and_dropped_on_rejection() {
    let Stack {
        broker,
        store,
        running,
        redis: _redis,
    } = Stack::start("holds", RULES, |_| {}).await;

    let sales = [
        purchase("T-A", "M-A", "7995", "100.00", true),
        purchase("T-B", "M-B", "7995", "200.00", true),
        purchase("T-C", "M-C", "5411", "5000.00", false),
    ];
    broker.feed(&sales).await;
    progressed(&running.health, 3).await;
    let held = balances(&store, &account_keys()).await;
    assert_eq!(
        held["txscore:{m:M-A}:account:default"],
        (0, 100),
        "held as pending"
    );
    assert_eq!(
        held["txscore:{m:M-C}:account:default"],
        (5000, 0),
        "a shadow alert holds nothing"
    );

    let reviews = [
        review("RV-1", "T-A", "M-A", "approve"),
        review("RV-1", "T-A", "M-A", "approve"),
        review("RV-2", "T-B", "M-B", "reject"),
        review("RV-3", "T-C", "M-C", "approve"),
        review("RV-4", "T-A", "M-A", "maybe"),
    ];
    txscore_feed(&broker.brokers, &broker.topics.reviews, &reviews).await;
    let ledger = broker.ledger_events(5);
    let dead = broker.dead_letters(2);
    let alerts = read_topic(
        &broker.brokers,
        &broker.topics.alerts,
        Duration::from_secs(30),
        count(3),
    );
    running.stop().await.unwrap();

    let events = ledger_events(&ledger);
    let ids: Vec<&str> = events.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "T-A/points_held",
            "T-A/points_released",
            "T-B/hold_rejected",
            "T-B/points_held",
            "T-C/points_earned"
        ]
    );
    let released = &events["T-A/points_released"];
    assert_eq!(
        (
            released["points"].as_i64(),
            released["balance_after"].as_i64()
        ),
        (Some(100), Some(100))
    );
    let lines = released["breakdown"].as_array().unwrap();
    assert_eq!(
        (
            &lines[0]["rule"],
            &lines[0]["points"],
            &lines[0]["funded_by"]
        ),
        (&"lot:2026-11".into(), &"100".into(), &"issuer".into()),
        "the released points' lot and funder"
    );
    assert!(lines[1]["detail"]
        .as_str()
        .unwrap()
        .contains("RV-1 by analyst-7 approved"));
    assert_eq!(events["T-B/hold_rejected"]["pending_after"], 0);

    let after = balances(&store, &account_keys()).await;
    assert_eq!(after["txscore:{m:M-A}:account:default"], (100, 0));
    assert_eq!(after["txscore:{m:M-B}:account:default"], (0, 0));
    assert_eq!(after["txscore:{m:M-C}:account:default"], (5000, 0));

    assert_eq!(error_kinds(&dead), ["invalid_field", "not_held"]);
    assert!(dead
        .iter()
        .all(|(_, p)| json(p)["source"]["topic"] == broker.topics.reviews.as_str()));

    let actions: BTreeMap<String, (String, String)> = alerts
        .iter()
        .map(|(_, payload)| {
            let alert = json(payload);
            let field = |name: &str| alert[name].as_str().unwrap().to_owned();
            (field("alert_id"), (field("action"), field("mode")))
        })
        .collect();
    assert_eq!(
        actions["T-A/alert"],
        ("hold_points".into(), "enforce".into())
    );
    assert_eq!(
        actions["T-C/shadow-alert"],
        ("none".into(), "shadow".into())
    );
}

fn account_keys() -> Vec<String> {
    ["M-A", "M-B", "M-C"]
        .map(|member| format!("txscore:{{m:{member}}}:account:default"))
        .to_vec()
}
