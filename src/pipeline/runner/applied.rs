//! The guard against a store that lost acknowledged writes. Beside the state, the store keeps
//! for each input partition the offset up to which it holds the writes: advanced after every
//! batch's write and before the batch's offsets can be committed, it is never behind the
//! consumer group's committed offset unless the store lost data (restarted empty, or from an
//! older snapshot, or failed over to a replica that missed writes).
//!
//! A member's state is touched from every input partition (its cards hash to several, and
//! commands and member events have topics of their own), so a loss on any partition matters
//! to all. After each assignment change the guard reads the committed offsets of every input
//! partition; before each batch is scored, the store must hold at least those, or what this
//! instance has since advanced them to. A store behind stops the pipeline before anything is
//! scored against the lost state or published; `txscore accept-store` is the operator's way
//! on after a restore.

use super::{with_retries, PipelineError};
use crate::health::Health;
use crate::kafka::committed::{committed_offsets_of_topics, Partition};
use crate::kafka::PipelineContext;
use crate::store::{applied, AppliedMark, StateStore};
use rdkafka::consumer::StreamConsumer;
use rdkafka::error::KafkaError;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What this instance knows the store holds, per partition, since its last assignment.
pub struct AppliedGuard {
    key: String,
    /// The input topics.
    inputs: Vec<String>,
    /// How long the store or the group coordinator may fail before the pipeline gives up.
    retry_budget: Duration,
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    /// The assignment epoch the offsets were read in; none before the first read.
    epoch: Option<u64>,
    held: HashMap<Partition, i64>,
}

impl AppliedGuard {
    /// A guard over the store's hash `key` (see [`crate::store::Keyspace::applied`]).
    pub fn new(key: String, inputs: Vec<String>, retry_budget: Duration) -> Self {
        AppliedGuard {
            key,
            inputs,
            retry_budget,
            known: Mutex::default(),
        }
    }

    /// Before a batch is scored: checks the store still holds what it held of every input
    /// partition.
    pub async fn check<S: StateStore>(
        &self,
        store: &S,
        consumer: &Arc<StreamConsumer<PipelineContext>>,
        health: &Health,
    ) -> Result<(), PipelineError> {
        let epoch = health.assignment_epoch();
        let stale = self.known.lock().expect("applied lock").epoch != Some(epoch);
        if stale {
            let committed = self.committed(consumer).await?;
            let mut known = self.known.lock().expect("applied lock");
            *known = Known {
                epoch: Some(epoch),
                held: committed.into_iter().collect(),
            };
        }
        let marks: Vec<AppliedMark> = {
            let known = self.known.lock().expect("applied lock");
            known
                .held
                .iter()
                .filter(|(_, held)| **held >= 0)
                .map(|(partition, held)| AppliedMark {
                    partition: applied::field(&partition.0, partition.1),
                    at_least: *held,
                    next: -1,
                })
                .collect()
        };
        self.advance(store, &marks).await
    }

    /// The group's committed offset of every partition of the input topics.
    async fn committed(
        &self,
        consumer: &Arc<StreamConsumer<PipelineContext>>,
    ) -> Result<Vec<(Partition, i64)>, PipelineError> {
        with_retries(self.retry_budget, "committed-offsets lookup", || {
            let consumer = consumer.clone();
            let inputs = self.inputs.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    committed_offsets_of_topics(consumer.as_ref(), &inputs, Duration::from_secs(10))
                })
                .await
                .unwrap_or(Err(KafkaError::Canceled))
            }
        })
        .await
        .map_err(|(_, error)| PipelineError::Kafka(error))
    }

    /// After a batch's state is written: raises the store's positions to `next`, the offset
    /// after the batch's last message in each partition, checking once more that it holds what
    /// it held before.
    pub async fn advance_past<S: StateStore>(
        &self,
        store: &S,
        next: &BTreeMap<Partition, i64>,
    ) -> Result<(), PipelineError> {
        let marks: Vec<AppliedMark> = {
            let known = self.known.lock().expect("applied lock");
            next.iter()
                .map(|(partition, next)| AppliedMark {
                    partition: applied::field(&partition.0, partition.1),
                    at_least: known.held.get(partition).copied().unwrap_or(-1),
                    next: *next,
                })
                .collect()
        };
        self.advance(store, &marks).await?;
        let mut known = self.known.lock().expect("applied lock");
        for (partition, next) in next {
            let held = known.held.entry(partition.clone()).or_insert(-1);
            *held = (*held).max(*next);
        }
        Ok(())
    }

    async fn advance<S: StateStore>(
        &self,
        store: &S,
        marks: &[AppliedMark],
    ) -> Result<(), PipelineError> {
        let advanced = with_retries(self.retry_budget, "store", || {
            store.advance_applied(&self.key, marks)
        })
        .await
        .map_err(|(waited, error)| PipelineError::Store(waited, error))?;
        match advanced {
            None => Ok(()),
            Some(behind) => Err(PipelineError::StoreBehind(behind)),
        }
    }
}
