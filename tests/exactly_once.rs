//! `kafka.exactly_once` on Apache Kafka: each output seen exactly once by a `read_committed`
//! reader, across SIGKILLs of the real process at random points, a crash right after the
//! store write, and a second instance joining and leaving.

mod common;

use common::exact::{assert_exact, Delivery};
use common::service::{kill_repeatedly_then_finish, Random, ServiceFiles};
use common::{
    assigned, progressed, read_to_end, redis, rules_toml, synthetic_stream, Broker, Reference,
    Running,
};
use txscore::config::Config;
use txscore::pipeline::{FaultInjection, PipelineError};

fn exactly_once(config: &Config, transactional_id: &str) -> Config {
    let mut config = config.clone();
    config.kafka.transactional_id = Some(transactional_id.to_owned());
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_leave_a_read_committed_reader_every_output_exactly_once() {
    let mut random = Random::from_env();
    let context = random.context();
    let broker = Broker::start("eos-sigkill", 4).await;
    let server = redis();
    let messages = synthetic_stream(3_000);
    let reference = Reference::of(&messages).await;
    let files = ServiceFiles::write(
        "eos-sigkill",
        &broker,
        &rules_toml(),
        "kafka.exactly_once = true",
    );
    let env = [("TXSCORE_TRANSACTIONAL_ID", "eos-sigkill-instance-0")];
    broker.feed(&messages).await;

    kill_repeatedly_then_finish(
        &files,
        &broker,
        &server.url(),
        &env,
        4,
        &mut random,
        &context,
    );
    assert_exact(
        &broker,
        &server.url(),
        &reference,
        Delivery::ExactlyOnce,
        &context,
    )
    .await;
    let uncommitted = read_to_end(&broker.brokers, &broker.topics.ledger, false);
    assert!(
        uncommitted.len() >= reference.ledger_ids.len(),
        "{context}: a read_uncommitted reader sees at least as much"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_store_write_aborts_the_transaction_and_the_restart_commits_it_once() {
    let broker = Broker::start("eos-crash", 4).await;
    let server = redis();
    let messages = synthetic_stream(1_200);
    let reference = Reference::of(&messages).await;
    broker.feed(&messages).await;
    let config = exactly_once(&broker.config(&server, 100), "eos-crash-instance-0");

    let crashing = Running::start(
        &config,
        FaultInjection {
            crash_after_store_write_of_batch: Some(4),
        },
    )
    .await;
    let crashed = crashing.finished().await;
    assert!(
        matches!(crashed, Err(PipelineError::InjectedCrash(4))),
        "{crashed:?}"
    );
    let restarted = Running::start(&config, FaultInjection::default()).await;
    broker.wait_consumed(&broker.topics.transactions);
    let summary = restarted.stop().await.expect("clean stop");
    assert!(
        summary.replayed > 0,
        "the crashed batch was consumed again and recognised"
    );
    assert_exact(
        &broker,
        &server.url(),
        &reference,
        Delivery::ExactlyOnce,
        "injected crash",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_joining_and_the_first_leaving_keep_every_output_exactly_once() {
    let broker = Broker::start("eos-rebalance", 6).await;
    let server = redis();
    let messages = synthetic_stream(3_000);
    let reference = Reference::of(&messages).await;
    let config = broker.config(&server, 50);
    let (first_half, second_half) = messages.split_at(messages.len() / 2);

    let first = Running::start(
        &exactly_once(&config, "eos-rebalance-a"),
        FaultInjection::default(),
    )
    .await;
    broker.feed(first_half).await;
    progressed(&first.health, 200).await;
    let second = Running::start(
        &exactly_once(&config, "eos-rebalance-b"),
        FaultInjection::default(),
    )
    .await;
    assigned(&second.health).await;
    broker.feed(second_half).await;
    progressed(&second.health, 100).await;
    first.stop().await.expect("first stops cleanly");
    broker.wait_consumed(&broker.topics.transactions);
    second.stop().await.expect("second stops cleanly");
    assert_exact(
        &broker,
        &server.url(),
        &reference,
        Delivery::ExactlyOnce,
        "exactly-once rebalance",
    )
    .await;
}
