//! An in-process Kafka-protocol broker: librdkafka's mock cluster, listening on loopback.
//! It speaks the real protocol (produce, idempotence, consumer groups, offset commits), so the
//! pipeline runs against it unchanged. It keeps only a few MiB per partition.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use std::collections::BTreeMap;

pub struct EmbeddedKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

/// The broker could not be started or a topic not created.
#[derive(Debug, thiserror::Error)]
#[error("embedded broker: {0}")]
pub struct EmbeddedKafkaError(#[from] rdkafka::error::KafkaError);

/// Bytes the embedded broker keeps per partition before it drops the oldest (librdkafka's mock
/// keeps about 5 MiB); sizing stays well below it.
const SAFE_BYTES_PER_PARTITION: usize = 3 << 20;

impl EmbeddedKafka {
    /// Partitions needed for `bytes` of messages (never fewer than `minimum`) so that none is
    /// dropped before it is consumed.
    pub fn partitions_for(bytes: usize, minimum: i32) -> i32 {
        ((bytes / SAFE_BYTES_PER_PARTITION) as i32 + 1).max(minimum)
    }

    /// Starts a broker with the given topics and partition counts.
    pub fn start(topics: &[(&str, i32)]) -> Result<EmbeddedKafka, EmbeddedKafkaError> {
        let cluster = MockCluster::new(1)?;
        for (topic, partitions) in topics {
            cluster.create_topic(topic, *partitions, 1)?;
        }
        Ok(EmbeddedKafka { cluster })
    }

    /// Client settings for this broker, beside its address. It answers a fetch that finds
    /// nothing new only when the client's whole `fetch.wait.max.ms` has passed, where a real
    /// broker answers as soon as a message arrives; so its consumers ask again after 1 ms
    /// rather than the pipeline's 5, which two hops through it (input, then owner log) would
    /// otherwise add to every message's latency.
    pub fn client_settings() -> BTreeMap<String, String> {
        BTreeMap::from([("fetch.wait.max.ms".to_owned(), "1".to_owned())])
    }

    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// The underlying mock cluster, for fault injection in tests.
    pub fn cluster(&self) -> &MockCluster<'static, DefaultProducerContext> {
        &self.cluster
    }
}
