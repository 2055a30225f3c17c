//! The whole pipeline through a Kafka-protocol broker and a real redis-server: outputs match an
//! in-memory reference run, bad input is dead-lettered with provenance, a crash between the
//! store write and the offset commit loses nothing and double-counts nothing, two instances
//! sharing a group through rebalances reach exact totals, and a rules change while running
//! applies from the next batch without losing a message, and a three-master Redis Cluster
//! reaches the same exact totals as a single server.

mod common;

use common::{
    assigned, balances, by_event_id, count, distinct_events, progressed, read_topic, redis,
    synthetic_stream, Broker, Reference, Running,
};
use std::collections::BTreeSet;
use std::time::Duration;
use txscore::local_redis::LocalRedisCluster;
use txscore::pipeline::{FaultInjection, PipelineError};
use txscore::rules::reload::{ReloadOutcome, Reloader};
use txscore::store::RedisStore;

/// Waits until the ledger topic holds every event id of the reference, then returns it all.
fn ledger_with_all_events(broker: &Broker, reference: &Reference) -> Vec<(String, String)> {
    read_topic(
        &broker.brokers,
        &broker.topics.ledger,
        Duration::from_secs(90),
        distinct_events(reference.ledger_ids.len()),
    )
}

async fn assert_exact(broker: &Broker, redis_url: &str, reference: &Reference) {
    let ledger = ledger_with_all_events(broker, reference);
    let events = by_event_id(&ledger);
    let ids: BTreeSet<String> = events.keys().cloned().collect();
    assert_eq!(
        ids, reference.ledger_ids,
        "every ledger event published, none invented"
    );
    for (id, copies) in &events {
        assert!(
            copies.windows(2).all(|pair| pair[0] == pair[1]),
            "copies of {id} differ"
        );
    }
    let store = RedisStore::connect(redis_url, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        balances(&store, &reference.account_keys()).await,
        reference.balances().await,
        "every balance equals the reference"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_match_the_reference_and_bad_input_is_dead_lettered_with_provenance() {
    let broker = Broker::start("e2e", 4).await;
    let server = redis();
    let messages = synthetic_stream(1_500);
    let reference = Reference::of(&messages).await;
    broker.feed(&messages).await;

    let config = broker.config(&server, 200);
    let running = Running::start(&config, FaultInjection::default()).await;
    assert_exact(&broker, &server.url(), &reference).await;

    let dead = read_topic(
        &broker.brokers,
        &broker.topics.dlq,
        Duration::from_secs(30),
        count(reference.dead_lettered),
    );
    assert_eq!(dead.len() as u64, reference.dead_lettered);
    let mut kinds = BTreeSet::new();
    for (_, payload) in &dead {
        assert!(
            !payload.contains("4111111111111111"),
            "card numbers are masked: {payload}"
        );
        let record: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(
            record["source"]["topic"],
            broker.topics.transactions.as_str()
        );
        assert!(record["source"]["offset"].as_i64().unwrap() >= 0);
        assert!(!record["reason"].as_str().unwrap().is_empty());
        kinds.insert(record["error_kind"].as_str().unwrap().to_owned());
    }
    for kind in [
        "malformed_json",
        "invalid_field",
        "raw_pan",
        "unknown_currency",
        "missing_field",
        "oversized",
    ] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
    let alerts = read_topic(
        &broker.brokers,
        &broker.topics.alerts,
        Duration::from_secs(30),
        count(reference.alerts as u64),
    );
    assert_eq!(alerts.len(), reference.alerts);

    let summary = running.stop().await.expect("clean stop");
    assert_eq!(summary.messages as usize, messages.len());
    assert_eq!(summary.replayed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_store_write_loses_no_event_and_counts_nothing_twice() {
    let broker = Broker::start("crash", 4).await;
    let server = redis();
    let messages = synthetic_stream(1_200);
    let reference = Reference::of(&messages).await;
    broker.feed(&messages).await;
    let config = broker.config(&server, 100);

    let crashing = Running::start(
        &config,
        FaultInjection {
            crash_after_store_write_of_batch: Some(3),
        },
    )
    .await;
    let crashed = crashing.finished().await;
    assert!(
        matches!(crashed, Err(PipelineError::InjectedCrash(3))),
        "{crashed:?}"
    );

    let restarted = Running::start(&config, FaultInjection::default()).await;
    assert_exact(&broker, &server.url(), &reference).await;
    let summary = restarted.stop().await.expect("clean stop");
    assert!(
        summary.replayed > 0,
        "the crashed batch was replayed from its records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_partitions_through_rebalances_with_exact_totals() {
    let broker = Broker::start("rebalance", 6).await;
    let server = redis();
    let messages = synthetic_stream(3_000);
    let reference = Reference::of(&messages).await;
    let config = broker.config(&server, 50);
    let (first_half, second_half) = messages.split_at(messages.len() / 2);

    let first = Running::start(&config, FaultInjection::default()).await;
    broker.feed(first_half).await;
    progressed(&first.health, 200).await;
    // A second instance joins mid-stream: the group rebalances and the partitions are split.
    let second = Running::start(&config, FaultInjection::default()).await;
    assigned(&second.health).await;
    broker.feed(second_half).await;
    progressed(&second.health, 200).await;
    // The first leaves while work remains: its partitions move to the second instance.
    let first_summary = first.stop().await.expect("first instance stops cleanly");
    assert_exact(&broker, &server.url(), &reference).await;
    let second_summary = second.stop().await.expect("second instance stops cleanly");
    assert!(
        second_summary.messages > 0,
        "the second instance got partitions"
    );
    assert!(
        first_summary.messages + second_summary.messages >= messages.len() as u64,
        "together they saw every message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_change_while_running_scores_every_later_message_by_the_new_rules() {
    let broker = Broker::start("reload", 4).await;
    let server = redis();
    let messages = synthetic_stream(2_000);
    let (before, after) = messages.split_at(1_000);
    let reference = Reference::of(&messages).await;

    let directory = std::env::temp_dir().join(format!("txscore-reload-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join("rules.toml");
    let version = |name: &str| {
        common::rules_toml().replace("version = \"2026.11-1\"", &format!("version = \"{name}\""))
    };
    std::fs::write(&file, version("v1")).unwrap();
    let (mut reloader, feed) = Reloader::start(&file).unwrap();
    let store = common::redis_store(&server).await;
    let config = broker.config(&server, 100);
    let running = Running::start_with_rules(&config, store, feed, FaultInjection::default());
    broker.feed(before).await;
    progressed(&running.health, before.len() as u64).await;

    std::fs::write(
        &file,
        version("v2").replace("points_per_unit = \"1\"", "points_per_unit = \"2\""),
    )
    .unwrap();
    assert_eq!(
        reloader.check().unwrap(),
        ReloadOutcome::Applied {
            latest_version: "v2".into()
        }
    );
    broker.feed(after).await;
    let ledger = ledger_with_all_events(&broker, &reference);
    running.stop().await.unwrap();
    std::fs::remove_dir_all(&directory).unwrap();

    let early: BTreeSet<String> = before
        .iter()
        .filter_map(|m| {
            serde_json::from_slice::<serde_json::Value>(&m.payload).ok()?["txn_id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let mut doubled = 0;
    for (id, payload) in by_event_id(&ledger) {
        let event: serde_json::Value = serde_json::from_str(&payload[0]).unwrap();
        let points = event["points"].as_i64().unwrap();
        let expected = reference.ledger_points[&id];
        if early.contains(event["txn_id"].as_str().unwrap()) {
            assert_eq!(
                event["rules_version"], "v1",
                "{id} was consumed before the change"
            );
            assert_eq!(points, expected, "{id} scored by the old rules");
        } else {
            assert_eq!(
                event["rules_version"], "v2",
                "{id} was produced after the change"
            );
            // Caps and tiers make the totals move in other ways; the base-rate line says
            // which rate the purchase was scored at.
            let line = &event["breakdown"][0];
            if event["event_type"] == "points_earned" && line["rule"] == "base_rate" {
                let detail = line["detail"].as_str().unwrap();
                assert!(detail.contains(" x 2 points per "), "{id}: {detail}");
                doubled += 1;
            }
        }
    }
    assert!(
        doubled > 100,
        "the new earning rate applied to later purchases ({doubled})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_master_redis_cluster_reaches_the_exact_totals() {
    let broker = Broker::start("cluster", 4).await;
    let cluster = LocalRedisCluster::start(3).expect("redis-server and redis-cli form a cluster");
    let messages = synthetic_stream(1_500);
    let reference = Reference::of(&messages).await;
    broker.feed(&messages).await;

    let mut config = broker.config(&cluster.nodes()[0], 200);
    config.redis_url = cluster.url();
    config.redis_cluster = true;
    let store = RedisStore::open(&config.redis_url, true, config.redis_timeout)
        .await
        .unwrap();
    let running = Running::start_with_store(&config, store.clone(), FaultInjection::default());
    let ledger = ledger_with_all_events(&broker, &reference);
    running.stop().await.unwrap();

    let ids: BTreeSet<String> = by_event_id(&ledger).into_keys().collect();
    assert_eq!(ids, reference.ledger_ids);
    assert_eq!(
        balances(&store, &reference.account_keys()).await,
        reference.balances().await,
        "every balance equals the reference"
    );
    let mut masters_with_accounts = 0;
    for node in cluster.nodes() {
        let mut connection = redis::Client::open(node.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("txscore:{m:*}:account:*")
            .query(&mut connection)
            .unwrap();
        masters_with_accounts += usize::from(!keys.is_empty());
    }
    assert_eq!(
        masters_with_accounts, 3,
        "accounts spread over every master"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_ruleset_publishes_what_it_would_credit_and_credits_nothing() {
    let broker = Broker::start("shadow", 4).await;
    let server = redis();
    let messages = synthetic_stream(600);
    let reference = Reference::of(&messages).await;
    broker.feed(&messages).await;
    let candidate = common::rules_toml()
        .replace("version = \"2026.11-1\"", "version = \"candidate\"")
        .replace("points_per_unit = \"1\"", "points_per_unit = \"3\"");
    let candidate: txscore::rules::RuleBook = txscore::rules::RuleSet::from_toml(&candidate)
        .unwrap()
        .into();

    let config = broker.config(&server, 100);
    let store = common::redis_store(&server).await;
    let running = Running::start_with_shadow(
        &config,
        store.clone(),
        common::rules().fixed(),
        Some(candidate.fixed()),
        FaultInjection::default(),
    );
    ledger_with_all_events(&broker, &reference);
    let scored_with_member = reference
        .ledger_ids
        .iter()
        .map(|id| id.split('/').next().unwrap())
        .collect::<BTreeSet<_>>()
        .len();
    let comparisons = read_topic(
        &broker.brokers,
        &broker.topics.shadow,
        Duration::from_secs(30),
        count(scored_with_member as u64),
    );
    running.stop().await.unwrap();

    assert_eq!(
        comparisons.len(),
        scored_with_member,
        "one comparison per member transaction"
    );
    let mut tripled = 0;
    for (_, payload) in &comparisons {
        let comparison: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(comparison["candidate_version"], "candidate");
        let (live, candidate) = (
            comparison["live_points"].as_i64().unwrap(),
            comparison["candidate_points"].as_i64().unwrap(),
        );
        assert_eq!(comparison["difference"].as_i64(), Some(candidate - live));
        // Caps, tiers and campaigns move the totals in other ways; the base-rate line says
        // which rate the candidate scored at.
        let base_rate = comparison["candidate_breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .find(|line| line["rule"] == "base_rate");
        if let Some(line) = base_rate {
            let detail = line["detail"].as_str().unwrap();
            assert!(detail.contains(" x 3 points per "), "{comparison}");
            tripled += 1;
        }
    }
    assert!(tripled > 50, "the candidate's rate shows ({tripled})");
    assert_eq!(
        balances(&store, &reference.account_keys()).await,
        reference.balances().await,
        "nothing the candidate scored was credited"
    );
}
