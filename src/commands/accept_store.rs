//! `txscore accept-store`: after the store lost writes and the operator decided to go on with
//! it as it is (a restore from an older snapshot, say), marks it as holding every input
//! partition up to the consumer group's committed offset, so that `run` starts again.

use super::shared::connect_store;
use crate::config::Config;
use crate::kafka::committed::committed_offsets_of_topics;
use crate::store::{applied, AppliedMark, Keyspace, StateStore};
use anyhow::Context;
use clap::Args;
use rdkafka::consumer::BaseConsumer;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct AcceptStoreArgs {
    /// Configuration file (as for `run`): Redis, Kafka, the group and its topics.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub async fn accept_store(args: AcceptStoreArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?;
    let store = connect_store(&config).await?;
    let consumer: BaseConsumer = config
        .kafka
        .consumer_config()
        .create()
        .context("creating the consumer")?;
    let inputs: Vec<String> = config
        .topics()
        .consumed(config.runner.member_ordered)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let committed = tokio::task::spawn_blocking(move || {
        committed_offsets_of_topics(&consumer, &inputs, Duration::from_secs(10))
    })
    .await?
    .context("reading the group's committed offsets")?;
    let marks: Vec<AppliedMark> = committed
        .iter()
        .filter(|(_, offset)| *offset >= 0)
        .map(|((topic, partition), offset)| AppliedMark {
            partition: applied::field(topic, *partition),
            at_least: -1,
            next: *offset,
        })
        .collect();
    store
        .advance_applied(&Keyspace::new(&config.key_prefix).applied(), &marks)
        .await
        .context("writing the applied positions")?;
    for mark in &marks {
        println!(
            "{}: held up to offset {} at least",
            mark.partition, mark.next
        );
    }
    println!(
        "The store is accepted as it is for group {}: {} input partitions with committed offsets.",
        config.kafka.group_id,
        marks.len()
    );
    Ok(())
}
