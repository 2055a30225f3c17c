//! An in-process Kafka-protocol broker: librdkafka's mock cluster, listening on loopback.
//! It speaks the real protocol (produce, idempotence, consumer groups, offset commits), so the
//! pipeline runs against it unchanged. It keeps only a few MiB per partition.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

pub struct EmbeddedKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

/// The broker could not be started or a topic not created.
#[derive(Debug, thiserror::Error)]
#[error("embedded broker: {0}")]
pub struct EmbeddedKafkaError(#[from] rdkafka::error::KafkaError);

impl EmbeddedKafka {
    /// Starts a broker with the given topics and partition counts.
    pub fn start(topics: &[(&str, i32)]) -> Result<EmbeddedKafka, EmbeddedKafkaError> {
        let cluster = MockCluster::new(1)?;
        for (topic, partitions) in topics {
            cluster.create_topic(topic, *partitions, 1)?;
        }
        Ok(EmbeddedKafka { cluster })
    }

    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// The underlying mock cluster, for fault injection in tests.
    pub fn cluster(&self) -> &MockCluster<'static, DefaultProducerContext> {
        &self.cluster
    }
}
