//! Service configuration: a TOML file (every field optional, unknown fields rejected), then
//! environment overrides, then validation into [`Config`]. A bad value fails at start with a
//! message naming the field.
//!
//! - [`file`]: the file's serde shape, one documented field per setting.

mod file;

use crate::kafka::KafkaSettings;
use crate::pipeline::runner::RunnerSettings;
use crate::pipeline::ProcessorSettings;
use crate::pipeline::Topics;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use file::ConfigFile;

/// Environment variables that override the file, and the field each one sets.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("TXSCORE_BROKERS", "kafka.brokers"),
    ("TXSCORE_GROUP_ID", "kafka.group_id"),
    ("TXSCORE_TRANSACTIONAL_ID", "kafka.transactional_id"),
    ("TXSCORE_REDIS_URL", "redis.url"),
    ("TXSCORE_METRICS_ADDR", "http.addr"),
    ("TXSCORE_API_TOKEN", "http.api_token"),
    ("TXSCORE_RULES", "rules"),
    (
        "TXSCORE_KAFKA_SASL_USERNAME",
        "kafka.client.\"sasl.username\"",
    ),
    (
        "TXSCORE_KAFKA_SASL_PASSWORD",
        "kafka.client.\"sasl.password\"",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Syntax {
        path: String,
        source: toml::de::Error,
    },
    #[error("config field `{field}`: {reason}")]
    Invalid { field: String, reason: String },
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Validated configuration. Its `Debug` output hides the Redis password and secret Kafka
/// settings, so it can be logged.
#[derive(Clone)]
pub struct Config {
    pub kafka: KafkaSettings,
    pub redis_url: String,
    /// `redis_url` lists Redis Cluster seed nodes.
    pub redis_cluster: bool,
    pub key_prefix: String,
    pub redis_timeout: Duration,
    pub processor: ProcessorSettings,
    pub runner: RunnerSettings,
    pub http_addr: SocketAddr,
    /// Bearer token of the query API; the API is not served without one.
    pub api_token: Option<String>,
    /// How often the liability gauges are recounted; never when `None`.
    pub liability_scan: Option<Duration>,
    pub stall_timeout: Duration,
    /// Rules file or directory; the shipped default rules when `None`.
    pub rules: Option<PathBuf>,
    /// How often a configured rules path is checked for changes.
    pub rules_poll: Duration,
    /// Candidate rules scored beside the live ones, never credited.
    pub shadow_rules: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("kafka", &self.kafka)
            .field(
                "redis_url",
                &self
                    .redis_url
                    .split(',')
                    .map(redact_url)
                    .collect::<Vec<_>>(),
            )
            .field("redis_cluster", &self.redis_cluster)
            .field("key_prefix", &self.key_prefix)
            .field("redis_timeout", &self.redis_timeout)
            .field("processor", &self.processor)
            .field("runner", &self.runner)
            .field("http_addr", &self.http_addr)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("liability_scan", &self.liability_scan)
            .field("stall_timeout", &self.stall_timeout)
            .field("rules", &self.rules)
            .field("rules_poll", &self.rules_poll)
            .field("shadow_rules", &self.shadow_rules)
            .finish()
    }
}

/// A URL with any password replaced: `redis://user:secret@host` becomes `redis://user:<redacted>@host`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = credentials.split_once(':').map_or("", |(user, _)| user);
    if credentials.contains(':') {
        format!("{scheme}://{user}:<redacted>@{host}")
    } else {
        format!("{scheme}://<redacted>@{host}")
    }
}

impl Config {
    /// Reads `path` (or starts from defaults), applies the environment, validates.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let file = match path {
            Some(path) => ConfigFile::read(path)?,
            None => ConfigFile::default(),
        };
        file.with_env(|name| std::env::var(name).ok()).validate()
    }

    pub fn topics(&self) -> &Topics {
        &self.runner.topics
    }
}
