//! The configuration file's shape. Every section and field is optional; defaults suit a local
//! Kafka and Redis. The raw file holds secrets, so it has no `Debug`: log [`Config`] instead.

use super::{invalid, Config, ConfigError, ENV_OVERRIDES};
use crate::kafka::{KafkaSettings, MANAGED_SETTINGS};
use crate::pipeline::runner::RunnerSettings;
use crate::pipeline::ProcessorSettings;
use crate::pipeline::Topics;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    pub kafka: KafkaFile,
    pub redis: RedisFile,
    pub pipeline: PipelineFile,
    pub http: HttpFile,
    pub metrics: MetricsFile,
    /// Rules: one TOML file, or a directory of versioned files; the shipped rules when absent.
    pub rules: Option<PathBuf>,
    /// How often the rules path is read again for changes (SIGHUP reads it at once).
    pub rules_poll_secs: u64,
    /// A candidate rules file or directory scored beside the live rules on every transaction,
    /// its comparison published on the shadow topic and nothing credited.
    pub shadow_rules: Option<PathBuf>,
}

impl Default for ConfigFile {
    fn default() -> Self {
        ConfigFile {
            kafka: KafkaFile::default(),
            redis: RedisFile::default(),
            pipeline: PipelineFile::default(),
            http: HttpFile::default(),
            metrics: MetricsFile::default(),
            rules: None,
            rules_poll_secs: 10,
            shadow_rules: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaFile {
    /// bootstrap.servers: comma-separated host:port list.
    pub brokers: String,
    /// Consumer group shared by all instances.
    pub group_id: String,
    pub topics: Topics,
    /// librdkafka settings passed through as given, e.g. "security.protocol" = "SASL_SSL",
    /// "sasl.mechanism", "sasl.username", "sasl.password", "ssl.ca.location".
    pub client: BTreeMap<String, String>,
    /// Publish each batch's outputs and commit its input offsets in one Kafka transaction, so
    /// a `read_committed` consumer sees every ledger event, alert and DLQ record once.
    pub exactly_once: bool,
    /// The producer's transactional.id under exactly_once: unique among running instances and
    /// the same across one instance's restarts (a StatefulSet pod name), so a restarted
    /// instance aborts what its predecessor left open. Default: `<group_id>-<hostname>`.
    pub transactional_id: Option<String>,
}

impl Default for KafkaFile {
    fn default() -> Self {
        KafkaFile {
            brokers: "localhost:9092".into(),
            group_id: "txscore".into(),
            topics: Topics::default(),
            client: BTreeMap::new(),
            exactly_once: false,
            transactional_id: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisFile {
    /// redis:// or rediss:// URL, credentials included (never logged); with `cluster`, a
    /// comma-separated list of seed nodes.
    pub url: String,
    /// Whether `url` names Redis Cluster nodes.
    pub cluster: bool,
    /// Prefix of every key, so deployments can share a Redis.
    pub key_prefix: String,
    /// Per-command response and connect timeout.
    pub timeout_ms: u64,
    /// Days an applied-transaction record is kept: the horizon for replays and refunds.
    pub txn_record_ttl_days: u64,
    /// Ledger events kept per member for the query API (0: none).
    pub ledger_retention: usize,
}

impl Default for RedisFile {
    fn default() -> Self {
        RedisFile {
            url: "redis://127.0.0.1:6379".into(),
            cluster: false,
            key_prefix: "txscore".into(),
            timeout_ms: 2000,
            txn_record_ttl_days: 400,
            ledger_retention: 200,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineFile {
    /// Most messages per batch.
    pub max_batch: usize,
    /// How long to wait for more messages after the first of a batch. 0 takes what has
    /// arrived and waits for nothing more: under load, the messages that arrive while one batch
    /// is scored make the next one, so batches grow with the load by themselves.
    pub linger_ms: u64,
    /// Batches whose outputs may await acknowledgement while the next ones are scored.
    pub max_in_flight: usize,
    /// Parts a batch's owners are scored in, each written while the next is scored.
    pub store_concurrency: usize,
    /// State documents (accounts, cards) kept in memory between batches; 0 reads every
    /// batch's state from Redis.
    pub owned_state_entries: usize,
    /// Memory those documents may take (their keys and texts), in MiB: an account grows with
    /// its member's activity window, from a few hundred bytes to tens of kilobytes.
    pub owned_state_mib: usize,
    /// Whether every input is first routed to the owner log (`kafka.topics.by_owner`), keyed by
    /// its member, and scored from there: each member's inputs then have one order, the same on
    /// every replay and for any number of instances. Costs a second pass through Kafka.
    pub member_ordered: bool,
    /// Whether cards linked to a household or company pool earn into it even when their
    /// transactions name their own member (one extra Redis read per batch).
    pub pooled_cards: bool,
    /// Larger messages go to the DLQ.
    pub max_message_bytes: usize,
    /// Inputs whose event time is further ahead of the broker's timestamp for their record go
    /// to the DLQ; 0 accepts any lead.
    pub max_event_lead_secs: u64,
    /// How much of a rejected payload its DLQ record keeps.
    pub dlq_original_bytes: usize,
    /// How long a batch may keep failing (store or brokers) before the process exits.
    pub retry_budget_secs: u64,
    /// Liveness fails after this long with lag and no progress.
    pub stall_timeout_secs: u64,
    /// Bound on the final commit and leaving the group.
    pub shutdown_timeout_secs: u64,
}

impl Default for PipelineFile {
    fn default() -> Self {
        PipelineFile {
            max_batch: 500,
            linger_ms: 0,
            max_in_flight: 4,
            store_concurrency: 2,
            owned_state_entries: 100_000,
            owned_state_mib: 256,
            member_ordered: true,
            pooled_cards: false,
            max_message_bytes: 64 * 1024,
            max_event_lead_secs: 86_400,
            dlq_original_bytes: 16 * 1024,
            retry_budget_secs: 120,
            stall_timeout_secs: 300,
            shutdown_timeout_secs: 30,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpFile {
    /// host:port for /metrics, /healthz, /readyz and the query API.
    pub addr: String,
    /// Bearer token the query API (/members, /cards) requires; the API is off without one.
    pub api_token: Option<String>,
}

impl Default for HttpFile {
    fn default() -> Self {
        HttpFile {
            addr: "127.0.0.1:9464".into(),
            api_token: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsFile {
    /// How often the points liability (txscore_points_outstanding, txscore_members) is
    /// recounted by scanning every account; 0 turns the scan off (run it on one instance).
    pub liability_scan_secs: u64,
}

impl Default for MetricsFile {
    fn default() -> Self {
        MetricsFile {
            liability_scan_secs: 300,
        }
    }
}

impl ConfigFile {
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Syntax {
            path: path.display().to_string(),
            source,
        })
    }

    /// Applies the environment overrides in [`ENV_OVERRIDES`], looked up through `lookup`.
    pub fn with_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> ConfigFile {
        for (name, field) in ENV_OVERRIDES {
            let Some(value) = lookup(name) else { continue };
            match *field {
                "kafka.brokers" => self.kafka.brokers = value,
                "kafka.group_id" => self.kafka.group_id = value,
                "kafka.transactional_id" => self.kafka.transactional_id = Some(value),
                "redis.url" => self.redis.url = value,
                "http.addr" => self.http.addr = value,
                "http.api_token" => self.http.api_token = Some(value),
                "rules" => self.rules = Some(value.into()),
                "kafka.client.\"sasl.username\"" => {
                    self.kafka.client.insert("sasl.username".into(), value);
                }
                "kafka.client.\"sasl.password\"" => {
                    self.kafka.client.insert("sasl.password".into(), value);
                }
                other => unreachable!("override for unknown field {other}"),
            }
        }
        self
    }

    pub fn validate(self) -> Result<Config, ConfigError> {
        let kafka = self.kafka;
        non_empty("kafka.brokers", &kafka.brokers)?;
        non_empty("kafka.group_id", &kafka.group_id)?;
        for (name, topic) in kafka.topics.named() {
            non_empty(&format!("kafka.topics.{name}"), topic)?;
        }
        if let Some(key) = kafka
            .client
            .keys()
            .find(|key| MANAGED_SETTINGS.contains(&key.as_str()))
        {
            return Err(invalid(
                format!("kafka.client.\"{key}\""),
                "is managed by txscore (use the kafka section's own fields, or leave it out)",
            ));
        }
        let reset = kafka.client.get("auto.offset.reset").map(String::as_str);
        if self.pipeline.member_ordered && reset.is_some_and(|reset| reset != "earliest") {
            return Err(invalid(
                "kafka.client.\"auto.offset.reset\"",
                "must be `earliest` with pipeline.member_ordered: where the group has no offset \
                 on the owner log (new, or expired), starting anywhere later would skip inputs \
                 already routed there",
            ));
        }
        let redis = self.redis;
        let urls: Vec<&str> = if redis.cluster {
            redis.url.split(',').map(str::trim).collect()
        } else {
            vec![redis.url.as_str()]
        };
        if let Some(bad) = urls
            .iter()
            .find(|url| !(url.starts_with("redis://") || url.starts_with("rediss://")))
        {
            return Err(invalid(
                "redis.url",
                format!(
                    "`{}` must start with redis:// or rediss://{}",
                    super::redact_url(bad),
                    if redis.cluster {
                        ""
                    } else {
                        " (several nodes need redis.cluster = true)"
                    }
                ),
            ));
        }
        non_empty("redis.key_prefix", &redis.key_prefix)?;
        let pipeline = self.pipeline;
        positive("pipeline.max_batch", pipeline.max_batch as u64)?;
        positive("pipeline.max_in_flight", pipeline.max_in_flight as u64)?;
        positive(
            "pipeline.store_concurrency",
            pipeline.store_concurrency as u64,
        )?;
        positive(
            "pipeline.max_message_bytes",
            pipeline.max_message_bytes as u64,
        )?;
        positive("redis.timeout_ms", redis.timeout_ms)?;
        positive("redis.txn_record_ttl_days", redis.txn_record_ttl_days)?;
        positive("rules_poll_secs", self.rules_poll_secs)?;
        let http_addr: SocketAddr = self.http.addr.parse().map_err(|_| {
            invalid(
                "http.addr",
                format!(
                    "`{}` is not a host:port address such as 127.0.0.1:9464",
                    self.http.addr
                ),
            )
        })?;
        if let Some(token) = &self.http.api_token {
            check_api_token(token)?;
        }
        let transactional_id = match (kafka.exactly_once, kafka.transactional_id) {
            (false, None) => None,
            (false, Some(_)) => {
                return Err(invalid(
                    "kafka.transactional_id",
                    "is only used with kafka.exactly_once = true",
                ))
            }
            (true, Some(id)) => {
                non_empty("kafka.transactional_id", &id)?;
                Some(id)
            }
            (true, None) => Some(format!("{}-{}", kafka.group_id, host_name())),
        };
        Ok(Config {
            kafka: KafkaSettings {
                brokers: kafka.brokers,
                group_id: kafka.group_id,
                client: kafka.client,
                transactional_id,
            },
            redis_url: redis.url,
            redis_cluster: redis.cluster,
            key_prefix: redis.key_prefix,
            redis_timeout: Duration::from_millis(redis.timeout_ms),
            processor: ProcessorSettings {
                max_message_bytes: pipeline.max_message_bytes,
                max_event_lead: (pipeline.max_event_lead_secs > 0).then(|| {
                    time::Duration::seconds(
                        i64::try_from(pipeline.max_event_lead_secs).unwrap_or(i64::MAX),
                    )
                }),
                dlq_original_bytes: pipeline.dlq_original_bytes,
                txn_record_ttl: Duration::from_secs(redis.txn_record_ttl_days * 86_400),
                max_conflict_rounds: 8,
                store_concurrency: pipeline.store_concurrency,
                owned_state_entries: pipeline.owned_state_entries,
                owned_state_bytes: pipeline.owned_state_mib.saturating_mul(1 << 20),
                ledger_retention: redis.ledger_retention,
                topics: kafka.topics.clone(),
                pooled_cards: pipeline.pooled_cards,
            },
            runner: RunnerSettings {
                topics: kafka.topics,
                max_batch: pipeline.max_batch,
                linger: Duration::from_millis(pipeline.linger_ms),
                retry_budget: Duration::from_secs(pipeline.retry_budget_secs),
                shutdown_timeout: Duration::from_secs(pipeline.shutdown_timeout_secs),
                max_in_flight: pipeline.max_in_flight,
                member_ordered: pipeline.member_ordered,
            },
            http_addr,
            api_token: self.http.api_token,
            liability_scan: (self.metrics.liability_scan_secs > 0)
                .then(|| Duration::from_secs(self.metrics.liability_scan_secs)),
            stall_timeout: Duration::from_secs(pipeline.stall_timeout_secs),
            rules: self.rules,
            rules_poll: Duration::from_secs(self.rules_poll_secs),
            shadow_rules: self.shadow_rules,
        })
    }
}

/// This machine's name (a pod's name in Kubernetes), for the default transactional id.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "txscore".to_owned())
}

fn non_empty(field: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        Err(invalid(field, "must not be empty"))
    } else {
        Ok(())
    }
}

fn positive(field: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(invalid(field, "must be greater than zero"))
    } else {
        Ok(())
    }
}

/// Shortest accepted query API token.
pub const MIN_API_TOKEN_LEN: usize = 32;

/// Words that mark a token copied from an example rather than generated.
const SAMPLE_TOKEN_MARKERS: [&str; 6] = [
    "change-me",
    "changeme",
    "example",
    "sample",
    "replace",
    "secret",
];

/// Refuses a token too short to resist guessing, or one taken from an example file.
fn check_api_token(token: &str) -> Result<(), ConfigError> {
    if token.chars().count() < MIN_API_TOKEN_LEN {
        return Err(invalid(
            "http.api_token",
            format!(
                "must be at least {MIN_API_TOKEN_LEN} characters: generate one, e.g. with \
                 `openssl rand -hex 32`"
            ),
        ));
    }
    let lower = token.to_ascii_lowercase();
    if let Some(marker) = SAMPLE_TOKEN_MARKERS
        .iter()
        .find(|marker| lower.contains(*marker))
    {
        return Err(invalid(
            "http.api_token",
            format!(
                "looks like a sample value (it contains `{marker}`): generate one, e.g. with \
                 `openssl rand -hex 32`"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let config = ConfigFile::default().validate().unwrap();
        assert_eq!(config.runner.topics.transactions, "transactions");
        assert_eq!(config.http_addr.port(), 9464);
    }

    #[test]
    fn unknown_fields_are_named() {
        let Err(error) = toml::from_str::<ConfigFile>("[redis]\nurll = \"x\"") else {
            panic!("an unknown field was accepted");
        };
        assert!(error.to_string().contains("urll"), "{error}");
    }

    #[test]
    fn invalid_values_name_their_field() {
        let file: ConfigFile = toml::from_str("[http]\naddr = \"nowhere\"").unwrap();
        let error = file.validate().unwrap_err().to_string();
        assert!(error.contains("`http.addr`"), "{error}");

        let file: ConfigFile =
            toml::from_str("[kafka.client]\n\"enable.auto.offset.store\" = \"true\"").unwrap();
        let error = file.validate().unwrap_err().to_string();
        assert!(error.contains("enable.auto.offset.store"), "{error}");
    }

    #[test]
    fn member_order_keeps_the_owner_log_from_being_skipped() {
        let latest = "[kafka.client]\n\"auto.offset.reset\" = \"latest\"\n";
        let file: ConfigFile = toml::from_str(latest).unwrap();
        let error = file.validate().unwrap_err().to_string();
        assert!(error.contains("auto.offset.reset"), "{error}");
        let unordered = format!("{latest}[pipeline]\nmember_ordered = false\n");
        let file: ConfigFile = toml::from_str(&unordered).unwrap();
        assert!(file.validate().is_ok());
        let earliest = "[kafka.client]\n\"auto.offset.reset\" = \"earliest\"\n";
        let file: ConfigFile = toml::from_str(earliest).unwrap();
        assert!(file.validate().is_ok());
    }

    #[test]
    fn exactly_once_takes_a_transactional_id_or_derives_one() {
        let file: ConfigFile = toml::from_str("[kafka]\ntransactional_id = \"a\"").unwrap();
        let error = file.validate().unwrap_err().to_string();
        assert!(error.contains("`kafka.transactional_id`"), "{error}");

        let file: ConfigFile =
            toml::from_str("[kafka]\nexactly_once = true\ngroup_id = \"g\"").unwrap();
        let id = file.validate().unwrap().kafka.transactional_id.unwrap();
        assert!(id.starts_with("g-") && id.len() > 2, "{id}");

        let file: ConfigFile = toml::from_str("[kafka]\nexactly_once = true").unwrap();
        let config = file
            .with_env(|name| (name == "TXSCORE_TRANSACTIONAL_ID").then(|| "pod-0".to_owned()))
            .validate()
            .unwrap();
        assert_eq!(config.kafka.transactional_id.as_deref(), Some("pod-0"));
        let producer = config.kafka.producer_config();
        assert_eq!(producer.get("transactional.id"), Some("pod-0"));
        let consumer = config.kafka.consumer_config();
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(
            ConfigFile::default()
                .validate()
                .unwrap()
                .kafka
                .consumer_config()
                .get("enable.auto.commit"),
            Some("true")
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let file: ConfigFile = toml::from_str(
            "[redis]\nurl = \"rediss://default:hunter2@redis:6380\"\n\
             [kafka.client]\n\"sasl.password\" = \"s3cret\"\n\"sasl.username\" = \"txscore\"\n",
        )
        .unwrap();
        let shown = format!("{:?}", file.validate().unwrap());
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(
            shown.contains("rediss://default:<redacted>@redis:6380"),
            "{shown}"
        );
        assert!(
            shown.contains("txscore"),
            "non-secret settings stay visible: {shown}"
        );
        assert_eq!(
            super::super::redact_url("redis://:pw@host:6379/0"),
            "redis://:<redacted>@host:6379/0"
        );
        assert_eq!(
            super::super::redact_url("redis://host:6379"),
            "redis://host:6379"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let file: ConfigFile = toml::from_str("[kafka]\nbrokers = \"file:9092\"").unwrap();
        let config = file
            .with_env(|name| (name == "TXSCORE_BROKERS").then(|| "env:9092".to_owned()))
            .validate()
            .unwrap();
        assert_eq!(config.kafka.brokers, "env:9092");
    }
}
