//! Producing a synthetic stream to a topic, for the commands that bring their own input.

use crate::synth::SyntheticMessage;
use anyhow::Context;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::ClientConfig;
use std::time::Duration;

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
