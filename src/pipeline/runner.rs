//! The Kafka loop. For each batch: gather up to `max_batch` messages (waiting at most `linger`
//! after the first), process it (state written atomically in the store), publish every output
//! and wait for the brokers' acknowledgements, and only then store the batch's offsets for
//! commit. A crash anywhere before the offsets are stored replays the batch, which the store's
//! transaction records turn into re-emission of identical outputs, never a second balance change.
//!
//! Around each batch's write, [`applied`] checks that the store still holds every write it
//! acknowledged, and records how far it now holds them.
//!
//! [`stages`] tells inputs to route from inputs read back from the owner log.
//!
//! With `kafka.exactly_once`, [`transactional`] runs instead: the same scoring, with each
//! batch's outputs and offsets committed together in a Kafka transaction.

mod applied;
mod stages;
mod transactional;

use super::batch::{BatchProcessor, BatchReport, Destination, Origin, Outbound};
use super::topics::Topics;
use crate::config::Config;
use crate::health::Health;
use crate::kafka::committed::Partition;
use crate::kafka::existing::missing_topics;
use crate::kafka::{KafkaSettings, PipelineContext};
use crate::rules::RulesFeed;
use crate::store::{Behind, Keyspace, StateStore, StoreError};
use crate::telemetry::events;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
pub use stages::inbound_of;
use stages::Stages;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a topic the pipeline needs may take to appear before it refuses to start.
const TOPICS_WAIT: Duration = Duration::from_secs(10);

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
    /// Batches written to the store whose acknowledgements may be outstanding at once.
    pub max_in_flight: usize,
    /// Route every input through the owner log and score it from there (see
    /// [`super::owner_log`]), so each owner's inputs have one order of record.
    pub member_ordered: bool,
}

/// Deliberate failures, for proving crash recovery in tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultInjection {
    /// Stop with [`PipelineError::InjectedCrash`] right after the store write of this batch
    /// (1-based, counting the batches that scored something), before its outputs are published
    /// or its offsets stored.
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
    #[error("kafka transaction: {0}")]
    Transaction(KafkaError),
    #[error(
        "the state store lost acknowledged writes: it holds input partition {} only up to offset \
         {}, but offsets up to {} were processed and committed. It was restarted empty or from an \
         older snapshot, or failed over to a replica that missed writes. Nothing was scored \
         against it. Restore the latest dataset; or, to go on with the store as it is (balances \
         lose what it lost), run `txscore accept-store` once",
        .0.partition, .0.held, .0.at_least
    )]
    StoreBehind(Behind),
    #[error(
        "topics missing on the brokers: {}. Create them (docs/operations.md lists each with its \
         partitions), or name existing ones in [kafka.topics]",
        .0.join(", ")
    )]
    MissingTopics(Vec<String>),
}

/// Totals of one run, for the demo's summary and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub batches: u64,
    /// Inputs done: scored, replayed or dead-lettered (an input routed to the owner log is
    /// done when it is read back from there).
    pub messages: u64,
    /// Inputs forwarded to the owner log.
    pub routed: u64,
    pub scored: u64,
    pub replayed: u64,
    pub dead_lettered: BTreeMap<String, u64>,
    pub points: BTreeMap<String, i128>,
    pub alerts: u64,
    /// From the first message received to the last batch's offsets stored.
    pub active: Duration,
    /// Outputs published, not counting inputs routed to the owner log.
    pub outputs: u64,
    /// The first payload published to each destination but the owner log, as an example of the
    /// output.
    pub samples: BTreeMap<&'static str, String>,
}

pub struct Pipeline<S> {
    consumer: Arc<StreamConsumer<PipelineContext>>,
    producer: FutureProducer,
    processor: BatchProcessor<S>,
    rules: RulesFeed,
    settings: RunnerSettings,
    health: Arc<Health>,
    fault: FaultInjection,
    /// Outputs and offsets commit in Kafka transactions (`kafka.exactly_once`).
    transactional: bool,
    applied: applied::AppliedGuard,
    /// Batches that scored something (not only routed), for [`FaultInjection`].
    scoring_batches: AtomicU64,
    /// A client of its own for checking that the topics exist: the pipeline's consumer is
    /// left to its group.
    probe: ClientConfig,
}

