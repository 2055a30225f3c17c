//! The baseline `txscore bench --baseline` measures the pipeline against: the loop a team
//! writes first with rust-rdkafka's at-least-once pattern around the same scoring core. For
//! each message: read its documents, score, write them with one compare-and-set script call,
//! publish each output and await its acknowledgement, then store the offset. Same broker,
//! same Redis, same rules; no batching, no overlap. Its producer sends at once
//! (`linger.ms = 0`): with librdkafka's default 5 ms every awaited publish would wait that
//! long, and the baseline would measure the linger, not the design.

use super::cost::{self, Counters};
use crate::config::Config;
use crate::pipeline::runner::inbound_of;
use crate::pipeline::BatchProcessor;
use crate::rules::RuleBook;
use crate::store::{Keyspace, RedisStore};
use anyhow::Context;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use redis::aio::ConnectionLike;
use std::time::Instant;

/// What the per-message loop reached.
pub struct Run {
    /// Messages per second, timed from its first finished message.
    pub rate: f64,
    /// The cost counters before its first message, read while its clients (whose threads
    /// [`cost`] counts) are alive.
    pub before: Counters,
    /// The cost counters after its last message, its clients still alive.
    pub after: Counters,
}

/// Runs the per-message loop over the first `messages` of the input topics, reading the cost
/// counters through `probe`.
pub async fn per_message_rate(
    config: &Config,
    store: RedisStore,
    rules: &RuleBook,
    messages: usize,
    probe: &mut impl ConnectionLike,
) -> anyhow::Result<Run> {
    let consumer: StreamConsumer = config.kafka.consumer_config().create()?;
    consumer.subscribe(&config.topics().inputs())?;
    let producer: FutureProducer = config
        .kafka
        .producer_config()
        .set("linger.ms", "0")
        .create()?;
    let processor = BatchProcessor::new(
        store,
        Keyspace::new(&config.key_prefix),
        config.processor.clone(),
    );
    let before = cost::read(probe).await;
    let mut started = None;
    for done in 1..=messages {
        let message = consumer.recv().await?;
        let report = processor
            .process(&[inbound_of(&message)], rules)
            .await
            .context("scoring in the baseline loop")?;
        for output in &report.outbound {
            let record = FutureRecord::to(config.topics().output(output.destination))
                .key(&output.key)
                .payload(&output.payload);
            producer
                .send(record, Timeout::Never)
                .await
                .map_err(|(error, _)| error)?;
        }
        consumer.store_offset_from_message(&message)?;
        if done == 1 {
            started = Some(Instant::now());
        }
    }
    let rate = (messages - 1) as f64
        / started
            .context("the baseline received nothing")?
            .elapsed()
            .as_secs_f64();
    let after = cost::read(probe).await;
    consumer.unsubscribe();
    Ok(Run {
        rate,
        before,
        after,
    })
}
