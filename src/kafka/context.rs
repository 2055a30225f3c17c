//! The consumer context: turns librdkafka's statistics into lag metrics and health, and
//! rebalances into metrics and log lines.

use crate::health::Health;
use crate::telemetry::events;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use std::sync::Arc;

pub struct PipelineContext {
    health: Arc<Health>,
}

impl PipelineContext {
    pub fn new(health: Arc<Health>) -> Self {
        PipelineContext { health }
    }
}

impl ClientContext for PipelineContext {
    fn stats(&self, statistics: Statistics) {
        let mut total = 0;
        for (name, topic) in &statistics.topics {
            for (partition, stats) in &topic.partitions {
                // Partition -1 is librdkafka's internal unassigned queue; a negative lag means
                // "unknown" (no committed offset or watermark yet).
                if *partition < 0 || stats.consumer_lag < 0 {
                    continue;
                }
                events::consumer_lag(name, *partition, stats.consumer_lag);
                total += stats.consumer_lag;
            }
        }
        self.health.record_lag(total);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka client error");
    }
}

impl ConsumerContext for PipelineContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                events::rebalance("revoke");
                self.health
                    .record_assignment_change(-(partitions.count() as i64));
                tracing::info!(partitions = partitions.count(), "partitions revoked");
            }
            Rebalance::Assign(partitions) => {
                events::rebalance("assign");
                tracing::info!(partitions = partitions.count(), "partitions assigned");
            }
            Rebalance::Error(error) => {
                events::rebalance("error");
                tracing::warn!(%error, "rebalance error");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            self.health
                .record_assignment_change(partitions.count() as i64);
        }
    }
}