/// A batch whose state is written and whose outputs are queued in the producer, waiting for
/// acknowledgements before its offsets may be stored.
struct InFlight {
    acks: Vec<Result<DeliveryFuture, KafkaError>>,
    offsets: TopicPartitionList,
    report: BatchReport,
    messages: usize,
    started: Instant,
    first_received: Instant,
}

impl<S: StateStore> Pipeline<S> {
    /// Creates the clients; nothing is subscribed to or consumed until [`Pipeline::run`].
    pub fn new(
        kafka: &KafkaSettings,
        processor: BatchProcessor<S>,
        rules: RulesFeed,
        settings: RunnerSettings,
        health: Arc<Health>,
    ) -> Result<Self, PipelineError> {
        let consumer: StreamConsumer<PipelineContext> = kafka
            .consumer_config()
            .create_with_context(PipelineContext::new(health.clone()))?;
        let producer: FutureProducer = kafka.producer_config().create()?;
        events::rules_in_force(&rules.borrow().latest().version, None);
        let applied = applied::AppliedGuard::new(
            processor.keys().applied(),
            settings
                .topics
                .consumed(settings.member_ordered)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            settings.retry_budget,
        );
        Ok(Pipeline {
            consumer: Arc::new(consumer),
            producer,
            processor,
            rules,
            settings,
            health,
            fault: FaultInjection::default(),
            transactional: kafka.transactional_id.is_some(),
            applied,
            scoring_batches: AtomicU64::new(0),
            probe: kafka.reader_config(),
        })
    }

    /// A pipeline over `store`, set up as `config` describes.
    pub fn from_config(
        config: &Config,
        store: S,
        rules: RulesFeed,
        health: Arc<Health>,
    ) -> Result<Self, PipelineError> {
        let keys = Keyspace::new(&config.key_prefix);
        let processor = BatchProcessor::new(store, keys, config.processor.clone());
        Pipeline::new(
            &config.kafka,
            processor,
            rules,
            config.runner.clone(),
            health,
        )
    }

    /// Scores every transaction with the `candidate` rules too and publishes the comparison.
    pub fn with_shadow_rules(mut self, candidate: RulesFeed) -> Self {
        self.processor = self.processor.with_shadow_rules(candidate);
        self
    }

    pub fn with_fault_injection(mut self, fault: FaultInjection) -> Self {
        self.fault = fault;
        self
    }

    /// Runs until `shutdown` completes (then finishes cleanly) or a failure outlasts the retry
    /// budget. Batches already written are published and acknowledged before the final commit;
    /// a partly gathered one is left for the next owner of its partitions.
    ///
    /// Batches are pipelined: while one waits for its acknowledgements, the next is scored.
    /// Offsets are still stored strictly in batch order, each only after its own acks.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunSummary, PipelineError> {
        self.check_topics().await?;
        self.consumer
            .subscribe(&self.settings.topics.consumed(self.settings.member_ordered))?;
        self.health.set_ready(true);
        if self.transactional {
            let outcome = self.consume_transactionally(shutdown).await;
            self.health.set_ready(false);
            close(self.consumer, self.producer, self.settings.shutdown_timeout).await;
            return outcome;
        }
        let (to_committer, from_loop) = mpsc::channel(self.settings.max_in_flight);
        let committer = tokio::spawn(commit_in_order(
            from_loop,
            self.consumer.clone(),
            self.producer.clone(),
            self.settings.clone(),
            self.health.clone(),
        ));
        let outcome = self.consume(shutdown, to_committer).await;
        let committed = committer.await.expect("committer task does not panic");
        self.health.set_ready(false);
        close(self.consumer, self.producer, self.settings.shutdown_timeout).await;
        outcome?;
        committed
    }

    async fn consume(
        &self,
        shutdown: impl Future<Output = ()>,
        to_committer: mpsc::Sender<InFlight>,
    ) -> Result<(), PipelineError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut first_received: Option<Instant> = None;
        loop {
            let gathered = tokio::select! {
                biased;
                _ = &mut shutdown => return Ok(()),
                gathered = gather(&self.consumer, self.settings.max_batch, self.settings.linger) => gathered,
            };
            let messages = match gathered {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::warn!(%error, "consume error");
                    continue;
                }
            };
            let first_received = *first_received.get_or_insert_with(Instant::now);
            let started = Instant::now();
            let Scored {
                report,
                offsets,
                count,
            } = self.score(messages).await?;
            let acks = enqueue(&self.producer, &self.settings.topics, &report.outbound).await;
            let in_flight = InFlight {
                acks,
                offsets,
                messages: count,
                report,
                started,
                first_received,
            };
            if to_committer.send(in_flight).await.is_err() {
                // The committer stopped on an error; `run` reports it.
                return Ok(());
            }
        }
    }
}

