//! A store that lost acknowledged writes is caught before anything is scored against it:
//! Redis restarted empty under a running pipeline, and Redis restored from an older snapshot
//! under the real `txscore run` process, which stops, refuses to start again, and goes on only
//! once the operator runs `txscore accept-store`. Through Kafka and Redis.

mod common;

use common::service::{command, log_of, Service, ServiceFiles};
use common::{balances, flat_rules, read_to_end, redis, Broker, Stack};
use std::collections::BTreeSet;
use std::time::Duration;
use txscore::pipeline::PipelineError;
use txscore::synth::SyntheticMessage;

/// Purchase `n`: 100 CNY by member `M-n` on card `tok-n`.
fn purchases(range: std::ops::Range<usize>) -> Vec<SyntheticMessage> {
    range
        .map(|n| SyntheticMessage {
            key: format!("tok-{n}"),
            payload: format!(
                r#"{{"txn_id":"T-{n}","type":"purchase","card_token":"tok-{n}","member_id":"M-{n}",
                "amount":"100","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
                "timestamp":"2026-11-20T10:00:00Z"}}"#
            )
            .into_bytes(),
        })
        .collect()
}

/// The ids of every ledger event published, each once; panics on a copy that differs.
fn ledger_ids(broker: &Broker) -> BTreeSet<String> {
    let ledger = read_to_end(&broker.brokers, &broker.topics.ledger, false);
    let mut ids = BTreeSet::new();
    for (_, payload) in &ledger {
        let event: serde_json::Value = serde_json::from_str(payload).unwrap();
        ids.insert(event["event_id"].as_str().unwrap().to_owned());
    }
    ids
}

fn earned(range: std::ops::Range<usize>) -> BTreeSet<String> {
    range.map(|n| format!("T-{n}/points_earned")).collect()
}

fn account(n: usize) -> String {
    format!("txscore:{{m:M-{n}}}:account:default")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restarted_empty_stops_the_pipeline_before_it_scores_anything() {
    let Stack {
        broker,
        store,
        running,
        mut redis,
    } = Stack::start("store-empty", &flat_rules("lost-store-1"), |_| {}).await;
    broker.feed(&purchases(0..10)).await;
    broker.wait_consumed(&broker.topics.transactions);

    redis.restart(None).expect("redis restarts empty");
    broker.feed(&purchases(10..15)).await;
    let outcome = running.finished().await;

    let Err(PipelineError::StoreBehind(behind)) = &outcome else {
        panic!("expected the pipeline to stop on the lost store, got {outcome:?}");
    };
    assert_eq!(behind.held, -1, "{behind:?}");
    assert!(behind.at_least > 0, "{behind:?}");
    let message = outcome.unwrap_err().to_string();
    assert!(message.contains("lost acknowledged writes"), "{message}");
    assert!(message.contains("txscore accept-store"), "{message}");
    assert_eq!(ledger_ids(&broker), earned(0..10), "nothing after the loss");
    assert!(read_to_end(&broker.brokers, &broker.topics.dlq, false).is_empty());
    let keys: Vec<String> = (0..15).map(account).collect();
    assert!(
        balances(&store, &keys).await.is_empty(),
        "nothing was written to the empty store: {:?}",
        balances(&store, &keys).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restored_from_an_older_snapshot_holds_the_service_until_the_operator_accepts_it() {
    let broker = Broker::start("store-snapshot", 2).await;
    let mut redis = redis();
    let files = ServiceFiles::write("store-snapshot", &broker, &flat_rules("lost-store-1"), "");
    let mut service = Service::start(&files, &broker, &redis.url(), &[]);
    broker.feed(&purchases(0..10)).await;
    broker.wait_consumed(&broker.topics.transactions);
    let snapshot = files.directory.join("older.rdb");
    redis.snapshot(&snapshot).expect("snapshot");
    broker.feed(&purchases(10..20)).await;
    broker.wait_consumed(&broker.topics.transactions);
    assert!(service.exited().is_none(), "{}", log_of(&files));

    redis
        .restart(Some(&snapshot))
        .expect("redis restarts from the snapshot");
    broker.feed(&purchases(20..21)).await;
    let status = service.wait_exit(Duration::from_secs(60));
    assert!(!status.success(), "{}", log_of(&files));
    assert!(
        log_of(&files).contains("lost acknowledged writes"),
        "{}",
        log_of(&files)
    );
    let mut again = Service::start(&files, &broker, &redis.url(), &[]);
    assert!(
        !again.wait_exit(Duration::from_secs(60)).success(),
        "a restart refuses the store too"
    );
    assert_eq!(ledger_ids(&broker), earned(0..20), "T-20 waits");

    let accepted = command(&files, &broker, &redis.url(), &["accept-store"]);
    let printed = String::from_utf8_lossy(&accepted.stdout);
    assert!(
        accepted.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(
        printed.contains(&format!("{}:0", broker.topics.transactions)),
        "{printed}"
    );

    let service = Service::start(&files, &broker, &redis.url(), &[]);
    broker.wait_consumed(&broker.topics.transactions);
    assert_eq!(ledger_ids(&broker), earned(0..21));
    let store = common::redis_store(&redis).await;
    let held: BTreeSet<String> = balances(&store, &(0..21).map(account).collect::<Vec<_>>())
        .await
        .into_keys()
        .collect();
    let expected: BTreeSet<String> = (0..10).chain(20..21).map(account).collect();
    assert_eq!(
        held, expected,
        "the snapshot's accounts and T-20's; the rest was lost"
    );
    assert!(service.terminate().success(), "{}", log_of(&files));
}
