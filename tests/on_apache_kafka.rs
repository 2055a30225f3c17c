//! What only a real broker can show: the real `txscore run` process killed with SIGKILL at
//! random points and started again, three instances joining and leaving a group with
//! cooperative-sticky rebalancing, and the broker itself killed and restarted mid-stream.
//! Each ends with every topic read to its end and compared with the reference.

mod common;

use common::exact::{assert_exact, Delivery};
use common::kafka::ApacheKafka;
use common::service::{kill_repeatedly_then_finish, Random, ServiceFiles};
use common::{
    assigned, progressed, redis, rules_toml, synthetic_stream, Broker, Reference, Running,
};
use std::time::Duration;
use txscore::pipeline::FaultInjection;
use txscore::synth::SyntheticMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_restart_loses_nothing_and_counts_nothing_twice() {
    let mut random = Random::from_env();
    let context = random.context();
    let broker = Broker::start("sigkill", 4).await;
    let server = redis();
    let messages = synthetic_stream(4_000);
    let reference = Reference::of(&messages).await;
    let files = ServiceFiles::write("sigkill", &broker, &rules_toml(), "");
    broker.feed(&messages).await;

    kill_repeatedly_then_finish(
        &files,
        &broker,
        &server.url(),
        &[],
        5,
        &mut random,
        &context,
    );
    assert_exact(
        &broker,
        &server.url(),
        &reference,
        Delivery::AtLeastOnce,
        &context,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_join_and_leave_with_cooperative_sticky_rebalancing() {
    let broker = Broker::start("cooperative", 6).await;
    let server = redis();
    let messages = synthetic_stream(3_000);
    let reference = Reference::of(&messages).await;
    let mut config = broker.config(&server, 50);
    config.kafka.client.insert(
        "partition.assignment.strategy".into(),
        "cooperative-sticky".into(),
    );
    let thirds: Vec<&[SyntheticMessage]> = messages.chunks(messages.len() / 3 + 1).collect();

    let first = Running::start(&config, FaultInjection::default()).await;
    assigned(&first.health).await;
    broker.feed(thirds[0]).await;
    progressed(&first.health, 100).await;
    // Two more join; the sticky assignor moves partitions to them incrementally (it balances
    // the count over all four input topics, so the first may keep every transactions one).
    let second = Running::start(&config, FaultInjection::default()).await;
    assigned(&second.health).await;
    let third = Running::start(&config, FaultInjection::default()).await;
    assigned(&third.health).await;
    broker.feed(thirds[1]).await;
    // The first leaves; whatever it held moves to the two that stay, which alone see the rest.
    let first = first.stop().await.expect("first stops cleanly");
    broker.feed(thirds[2]).await;
    broker.wait_consumed(&broker.topics.transactions);
    let second = second.stop().await.expect("second stops cleanly");
    let third = third.stop().await.expect("third stops cleanly");
    assert!(first.messages > 0);
    assert!(
        second.messages + third.messages >= thirds[2].len() as u64,
        "those who stayed consumed what came after the first left"
    );
    assert_exact(
        &broker,
        &server.url(),
        &reference,
        Delivery::AtLeastOnce,
        "cooperative-sticky",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_killed_and_restarted_mid_stream_loses_nothing() {
    let mut kafka = tokio::task::spawn_blocking(ApacheKafka::start)
        .await
        .expect("broker starts");
    let broker = Broker::start_on(&kafka, "broker-restart", 4).await;
    let server = redis();
    let messages = synthetic_stream(3_000);
    let reference = Reference::of(&messages).await;
    let (first_half, second_half) = messages.split_at(messages.len() / 2);
    let mut config = broker.config(&server, 50);
    config.runner.retry_budget = Duration::from_secs(120);

    broker.feed(first_half).await;
    let running = Running::start(&config, FaultInjection::default()).await;
    progressed(&running.health, 300).await;
    let kafka = tokio::task::spawn_blocking(move || {
        kafka.kill();
        std::thread::sleep(Duration::from_secs(3));
        kafka.resume();
        kafka
    })
    .await
    .expect("broker restarts");
    broker.feed(second_half).await;
    broker.wait_consumed(&broker.topics.transactions);
    let summary = running
        .stop()
        .await
        .expect("the pipeline rode out the outage");
    assert!(summary.messages >= messages.len() as u64);
    assert_exact(
        &broker,
        &server.url(),
        &reference,
        Delivery::AtLeastOnce,
        "broker restart",
    )
    .await;
    drop(kafka);
}