impl<S: StateStore> Pipeline<S> {
    /// Waits up to [`TOPICS_WAIT`] for every topic this pipeline reads or writes to be listed
    /// by the cluster (one just created may take a moment to be), then fails with each one
    /// still missing, as its `[kafka.topics]` field and name. The consumer subscribes only
    /// after this, so its subscription never starts without a topic.
    async fn check_topics(&self) -> Result<(), PipelineError> {
        let topics = &self.settings.topics;
        let mut needed = topics.consumed(self.settings.member_ordered);
        needed.extend([&topics.ledger, &topics.alerts, &topics.dlq].map(String::as_str));
        if self.processor.has_shadow() {
            needed.push(&topics.shadow);
        }
        let named: Vec<(&str, String)> = topics
            .named()
            .into_iter()
            .filter(|(_, topic)| needed.contains(topic))
            .map(|(field, topic)| (field, topic.to_owned()))
            .collect();
        let names: Vec<String> = named.iter().map(|(_, topic)| topic.clone()).collect();
        let probe = self.probe.clone();
        let missing = tokio::task::spawn_blocking(move || {
            let probe: BaseConsumer = probe.create()?;
            let deadline = Instant::now() + TOPICS_WAIT;
            loop {
                let missing = missing_topics(&probe, &names, Duration::from_secs(10))?;
                if missing.is_empty() || Instant::now() >= deadline {
                    return Ok::<_, KafkaError>(missing);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
        .await
        .expect("the metadata lookup does not panic")?;
        if missing.is_empty() {
            return Ok(());
        }
        Err(PipelineError::MissingTopics(
            named
                .into_iter()
                .filter(|(_, topic)| missing.contains(topic))
                .map(|(field, topic)| format!("kafka.topics.{field} = {topic:?}"))
                .collect(),
        ))
    }
}

/// A batch written to the store: its outputs, and the offsets to commit once they are out.
struct Scored {
    report: BatchReport,
    offsets: TopicPartitionList,
    count: usize,
}

impl<S: StateStore> Pipeline<S> {
    /// Scores a batch (or routes its inputs to the owner log, and scores what it read from
    /// there) and writes it to the store, retrying within the budget, after checking the store
    /// lost nothing.
    async fn score(&self, messages: Vec<BorrowedMessage<'_>>) -> Result<Scored, PipelineError> {
        let store = self.processor.store();
        self.processor
            .begin_assignment(self.health.assignment_epoch());
        self.applied
            .check(store, &self.consumer, &self.health)
            .await?;
        let Stages {
            inputs,
            routed,
            mut report,
        } = Stages::of(&messages, &self.settings.topics, &self.processor);
        let rules = self.rules.borrow().clone();
        // Routing new inputs and scoring those read back from the owner log run side by side:
        // while one waits for the store the other works. Routing writes only owner-log messages
        // and the owners it decides (which scoring never reads: a routed input carries its
        // owner); the only state both touch is a card link, which routing reads and a
        // `card_linked` event writes, and a link and a transaction from different partitions
        // never had an order: what routing decided is what the owner log records.
        let processed = with_retries(self.settings.retry_budget, "store", || async {
            let arrived = async {
                if self.settings.member_ordered {
                    self.processor.route(&inputs).await
                } else {
                    self.processor.process(&inputs, &rules).await
                }
            };
            let read_back = async {
                if routed.is_empty() {
                    return Ok(BatchReport::default());
                }
                self.processor.process(&routed, &rules).await
            };
            let (mut report, scored) = tokio::try_join!(arrived, read_back)?;
            report.merge(scored);
            Ok::<_, StoreError>(report)
        })
        .await
        .map_err(|(waited, error)| PipelineError::Store(waited, error))?;
        report.merge(processed);
        if !self.settings.member_ordered || !routed.is_empty() {
            let batch = self.scoring_batches.fetch_add(1, Ordering::Relaxed) + 1;
            if self.fault.crash_after_store_write_of_batch == Some(batch) {
                return Err(PipelineError::InjectedCrash(batch));
            }
        }
        let next = next_positions(&messages);
        self.applied.advance_past(store, &next).await?;
        Ok(Scored {
            report,
            offsets: next_offsets(&next),
            count: messages.len(),
        })
    }
}

/// Commits stored offsets, leaves the group and flushes the producer, within the timeout.
async fn close(
    consumer: Arc<StreamConsumer<PipelineContext>>,
    producer: FutureProducer,
    timeout: Duration,
) {
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

/// Waits for one message, then takes what arrives within `linger`, up to `max` messages.
async fn gather(
    consumer: &StreamConsumer<PipelineContext>,
    max: usize,
    linger: Duration,
) -> Result<Vec<BorrowedMessage<'_>>, KafkaError> {
    let first = consumer.recv().await?;
    Ok(gather_after(consumer, first, max, linger).await)
}

/// `first`, then what arrives within `linger` of it, up to `max` messages.
async fn gather_after<'a>(
    consumer: &'a StreamConsumer<PipelineContext>,
    first: BorrowedMessage<'a>,
    max: usize,
    linger: Duration,
) -> Vec<BorrowedMessage<'a>> {
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
    messages
}

/// Exponential backoff within a time budget: the delay doubles after each wait, up to 5 s.
struct Backoff {
    started: Instant,
    delay: Duration,
    budget: Duration,
}

impl Backoff {
    fn new(first_delay: Duration, budget: Duration) -> Self {
        Backoff {
            started: Instant::now(),
            delay: first_delay,
            budget,
        }
    }

    /// Whether waiting once more would overrun the budget.
    fn exhausted(&self) -> bool {
        self.started.elapsed() + self.delay > self.budget
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Duration::from_secs(5));
    }
}

/// Retries `attempt` with exponential backoff until it succeeds or `budget` has passed.
async fn with_retries<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    budget: Duration,
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> Result<T, (Duration, E)> {
    let mut backoff = Backoff::new(Duration::from_millis(50), budget);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if backoff.exhausted() => return Err((backoff.elapsed(), error)),
            Err(error) => {
                tracing::warn!(%error, delay = ?backoff.delay, "{what} failed; retrying the batch");
                backoff.wait().await;
            }
        }
    }
}

