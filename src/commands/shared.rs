//! Pieces several commands share: loading rules, connecting the store, reading a whole topic,
//! waiting for a shutdown signal.

use crate::rules::{RuleBook, RuleSet};
use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The rules at `path` (a file or a directory of versions), or the shipped rules.
pub fn load_rules(path: Option<&Path>) -> anyhow::Result<RuleBook> {
    Ok(match path {
        Some(path) => RuleBook::load(path)?,
        None => RuleSet::embedded_default().into(),
    })
}

/// The store `config` names (one Redis server or a cluster).
pub async fn connect_store(
    config: &crate::config::Config,
) -> anyhow::Result<crate::store::RedisStore> {
    crate::store::RedisStore::open(
        &config.redis_url,
        config.redis_cluster,
        config.redis_timeout,
    )
    .await
    .context("connecting to Redis (redis.url)")
}

/// Passes `each` every committed message on `topic`, from the start of each partition up to
/// its end when the reading began. `reader` comes from
/// [`KafkaSettings::reader_config`](crate::kafka::KafkaSettings::reader_config), which reports
/// a partition's end: on a topic written in transactions the last offset is a commit marker,
/// never delivered as a message.
pub fn read_whole_topic(
    reader: &BaseConsumer,
    topic: &str,
    mut each: impl FnMut(&BorrowedMessage<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(10);
    let metadata = reader
        .fetch_metadata(Some(topic), timeout)
        .with_context(|| format!("reading the metadata of {topic}"))?;
    let mut assignment = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = reader.fetch_watermarks(topic, partition.id(), timeout)?;
        if high > low {
            assignment.add_partition_offset(topic, partition.id(), Offset::Beginning)?;
            ends.insert(partition.id(), high);
        }
    }
    reader.assign(&assignment)?;
    let mut quiet_since = Instant::now();
    while !ends.is_empty() && quiet_since.elapsed() < Duration::from_secs(30) {
        let Some(polled) = reader.poll(Duration::from_millis(200)) else {
            continue;
        };
        quiet_since = Instant::now();
        let message = match polled {
            Ok(message) => message,
            Err(KafkaError::PartitionEOF(partition)) => {
                ends.remove(&partition);
                continue;
            }
            Err(error) => return Err(error).with_context(|| format!("reading {topic}")),
        };
        each(&message)?;
        if ends
            .get(&message.partition())
            .is_some_and(|end| message.offset() + 1 >= *end)
        {
            ends.remove(&message.partition());
        }
    }
    anyhow::ensure!(ends.is_empty(), "{topic} stopped delivering before its end");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler installs");
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
