//! The exactly-once loop (`kafka.exactly_once`): each batch is scored and written to the store
//! as in the default loop, then its outputs and its input offsets commit in one Kafka
//! transaction. A `read_committed` consumer sees each output once: a crash before the commit
//! aborts the transaction (the restarted instance, with the same transactional id, aborts it
//! at once), the batch is consumed again, and the store's records turn it into the same
//! outputs in a new transaction.
//!
//! Zombies are fenced by the consumer group's generation (the offsets carry the group
//! metadata): an instance that lost its partitions cannot commit a transaction for them. A
//! batch gathered across a rebalance is dropped and its partitions rewound, since the new
//! assignment restarts them from the committed offsets and the batch could hold a message
//! twice.

use super::*;
use rdkafka::error::KafkaResult;

/// How long one transactional call (init, offsets, commit, abort) may block.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What a failed transactional call leaves us to do.
enum Recovery {
    /// Call it again (a timeout, a coordinator moving).
    Retry,
    /// Abort the transaction and send the batch's outputs again in a new one.
    Abort,
    /// The producer is unusable (fenced by another instance with the same transactional id).
    Fatal,
}

fn recovery(error: &KafkaError) -> Recovery {
    match error {
        KafkaError::Transaction(error) if error.is_fatal() => Recovery::Fatal,
        KafkaError::Transaction(error) if error.txn_requires_abort() => Recovery::Abort,
        KafkaError::Transaction(error) if error.is_retriable() => Recovery::Retry,
        KafkaError::Transaction(_) => Recovery::Fatal,
        _ => Recovery::Abort,
    }
}

/// Runs a blocking producer or consumer call off the async workers.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> KafkaResult<T> + Send + 'static,
) -> KafkaResult<T> {
    tokio::task::spawn_blocking(call)
        .await
        .unwrap_or_else(|_| Err(KafkaError::Canceled))
}

impl<S: StateStore> Pipeline<S> {
    pub(super) async fn consume_transactionally(
        &self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunSummary, PipelineError> {
        let producer = self.producer.clone();
        blocking(move || producer.init_transactions(CALL_TIMEOUT))
            .await
            .map_err(PipelineError::Transaction)?;
        let mut shutdown = std::pin::pin!(shutdown);
        let mut summary = RunSummary::default();
        let mut first_received: Option<Instant> = None;
        loop {
            let received = tokio::select! {
                biased;
                _ = &mut shutdown => return Ok(summary),
                received = self.consumer.recv() => received,
            };
            let first = match received {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, "consume error");
                    continue;
                }
            };
            // A rebalance served before the first message already shaped what it is; one
            // served while gathering the rest may have restarted a partition of this batch.
            let epoch = self.health.assignment_epoch();
            let messages = gather_after(
                &self.consumer,
                first,
                self.settings.max_batch,
                self.settings.linger,
            )
            .await;
            if self.health.assignment_epoch() != epoch {
                self.rewind(&messages).await;
                continue;
            }
            let first_received = *first_received.get_or_insert_with(Instant::now);
            let started = Instant::now();
            let Scored {
                report,
                offsets,
                count,
            } = self.score(messages).await?;
            self.commit_batch(&report.outbound, offsets).await?;
            events::batch_completed(&report, count, started.elapsed());
            self.health.record_progress(count as u64);
            summary.add(&report, count);
            summary.active = first_received.elapsed();
        }
    }

    /// Puts each partition of a dropped batch back at the batch's first message, so the next
    /// gather reads it again (a partition no longer assigned refuses, and needs nothing).
    async fn rewind(&self, messages: &[BorrowedMessage<'_>]) {
        let mut first: HashMap<(String, i32), i64> = HashMap::new();
        for message in messages {
            let entry = first
                .entry((message.topic().to_owned(), message.partition()))
                .or_insert(message.offset());
            *entry = (*entry).min(message.offset());
        }
        tracing::info!(
            messages = messages.len(),
            "rebalanced while gathering: batch dropped, to be read again"
        );
        for ((topic, partition), offset) in first {
            let consumer = self.consumer.clone();
            let sought = blocking(move || {
                consumer.seek(
                    &topic,
                    partition,
                    Offset::Offset(offset),
                    Duration::from_secs(5),
                )
            })
            .await;
            if let Err(error) = sought {
                tracing::debug!(%error, partition, "not rewound (no longer assigned?)");
            }
        }
    }

    /// Publishes `outbound` and commits `offsets` in one transaction, aborting and starting
    /// over on an abortable error, until it commits or the retry budget is spent.
    async fn commit_batch(
        &self,
        outbound: &[Outbound],
        offsets: TopicPartitionList,
    ) -> Result<(), PipelineError> {
        let mut backoff = Backoff::new(Duration::from_millis(100), self.settings.retry_budget);
        loop {
            let error = match self.transaction(outbound, &offsets).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            if matches!(recovery(&error), Recovery::Fatal) || backoff.exhausted() {
                return Err(PipelineError::Transaction(error));
            }
            events::publish_failed(outbound.len() as u64);
            tracing::warn!(%error, "transaction failed; aborting and sending the batch again");
            let producer = self.producer.clone();
            if let Err(abort) = blocking(move || producer.abort_transaction(CALL_TIMEOUT)).await {
                if matches!(recovery(&abort), Recovery::Fatal) {
                    return Err(PipelineError::Transaction(abort));
                }
            }
            backoff.wait().await;
        }
    }

    async fn transaction(
        &self,
        outbound: &[Outbound],
        offsets: &TopicPartitionList,
    ) -> KafkaResult<()> {
        self.producer.begin_transaction()?;
        let acks = enqueue(&self.producer, &self.settings.topics, outbound).await;
        if let Some(Err(error)) = acks.into_iter().find(Result::is_err) {
            return Err(error);
        }
        let metadata = self
            .consumer
            .group_metadata()
            .ok_or(KafkaError::MessageProduction(RDKafkaErrorCode::State))?;
        let producer = self.producer.clone();
        let offsets = offsets.clone();
        blocking(move || {
            retrying(|| producer.send_offsets_to_transaction(&offsets, &metadata, CALL_TIMEOUT))?;
            retrying(|| producer.commit_transaction(CALL_TIMEOUT))
        })
        .await
    }
}

/// Calls `call` again while it fails with a retriable error (at most a few times: each call
/// already waits up to its timeout).
fn retrying(mut call: impl FnMut() -> KafkaResult<()>) -> KafkaResult<()> {
    let mut attempts = 0;
    loop {
        match call() {
            Err(error) if matches!(recovery(&error), Recovery::Retry) && attempts < 3 => {
                attempts += 1;
                tracing::warn!(%error, "transactional call failed; retrying it");
            }
            outcome => return outcome,
        }
    }
}
