//! Pieces several commands share: loading rules, waiting for a shutdown signal, feeding a topic.

use crate::rules::{RuleBook, RuleSet};
use crate::synth::SyntheticMessage;
use anyhow::Context;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::ClientConfig;
use std::path::Path;
use std::time::Duration;

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

/// Produces `messages` to `topic`, keyed by card, and waits for every acknowledgement.
pub async fn feed_topic(
    brokers: &str,
    topic: &str,
    messages: &[SyntheticMessage],
) -> anyhow::Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .context("creating the producer")?;
    for chunk in messages.chunks(5_000) {
        let sends = chunk.iter().map(|message| {
            producer.send(
                FutureRecord::to(topic)
                    .key(&message.key)
                    .payload(&message.payload),
                Timeout::After(Duration::from_secs(30)),
            )
        });
        for result in futures_util::future::join_all(sends).await {
            result
                .map_err(|(error, _)| error)
                .context("producing to the topic")?;
        }
    }
    Ok(())
}