/// Queues every output in the producer, in order, waiting while its queue is full. Returns
/// one delivery future per output (or the error that kept it out of the queue).
async fn enqueue(
    producer: &FutureProducer,
    topics: &Topics,
    outbound: &[Outbound],
) -> Vec<Result<DeliveryFuture, KafkaError>> {
    let mut acks = Vec::with_capacity(outbound.len());
    for message in outbound {
        let mut record = FutureRecord::to(topics.output(message.destination))
            .key(&message.key)
            .payload(&message.payload);
        if let Some(origin) = &message.origin {
            record = record.headers(origin_headers(origin));
            if let Some(timestamp) = origin.timestamp_ms {
                record = record.timestamp(timestamp);
            }
        }
        let queued = loop {
            match producer.send_result(record) {
                Ok(delivery) => break Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((error, _)) => break Err(error),
            }
        };
        acks.push(queued);
    }
    acks
}

fn origin_headers(origin: &Origin) -> OwnedHeaders {
    origin
        .headers()
        .iter()
        .fold(OwnedHeaders::new(), |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value.as_slice()),
            })
        })
}

/// The committer: for each batch in order, waits for its acknowledgements (sending again what
/// failed), then stores its offsets. Ends when the loop stops sending, or on a failure that
/// outlasts the retry budget.
async fn commit_in_order(
    mut batches: mpsc::Receiver<InFlight>,
    consumer: Arc<StreamConsumer<PipelineContext>>,
    producer: FutureProducer,
    settings: RunnerSettings,
    health: Arc<Health>,
) -> Result<RunSummary, PipelineError> {
    let mut summary = RunSummary::default();
    while let Some(batch) = batches.recv().await {
        let failed = failures(batch.acks.into_iter().zip(&batch.report.outbound)).await;
        if !failed.is_empty() {
            publish(&producer, &settings.topics, failed, settings.retry_budget).await?;
        }
        if let Err(error) = consumer.store_offsets(&batch.offsets) {
            tracing::warn!(%error, "offsets not stored (partitions revoked?); the batch will be replayed harmlessly");
        }
        events::batch_completed(&batch.report, batch.messages, batch.started.elapsed());
        health.record_progress(batch.messages as u64 - batch.report.routed);
        summary.add(&batch.report, batch.messages);
        summary.active = batch.first_received.elapsed();
    }
    Ok(summary)
}

