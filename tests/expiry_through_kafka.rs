//! Lazy expiry through the real pipeline: a member's own later transactions announce, then
//! expire, what is left of a lot after a redemption took from it, each once.

mod common;

use common::{balances, ledger_events, progressed};
use common::{txscore_feed, Stack};
use txscore::synth::SyntheticMessage;

const RULES: &str = r#"version = "expiry-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
[programs.default.expiry]
months = 24
notice_days = 30
"#;

fn purchase(txn: &str, amount: &str, timestamp: &str) -> SyntheticMessage {
    SyntheticMessage {
        key: "tok_M-1".into(),
        payload: format!(
            r#"{{"txn_id":"{txn}","type":"purchase","card_token":"tok_M-1","member_id":"M-1",
            "amount":"{amount}","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"{timestamp}"}}"#
        )
        .into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_events_announce_then_expire_what_is_left_of_a_lot() {
    let Stack {
        broker,
        store,
        running,
        redis: _redis,
    } = Stack::start("expiry", RULES, |_| {}).await;

    broker
        .feed(&[purchase("T-1", "100", "2024-10-15T10:00:00Z")])
        .await;
    progressed(&running.health, 1).await;
    let redemption = SyntheticMessage {
        key: "M-1".into(),
        payload: br#"{"command_id":"C-1","member_id":"M-1","type":"redeem","reward":"mug",
            "points":30,"timestamp":"2025-01-10T10:00:00Z"}"#
            .to_vec(),
    };
    txscore_feed(&broker.brokers, &broker.topics.commands, &[redemption]).await;
    progressed(&running.health, 2).await;
    broker
        .feed(&[
            purchase("T-2", "10", "2026-10-15T10:00:00Z"),
            purchase("T-3", "10", "2026-10-20T10:00:00Z"),
            purchase("T-4", "10", "2026-11-02T10:00:00Z"),
        ])
        .await;
    let ledger = broker.ledger_events(7);
    running.stop().await.unwrap();

    let events = ledger_events(&ledger);
    let ids: Vec<&str> = events.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "C-1/points_redeemed",
            "T-1/points_earned",
            "T-2/points_earned",
            "T-2/points_expiring:2024-10",
            "T-3/points_earned",
            "T-4/points_earned",
            "T-4/points_expired:2024-10",
        ],
        "announced once, by the first event within 30 days of the lot's expiry"
    );
    let notice = &events["T-2/points_expiring:2024-10"];
    assert_eq!(
        notice["expiring"],
        serde_json::json!({"lot": "2024-10", "points": 70, "expires_at": "2026-11-01T00:00:00Z"})
    );
    assert_eq!(notice["balance_after"], 70);
    let expired = &events["T-4/points_expired:2024-10"];
    assert_eq!(expired["points"], -70, "what the redemption left");
    assert_eq!(expired["breakdown"][0]["rule"], "expiry");
    assert_eq!(expired["balance_after"], 20, "T-2 and T-3 earned in 2026");
    let accounts = ["txscore:{m:M-1}:account:default".to_owned()];
    assert_eq!(balances(&store, &accounts).await[&accounts[0]].0, 30);
}
