//! The Kafka loop. For each batch: gather up to `max_batch` messages (waiting at most `linger`
//! after the first), process it (state written atomically in the store), publish every output
//! and wait for the brokers' acknowledgements, and only then store the batch's offsets for
//! commit. A crash anywhere before the offsets are stored replays the batch, which the store's
//! transaction records turn into re-emission of identical outputs, never a second balance change.

use super::batch::{BatchProcessor, BatchReport, Destination, Inbound, Outbound};
use crate::health::Health;
use crate::kafka::{KafkaSettings, PipelineContext};
use crate::rules::RuleSet;
use crate::store::{StateStore, StoreError};
use crate::telemetry::events;
use crate::wire::SourcePosition;
use futures_util::future::join_all;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Topic names.
#[derive(Debug, Clone)]
pub struct Topics {
    pub transactions: String,
    pub ledger: String,
    pub alerts: String,
    pub dlq: String,
}

/// How the loop batches, retries and stops.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    pub topics: Topics,
    pub max_batch: usize,
    pub linger: Duration,
    /// How long a batch may keep failing against the store or the brokers before the pipeline
    /// gives up (and exits for a supervisor to restart it). Keep it below max.poll.interval.ms.
    pub retry_budget: Duration,
    /// Bound on committing and leaving the group at shutdown.
    pub shutdown_timeout: Duration,
}

/// Deliberate failures, for proving crash recovery in tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultInjection {
    /// Stop with [`PipelineError::InjectedCrash`] right after the store write of this batch
    /// (1-based), before its outputs are published or its offsets stored.
    pub crash_after_store_write_of_batch: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("state store unusable for {0:?}: {1}")]
    Store(Duration, StoreError),
    #[error("{failed} outputs not acknowledged for {waited:?}; first error: {first}")]
    Publish {
        failed: usize,
        waited: Duration,
        first: String,
    },
    #[error("injected crash after the store write of batch {0}")]
    InjectedCrash(u64),
}

/// Totals of one run, for the demo's summary and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub batches: u64,
    pub messages: u64,
    pub scored: u64,
    pub replayed: u64,
    pub dead_lettered: BTreeMap<String, u64>,
    pub points: BTreeMap<String, i64>,
    pub alerts: u64,
    pub outputs: u64,
}

pub struct Pipeline<S> {
    consumer: StreamConsumer<PipelineContext>,
    producer: FutureProducer,
    processor: BatchProcessor<S>,
    rules: Arc<RuleSet>,
    settings: RunnerSettings,
    health: Arc<Health>,
    fault: FaultInjection,
    summary: RunSummary,
}

impl<S: StateStore> Pipeline<S> {
    /// Connects the clients and subscribes; nothing is consumed until [`Pipeline::run`].
    pub fn new(
        kafka: &KafkaSettings,
        processor: BatchProcessor<S>,
        rules: Arc<RuleSet>,
        settings: RunnerSettings,
        health: Arc<Health>,
    ) -> Result<Self, PipelineError> {
        let consumer: StreamConsumer<PipelineContext> = kafka
            .consumer_config()
            .create_with_context(PipelineContext::new(health.clone()))?;
        consumer.subscribe(&[&settings.topics.transactions])?;
        let producer: FutureProducer = kafka.producer_config().create()?;
        events::rules_in_force(&rules.version);
        Ok(Pipeline {
            consumer,
            producer,
            processor,
            rules,
            settings,
            health,
            fault: FaultInjection::default(),
            summary: RunSummary::default(),
        })
    }

    pub fn with_fault_injection(mut self, fault: FaultInjection) -> Self {
        self.fault = fault;
        self
    }

    /// Runs until `shutdown` completes (then finishes cleanly) or a failure outlasts the retry
    /// budget. The batch in flight at shutdown is completed; a partly gathered one is left for
    /// the next owner of its partitions.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunSummary, PipelineError> {
        self.health.set_ready(true);
        let mut shutdown = std::pin::pin!(shutdown);
        let outcome = loop {
            let gathered = tokio::select! {
                biased;
                _ = &mut shutdown => break Ok(()),
                gathered = gather(&self.consumer, self.settings.max_batch, self.settings.linger) => gathered,
            };
            let messages = match gathered {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::warn!(%error, "consume error");
                    continue;
                }
            };
            let result = handle_batch(
                &self.consumer,
                &self.producer,
                &self.processor,
                &self.rules,
                &self.settings,
                self.fault,
                &mut self.summary,
                &messages,
            )
            .await;
            drop(messages);
            match result {
                Ok(count) => self.health.record_progress(count),
                Err(error) => break Err(error),
            }
        };
        self.health.set_ready(false);
        let summary = self.summary.clone();
        self.close().await;
        outcome.map(|()| summary)
    }

    /// Commits stored offsets, leaves the group and flushes the producer, within the timeout.
    async fn close(self) {
        let timeout = self.settings.shutdown_timeout;
        let consumer = self.consumer;
        let producer = self.producer;
        let closing = tokio::task::spawn_blocking(move || {
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(%error, "final commit (nothing stored since the last one?)");
            }
            consumer.unsubscribe();
            drop(consumer);
            let _ = producer.flush(Timeout::After(Duration::from_secs(5)));
        });
        if tokio::time::timeout(timeout, closing).await.is_err() {
            tracing::warn!(?timeout, "consumer did not leave the group in time");
        }
    }
}