/// The outputs whose delivery failed, with the first error.
async fn failures<'a>(
    acks: impl Iterator<Item = (Result<DeliveryFuture, KafkaError>, &'a Outbound)>,
) -> Vec<(&'a Outbound, String)> {
    let mut failed = Vec::new();
    for (ack, message) in acks {
        let outcome = match ack {
            Err(error) => Err(error.to_string()),
            Ok(delivery) => match delivery.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((error, _))) => Err(error.to_string()),
                Err(_) => Err("producer dropped the delivery report".to_owned()),
            },
        };
        if let Err(error) = outcome {
            failed.push((message, error));
        }
    }
    failed
}

/// Sends `failed` outputs again until every one is acknowledged or `budget` has passed.
async fn publish(
    producer: &FutureProducer,
    topics: &Topics,
    failed: Vec<(&Outbound, String)>,
    budget: Duration,
) -> Result<(), PipelineError> {
    let mut first_error = failed
        .first()
        .map(|(_, error)| error.clone())
        .unwrap_or_default();
    let mut pending: Vec<Outbound> = failed
        .into_iter()
        .map(|(message, _)| message.clone())
        .collect();
    let mut backoff = Backoff::new(Duration::from_millis(100), budget);
    while !pending.is_empty() {
        events::publish_failed(pending.len() as u64);
        if backoff.exhausted() {
            return Err(PipelineError::Publish {
                failed: pending.len(),
                waited: backoff.elapsed(),
                first: first_error,
            });
        }
        tracing::warn!(failed = pending.len(), error = %first_error, "outputs not acknowledged; sending again");
        backoff.wait().await;
        let acks = enqueue(producer, topics, &pending).await;
        let still = failures(acks.into_iter().zip(&pending)).await;
        if let Some((_, error)) = still.first() {
            first_error = error.clone();
        }
        pending = still
            .into_iter()
            .map(|(message, _)| message.clone())
            .collect();
    }
    Ok(())
}

/// The offset after the last message of each partition in the batch.
fn next_positions(messages: &[BorrowedMessage<'_>]) -> BTreeMap<Partition, i64> {
    let mut next: BTreeMap<Partition, i64> = BTreeMap::new();
    for message in messages {
        let entry = next
            .entry((message.topic().to_owned(), message.partition()))
            .or_default();
        *entry = (*entry).max(message.offset() + 1);
    }
    next
}

/// `next` as offsets to commit. A partition revoked meanwhile refuses the store; its new
/// owner replays the batch and the transaction records make that harmless.
fn next_offsets(next: &BTreeMap<Partition, i64>) -> TopicPartitionList {
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        if let Err(error) = offsets.add_partition_offset(topic, *partition, Offset::Offset(*offset))
        {
            tracing::warn!(%error, topic, partition, "cannot record offset");
        }
    }
    offsets
}

impl RunSummary {
    fn add(&mut self, report: &BatchReport, messages: usize) {
        self.batches += 1;
        self.messages += messages as u64 - report.routed;
        self.routed += report.routed;
        self.scored += report.scored;
        self.replayed += report.replayed;
        for (kind, count) in &report.dead_lettered {
            *self.dead_lettered.entry((*kind).to_owned()).or_default() += count;
        }
        for (flow, points) in &report.points {
            *self.points.entry((*flow).to_owned()).or_default() += points;
        }
        let counts = report.outputs_by_destination();
        self.alerts += counts[Destination::Alerts as usize];
        self.outputs += counts.iter().sum::<u64>() - counts[Destination::ByOwner as usize];
        if self.samples.len() < Destination::ALL.len() - 1 {
            let published = report
                .outbound
                .iter()
                .filter(|message| message.destination != Destination::ByOwner);
            for message in published {
                self.samples
                    .entry(message.destination.as_str())
                    .or_insert_with(|| message.payload.clone());
            }
        }
    }
}
