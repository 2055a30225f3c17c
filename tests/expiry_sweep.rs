//! The expiry sweep on real Redis: it expires what is due for members with no events, leaves
//! the rest alone, and running it again re-emits the same events and expires nothing twice; it
//! announces lots coming within the shipped rules' 30-day notice, once.

mod common;

use common::{balances, inbound, processor_settings, redis, rules};
use std::time::Duration;
use time::macros::datetime;
use txscore::pipeline::expiry_sweep::ExpirySweep;
use txscore::pipeline::BatchProcessor;
use txscore::store::{Keyspace, StateStore};
use txscore::synth::SyntheticMessage;

fn purchase(txn: &str, member: &str, timestamp: &str) -> SyntheticMessage {
    SyntheticMessage {
        key: member.into(),
        payload: format!(
            r#"{{"txn_id":"{txn}","type":"purchase","card_token":"tok_{member}","member_id":"{member}",
            "amount":"100","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"{timestamp}"}}"#
        )
        .into_bytes(),
    }
}

#[tokio::test]
async fn a_sweep_expires_due_lots_once_and_re_emits_on_a_second_run() {
    let server = redis();
    let store = common::redis_store(&server).await;
    let keys = Keyspace::new("txscore");
    let processor = BatchProcessor::new(store.clone(), keys.clone(), processor_settings());
    let rules = rules();
    let messages = [
        purchase("OLD", "M-OLD", "2024-10-15T10:00:00Z"),
        purchase("OLD", "M-OLD2", "2024-10-20T10:00:00Z"),
        purchase("NEW", "M-NEW", "2026-10-15T10:00:00Z"),
        purchase("SOON", "M-SOON", "2024-12-10T10:00:00Z"),
    ];
    processor
        .process(&inbound(&messages), &rules)
        .await
        .unwrap();
    let accounts =
        ["M-OLD", "M-NEW", "M-OLD2"].map(|m| format!("txscore:{{m:{m}}}:account:default"));
    let before = balances(&store, &accounts).await;

    let sweep = ExpirySweep {
        store: &store,
        keys: &keys,
        rules: &rules,
        ledger_retention: 10,
        record_ttl: Duration::from_secs(3600),
    };
    let first = sweep.run(datetime!(2026-12-01 0:00 UTC)).await.unwrap();
    assert_eq!((first.accounts_scanned, first.accounts_expired), (4, 2));
    assert_eq!(
        first.points_expired,
        i128::from(before[&accounts[0]].0 + before[&accounts[2]].0)
    );
    assert_eq!(first.outbound.len(), 2);
    let mut ids: Vec<String> = first
        .outbound
        .iter()
        .map(|output| {
            let event: serde_json::Value = serde_json::from_str(&output.payload).unwrap();
            event["event_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "expire@2026-12-01T00:00:00Z:M-OLD2:default/points_expired:2024-10",
            "expire@2026-12-01T00:00:00Z:M-OLD:default/points_expired:2024-10",
        ],
        "each account's expiry is an event of its own"
    );
    let mut settlement = txscore::settlement::Settlement::default();
    for output in &first.outbound {
        settlement.add(&serde_json::from_str(&output.payload).unwrap());
    }
    assert_eq!(
        settlement.programs["default"].expired, first.points_expired,
        "settlement counts both"
    );
    let after = balances(&store, &accounts).await;
    assert_eq!(
        after[&accounts[0]].0, 0,
        "24-month lots from 2024-10 end with November 2026"
    );
    assert_eq!(
        after[&accounts[1]], before[&accounts[1]],
        "recent points stay"
    );
    let ledger = store
        .list_head("txscore:{m:M-OLD}:ledger", 10)
        .await
        .unwrap();
    assert!(
        first
            .outbound
            .iter()
            .any(|output| output.payload == ledger[0]),
        "the query API's ledger has it too"
    );

    let again = sweep.run(datetime!(2026-12-01 0:00 UTC)).await.unwrap();
    assert_eq!(again.accounts_expired, 0);
    assert_eq!(
        again.outbound, first.outbound,
        "the same events, re-emitted"
    );
    assert_eq!(balances(&store, &accounts).await, after);

    let next_day = sweep.run(datetime!(2026-12-02 0:00 UTC)).await.unwrap();
    assert_eq!(next_day.outbound.len(), 1, "{:?}", next_day.outbound);
    let notice: serde_json::Value = serde_json::from_str(&next_day.outbound[0].payload).unwrap();
    assert_eq!(notice["event_type"], "points_expiring");
    assert_eq!(notice["member_id"], "M-SOON");
    assert_eq!(notice["points"], 0);
    assert_eq!(
        notice["expiring"],
        serde_json::json!({"lot": "2024-12", "points": 100, "expires_at": "2027-01-01T00:00:00Z"}),
        "30 days before the lot expires, not 31"
    );
    let day_after = sweep.run(datetime!(2026-12-03 0:00 UTC)).await.unwrap();
    assert!(day_after.outbound.is_empty(), "announced once");
}
