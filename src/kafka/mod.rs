//! Kafka edge: client configuration, the consumer context (statistics and rebalances), and the
//! embedded broker used by the demo and the tests.
//!
//! - [`committed`]: the group's committed offsets and the input partitions, read directly.
//! - [`context`]: what librdkafka tells us asynchronously: lag, rebalances, errors.
//! - [`embedded`]: an in-process Kafka-protocol broker (librdkafka's mock cluster).
//! - [`existing`]: which of the topics txscore needs the cluster lacks.

pub mod committed;
pub mod context;
#[cfg(feature = "tools")]
pub mod embedded;
pub mod existing;

use rdkafka::ClientConfig;
use std::collections::BTreeMap;

pub use context::PipelineContext;
#[cfg(feature = "tools")]
pub use embedded::EmbeddedKafka;

/// Client settings txscore manages itself; passing them through would break its guarantees.
pub const MANAGED_SETTINGS: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.offset.store",
    "enable.auto.commit",
    "enable.idempotence",
    "isolation.level",
    "transactional.id",
];

/// How to reach the cluster. Its `Debug` output hides secret client settings.
#[derive(Clone)]
pub struct KafkaSettings {
    pub brokers: String,
    pub group_id: String,
    /// librdkafka settings passed through as given (security.protocol, sasl.*, ssl.*, ...).
    pub client: BTreeMap<String, String>,
    /// Set under exactly-once output: outputs and input offsets commit in Kafka transactions.
    pub transactional_id: Option<String>,
}

/// Whether a librdkafka setting holds a secret (passwords, keys, tokens).
pub fn is_secret_setting(key: &str) -> bool {
    ["password", "secret", "key.pem", "ssl.key", "token", "jaas"]
        .iter()
        .any(|marker| key.contains(marker))
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let client: BTreeMap<&str, &str> = self
            .client
            .iter()
            .map(|(key, value)| {
                let shown = if is_secret_setting(key) {
                    "<redacted>"
                } else {
                    value.as_str()
                };
                (key.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaSettings")
            .field("brokers", &self.brokers)
            .field("group_id", &self.group_id)
            .field("client", &client)
            .field("transactional_id", &self.transactional_id)
            .finish()
    }
}

impl KafkaSettings {
    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.client {
            config.set(key, value);
        }
        config
    }

    /// The consumer: offsets are stored by the pipeline only after outputs are acknowledged,
    /// and committed from there (periodically, on revocation and at shutdown); under
    /// exactly-once they are committed only inside the producer's transactions.
    pub fn consumer_config(&self) -> ClientConfig {
        let mut config = self.base();
        let auto_commit = self.transactional_id.is_none();
        config
            .set("group.id", &self.group_id)
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", auto_commit.to_string())
            .set_default("auto.commit.interval.ms", "1000")
            .set_default("auto.offset.reset", "earliest")
            .set_default("statistics.interval.ms", "5000")
            .set_default("fetch.wait.max.ms", "5")
            .set_default("session.timeout.ms", "10000")
            .set_default("partition.assignment.strategy", "range,roundrobin")
            .set("isolation.level", "read_committed");
        config
    }

    /// A reader of whole topics (reports, re-drives): assigned partitions, no group offsets
    /// committed, committed messages only, and told when it reaches a partition's end (which,
    /// on a topic written in transactions, is a commit marker rather than a message).
    pub fn reader_config(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", format!("{}-reader", self.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("isolation.level", "read_committed")
            .set_default("auto.offset.reset", "earliest");
        config
    }

    /// The producer of one-off commands (`expire`, `redrive`): idempotent, and never
    /// transactional, even under exactly-once, since what they send is not tied to consumed
    /// offsets (a transactional producer refuses to send outside a transaction).
    pub fn command_producer_config(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.idempotence", "true")
            .set_default("acks", "all")
            .set_default("compression.type", "lz4")
            .set_default("message.timeout.ms", "30000");
        config
    }

    /// The producer: idempotent, so retries never duplicate or reorder within a partition;
    /// transactional under exactly-once. It sends without lingering: a batch's outputs are
    /// queued in one burst, so waiting would add latency and gain nothing, and what queues
    /// while a request is in flight still goes out together.
    pub fn producer_config(&self) -> ClientConfig {
        let mut config = self.command_producer_config();
        if let Some(id) = &self.transactional_id {
            config
                .set("transactional.id", id)
                .set_default("transaction.timeout.ms", "60000");
        }
        config.set_default("linger.ms", "0");
        config
    }
}

/// Sets a value only where the user did not.
trait SetDefault {
    fn set_default(&mut self, key: &str, value: &str) -> &mut Self;
}

impl SetDefault for ClientConfig {
    fn set_default(&mut self, key: &str, value: &str) -> &mut Self {
        if self.get(key).is_none() {
            self.set(key, value);
        }
        self
    }
}