/// Waits for one message, then takes what arrives within `linger`, up to `max` messages.
async fn gather(
    consumer: &StreamConsumer<PipelineContext>,
    max: usize,
    linger: Duration,
) -> Result<Vec<BorrowedMessage<'_>>, KafkaError> {
    let first = consumer.recv().await?;
    let mut messages = Vec::with_capacity(max);
    messages.push(first);
    let deadline = tokio::time::Instant::now() + linger;
    while messages.len() < max {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => messages.push(message),
            Ok(Err(error)) => {
                tracing::warn!(%error, "consume error");
                break;
            }
            Err(_) => break,
        }
    }
    Ok(messages)
}

/// One batch: process, publish, store offsets. Returns the number of messages done.
#[allow(clippy::too_many_arguments)]
async fn handle_batch<S: StateStore>(
    consumer: &StreamConsumer<PipelineContext>,
    producer: &FutureProducer,
    processor: &BatchProcessor<S>,
    rules: &Arc<RuleSet>,
    settings: &RunnerSettings,
    fault: FaultInjection,
    summary: &mut RunSummary,
    messages: &[BorrowedMessage<'_>],
) -> Result<u64, PipelineError> {
    let started = Instant::now();
    let inbound: Vec<Inbound<'_>> = messages
        .iter()
        .map(|message| Inbound {
            payload: message.payload().unwrap_or_default(),
            key: message.key(),
            source: SourcePosition {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
            },
        })
        .collect();

    let report = with_retries(settings.retry_budget, "store", || {
        processor.process(&inbound, rules)
    })
    .await
    .map_err(|(waited, error)| PipelineError::Store(waited, error))?;

    let batch_number = summary.batches + 1;
    if fault.crash_after_store_write_of_batch == Some(batch_number) {
        return Err(PipelineError::InjectedCrash(batch_number));
    }

    publish(
        producer,
        &settings.topics,
        &report.outbound,
        settings.retry_budget,
    )
    .await?;
    store_offsets(consumer, messages);
    events::batch_completed(&report, messages.len(), started.elapsed());
    summary.add(&report, messages.len());
    Ok(messages.len() as u64)
}

/// Retries `attempt` with exponential backoff until it succeeds or `budget` has passed.
async fn with_retries<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    budget: Duration,
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> Result<T, (Duration, E)> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(50);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if started.elapsed() + backoff > budget => {
                return Err((started.elapsed(), error))
            }
            Err(error) => {
                tracing::warn!(%error, ?backoff, "{what} failed; retrying the batch");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Publishes every output and waits for all acknowledgements; what fails is sent again (an
/// idempotent producer keeps order and avoids duplicates within each attempt).
async fn publish(
    producer: &FutureProducer,
    topics: &Topics,
    outbound: &[Outbound],
    budget: Duration,
) -> Result<(), PipelineError> {
    let mut pending: Vec<&Outbound> = outbound.iter().collect();
    let started = Instant::now();
    let mut backoff = Duration::from_millis(100);
    loop {
        let sends = pending.iter().map(|message| {
            let topic = match message.destination {
                Destination::Ledger => &topics.ledger,
                Destination::Alerts => &topics.alerts,
                Destination::Dlq => &topics.dlq,
            };
            let record = FutureRecord::to(topic)
                .key(&message.key)
                .payload(&message.payload);
            producer.send(record, Timeout::After(Duration::from_secs(5)))
        });
        let results = join_all(sends).await;
        let mut first_error = None;
        let failed: Vec<&Outbound> = pending
            .iter()
            .zip(results)
            .filter_map(|(message, result)| {
                result.err().map(|(error, _)| {
                    first_error.get_or_insert_with(|| error.to_string());
                    *message
                })
            })
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        events::publish_failed(failed.len() as u64);
        if started.elapsed() + backoff > budget {
            return Err(PipelineError::Publish {
                failed: failed.len(),
                waited: started.elapsed(),
                first: first_error.unwrap_or_default(),
            });
        }
        tracing::warn!(
            failed = failed.len(),
            error = first_error.as_deref(),
            "outputs not acknowledged; sending again"
        );
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
        pending = failed;
    }
}

/// Stores, for commit, the offset after the last message of each partition in the batch.
/// A partition revoked meanwhile refuses the store; its new owner replays the batch and the
/// transaction records make that harmless.
fn store_offsets(consumer: &StreamConsumer<PipelineContext>, messages: &[BorrowedMessage<'_>]) {
    let mut next: HashMap<(&str, i32), i64> = HashMap::new();
    for message in messages {
        let entry = next
            .entry((message.topic(), message.partition()))
            .or_default();
        *entry = (*entry).max(message.offset() + 1);
    }
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        if let Err(error) = offsets.add_partition_offset(topic, partition, Offset::Offset(offset)) {
            tracing::warn!(%error, topic, partition, "cannot record offset");
        }
    }
    if let Err(error) = consumer.store_offsets(&offsets) {
        tracing::warn!(%error, "offsets not stored (partitions revoked?); the batch will be replayed harmlessly");
    }
}

impl RunSummary {
    fn add(&mut self, report: &BatchReport, messages: usize) {
        self.batches += 1;
        self.messages += messages as u64;
        self.scored += report.scored;
        self.replayed += report.replayed;
        for (kind, count) in &report.dead_lettered {
            *self.dead_lettered.entry((*kind).to_owned()).or_default() += count;
        }
        for (flow, points) in &report.points {
            *self.points.entry((*flow).to_owned()).or_default() += points;
        }
        self.alerts += report
            .outbound
            .iter()
            .filter(|message| message.destination == Destination::Alerts)
            .count() as u64;
        self.outputs += report.outbound.len() as u64;
    }
}
