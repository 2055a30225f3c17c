//! Test harness: a Kafka broker (Apache Kafka started from Maven's copy, see [`kafka`]; an
//! external one via TXSCORE_TEST_BROKERS; librdkafka's mock cluster with
//! TXSCORE_TEST_KAFKA=mock), a real redis-server on a free port, per-test topics, and helpers to
//! run pipelines and read what they published.

#![allow(dead_code)]

pub mod exact;
pub mod kafka;
pub mod reading;
pub mod service;

pub use reading::*;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use txscore::config::{Config, ConfigFile};
use txscore::health::Health;
use txscore::kafka::EmbeddedKafka;
use txscore::local_redis::LocalRedis;
use txscore::pipeline::{
    BatchProcessor, FaultInjection, Pipeline, PipelineError, RunSummary, Topics,
};
use txscore::rules::{RuleBook, RuleSet, RulesFeed};
use txscore::store::{Keyspace, RedisStore, StateStore};
use txscore::synth::SyntheticMessage;

/// GET `path` from `addr` with extra `headers`: (status code, body). `None` if the server
/// cannot be reached or answers something that is not HTTP.
pub fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// Which broker the integration tests use.
enum BrokerKind {
    /// `TXSCORE_TEST_BROKERS=host:port`: one already running.
    External(String),
    /// The default: Apache Kafka, one per test binary.
    ApacheKafka,
    /// `TXSCORE_TEST_KAFKA=mock`: librdkafka's in-process mock cluster, one per test.
    Mock,
}

impl BrokerKind {
    fn chosen() -> BrokerKind {
        if let Ok(brokers) = std::env::var("TXSCORE_TEST_BROKERS") {
            return BrokerKind::External(brokers);
        }
        match std::env::var("TXSCORE_TEST_KAFKA").as_deref() {
            Ok("mock") => BrokerKind::Mock,
            Ok("apache") | Err(_) => BrokerKind::ApacheKafka,
            Ok(other) => panic!("TXSCORE_TEST_KAFKA={other}: use \"apache\" or \"mock\""),
        }
    }
}

/// A broker for one test, and that test's topic names.
pub struct Broker {
    embedded: Option<EmbeddedKafka>,
    pub brokers: String,
    /// Partitions of each topic.
    pub partitions: i32,
    pub topics: Topics,
    pub group: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

struct TopicNames {
    topics: Topics,
    group: String,
}

/// Names unique to this process and call, so tests can share a broker.
fn topic_names(test: &str) -> TopicNames {
    let unique = format!(
        "{test}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let topics = Topics::prefixed(&format!("{unique}-"));
    TopicNames {
        topics,
        group: format!("{unique}-group"),
    }
}

impl Broker {
    /// Topics named after `test` (made unique, so an external broker can be shared), on the
    /// broker the environment chooses.
    pub async fn start(test: &str, partitions: i32) -> Broker {
        let names = topic_names(test);
        match BrokerKind::chosen() {
            BrokerKind::External(brokers) => Broker::on(&brokers, names, partitions).await,
            BrokerKind::ApacheKafka => {
                let brokers = tokio::task::spawn_blocking(|| {
                    kafka::ApacheKafka::shared().bootstrap_servers()
                })
                .await
                .expect("broker starts");
                Broker::on(&brokers, names, partitions).await
            }
            BrokerKind::Mock => {
                let topics: Vec<(&str, i32)> = names
                    .topics
                    .all()
                    .into_iter()
                    .map(|name| (name, partitions))
                    .collect();
                let embedded = EmbeddedKafka::start(&topics).expect("embedded broker starts");
                let brokers = embedded.bootstrap_servers();
                Broker::named(Some(embedded), brokers, names, partitions)
            }
        }
    }

    /// The topics for `test`, created on `kafka` (a broker of the test's own).
    pub async fn start_on(kafka: &kafka::ApacheKafka, test: &str, partitions: i32) -> Broker {
        Broker::on(&kafka.bootstrap_servers(), topic_names(test), partitions).await
    }

    async fn on(brokers: &str, names: TopicNames, partitions: i32) -> Broker {
        create_topics(brokers, &names.topics.all(), partitions).await;
        Broker::named(None, brokers.to_owned(), names, partitions)
    }

    fn named(
        embedded: Option<EmbeddedKafka>,
        brokers: String,
        names: TopicNames,
        partitions: i32,
    ) -> Broker {
        Broker {
            embedded,
            brokers,
            partitions,
            topics: names.topics,
            group: names.group,
        }
    }

    /// Waits (up to three minutes) until this test's group has committed all of `topic`, and
    /// then all of the owner log, where what it routed from `topic` is scored.
    pub fn wait_consumed(&self, topic: &str) {
        for topic in [topic, &self.topics.by_owner] {
            wait_caught_up(&self.brokers, &self.group, topic, Duration::from_secs(180));
        }
    }

    pub fn embedded(&self) -> Option<&EmbeddedKafka> {
        self.embedded.as_ref()
    }

    /// Service configuration pointing at this broker and `redis`.
    pub fn config(&self, redis: &LocalRedis, max_batch: usize) -> Config {
        let mut file = ConfigFile::default();
        file.kafka.brokers = self.brokers.clone();
        file.kafka.group_id = self.group.clone();
        file.kafka.topics = self.topics.clone();
        file.redis.url = redis.url();
        file.pipeline.max_batch = max_batch;
        file.pipeline.retry_budget_secs = 20;
        file.pipeline.shutdown_timeout_secs = 10;
        file.http.addr = "127.0.0.1:0".into();
        file.validate().expect("test configuration is valid")
    }

    /// Produces `messages` to the transactions topic, each on its owner's partition (the member
    /// it names, else its card; the key stays the card), so that each owner's inputs have one
    /// order, the order of `messages`, and a serial reference run can predict every rule that
    /// depends on it (caps, tiers, thresholds, first purchases, abuse patterns). Keyed by card,
    /// a member's cards land on different partitions and interleave in an order nothing
    /// predicts; [`Broker::feed_by_card`] does that, for the tests of order-independence.
    pub async fn feed(&self, messages: &[SyntheticMessage]) {
        let partitions = messages
            .iter()
            .map(|message| Some(owner_partition(message, self.partitions)))
            .collect::<Vec<_>>();
        produce(
            &self.brokers,
            &self.topics.transactions,
            messages,
            &partitions,
        )
        .await;
    }

    /// Produces `messages` to the transactions topic keyed by card, partitioned by the
    /// client's partitioner as a payment network's feed would be.
    pub async fn feed_by_card(&self, messages: &[SyntheticMessage]) {
        txscore_feed(&self.brokers, &self.topics.transactions, messages).await;
    }

    /// The ledger topic, read until it holds `events` distinct events (or a minute passes).
    pub fn ledger_events(&self, events: usize) -> Vec<(String, String)> {
        read_topic(
            &self.brokers,
            &self.topics.ledger,
            Duration::from_secs(60),
            distinct_events(events),
        )
    }

    /// The dead-letter topic, read until it holds `records` (or 30 seconds pass).
    pub fn dead_letters(&self, records: u64) -> Vec<(String, String)> {
        read_topic(
            &self.brokers,
            &self.topics.dlq,
            Duration::from_secs(30),
            count(records),
        )
    }
}

pub async fn create_topics(brokers: &str, names: &[&str], partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
        .collect();
    for result in admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .expect("create topics")
    {
        result.expect("topic created");
    }
}

/// Produces messages keyed by card and waits for the acks.
pub async fn txscore_feed(brokers: &str, topic: &str, messages: &[SyntheticMessage]) {
    produce(brokers, topic, messages, &vec![None; messages.len()]).await;
}

/// Produces `messages` in order, each on the partition given beside it (or the partitioner's),
/// and waits for the acks.
async fn produce(
    brokers: &str,
    topic: &str,
    messages: &[SyntheticMessage],
    partitions: &[Option<i32>],
) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    let sends = messages.iter().zip(partitions).map(|(message, partition)| {
        let mut record = FutureRecord::to(topic)
            .key(&message.key)
            .payload(&message.payload);
        if let Some(partition) = partition {
            record = record.partition(*partition);
        }
        producer.send(record, Duration::from_secs(30))
    });
    for result in futures_util::future::join_all(sends).await {
        result.expect("message acknowledged");
    }
}

/// The partition of a message's owner: the member it names, else its card (its key).
fn owner_partition(message: &SyntheticMessage, partitions: i32) -> i32 {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&message.payload).ok();
    let member = parsed.as_ref().and_then(|body| body["member_id"].as_str());
    let owner = member.unwrap_or(&message.key);
    // FNV-1a: any stable hash spreads owners; this one is short and fixed.
    let hash = owner.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % partitions as u64) as i32
}

/// The synthetic stream the pipeline tests feed: 150 cards, a fraud burst every 300.
pub fn synthetic_stream(transactions: usize) -> Vec<SyntheticMessage> {
    txscore::synth::generate(&txscore::synth::StreamSpec {
        transactions,
        cards: 150,
        burst_every: 300,
        ..txscore::synth::StreamSpec::default()
    })
}

pub fn redis() -> LocalRedis {
    LocalRedis::start().expect("redis-server starts (install it: apt-get install redis-server)")
}

/// `topics` as the `[kafka.topics]` table of a configuration file.
pub fn topics_table(topics: &Topics) -> String {
    let mut table = String::from("[kafka.topics]\n");
    for (key, name) in topics.named() {
        table.push_str(&format!("{key} = {name:?}\n"));
    }
    table
}

/// A store client on `server`.
pub async fn redis_store(server: &LocalRedis) -> RedisStore {
    RedisStore::connect(&server.url(), Duration::from_secs(2))
        .await
        .expect("redis answers")
}

/// Rules named `version` that give one point per CNY in one tier and nothing else, for tests
/// where any other rule would only blur what they look at.
pub fn flat_rules(version: &str) -> String {
    format!(
        "version = \"{version}\"\n[programs.default]\nbase_currency = \"CNY\"\n\
         points_per_unit = \"1\"\ndefault_tier = \"standard\"\ntiers = {{ standard = \"1\" }}\n"
    )
}

/// The rules the pipeline tests run: the shipped rules, every rule on (caps, tiers, first
/// purchases, thresholds, per-member and period caps, the budgeted campaign, points abuse).
/// [`Broker::feed`] gives each member's inputs one order, so a serial reference run predicts
/// them; the budget is far larger than any test stream draws, so which member reaches it first
/// does not change what each gets.
pub fn rules_toml() -> String {
    txscore::rules::DEFAULT_RULES.to_owned()
}

/// A running pipeline with its own broker (two partitions) and redis-server, scoring with the
/// rules file text `rules`.
pub struct Stack {
    pub broker: Broker,
    pub store: RedisStore,
    pub running: Running,
    /// Kept for the store's lifetime: the server stops when dropped.
    pub redis: LocalRedis,
}

impl Stack {
    /// Starts one for `test`, letting `adjust` change the configuration first.
    pub async fn start(test: &str, rules: &str, adjust: impl FnOnce(&mut Config)) -> Stack {
        let broker = Broker::start(test, 2).await;
        let redis = redis();
        let store = redis_store(&redis).await;
        let rules: RuleBook = RuleSet::from_toml(rules).expect("test rules").into();
        let mut config = broker.config(&redis, 50);
        adjust(&mut config);
        let running = Running::start_with_rules(
            &config,
            store.clone(),
            rules.fixed(),
            FaultInjection::default(),
        );
        Stack {
            broker,
            store,
            running,
            redis,
        }
    }
}

pub fn rules() -> RuleBook {
    RuleSet::from_toml(&rules_toml())
        .expect("test rules are valid")
        .into()
}

/// A pipeline running on its own task, stopped through `stop`.
pub struct Running {
    pub health: Arc<Health>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<RunSummary, PipelineError>>,
}

impl Running {
    pub async fn start(config: &Config, fault: FaultInjection) -> Running {
        let store = RedisStore::connect(&config.redis_url, config.redis_timeout)
            .await
            .expect("redis");
        Self::start_with_store(config, store, fault)
    }

    pub fn start_with_store<S: StateStore>(
        config: &Config,
        store: S,
        fault: FaultInjection,
    ) -> Running {
        Self::start_with_rules(config, store, rules().fixed(), fault)
    }

    pub fn start_with_rules<S: StateStore>(
        config: &Config,
        store: S,
        rules: RulesFeed,
        fault: FaultInjection,
    ) -> Running {
        Self::start_with_shadow(config, store, rules, None, fault)
    }

    /// A pipeline scoring with `rules` and, when given, the `shadow` candidate beside them.
    pub fn start_with_shadow<S: StateStore>(
        config: &Config,
        store: S,
        rules: RulesFeed,
        shadow: Option<RulesFeed>,
        fault: FaultInjection,
    ) -> Running {
        let health = Arc::new(Health::new(config.stall_timeout));
        let mut pipeline =
            Pipeline::from_config(config, store, rules, health.clone()).expect("pipeline starts");
        if let Some(shadow) = shadow {
            pipeline = pipeline.with_shadow_rules(shadow);
        }
        let pipeline = pipeline.with_fault_injection(fault);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(pipeline.run(async {
            let _ = stopped.await;
        }));
        Running {
            health,
            stop: Some(stop),
            task,
        }
    }

    /// Asks the pipeline to stop and waits (bounded) for it.
    pub async fn stop(mut self) -> Result<RunSummary, PipelineError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("pipeline stops within 30 s")
            .expect("pipeline task does not panic")
    }

    /// Waits (bounded) for the pipeline to end by itself.
    pub async fn finished(self) -> Result<RunSummary, PipelineError> {
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("pipeline ends within 60 s")
            .expect("pipeline task does not panic")
    }
}

/// Waits (bounded) until the instance behind `health` holds input partitions: a new group
/// member gets them only once the group has rebalanced.
pub async fn assigned(health: &Health) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while health.assigned_partitions() <= 0 {
        assert!(
            Instant::now() < deadline,
            "no partitions assigned within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (bounded) until `health` reports at least `messages` done.
pub async fn progressed(health: &Health, messages: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while health.messages_done() < messages {
        assert!(Instant::now() < deadline, "no progress within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// (balance, pending) per account key, read straight from a store.
pub async fn balances<S: StateStore>(store: &S, keys: &[String]) -> BTreeMap<String, (i64, i64)> {
    let documents = store.get_many(keys).await.expect("store read");
    keys.iter()
        .zip(documents)
        .filter_map(|(key, document)| {
            let document = document?;
            let state: serde_json::Value =
                serde_json::from_str(&document.data).expect("account JSON");
            Some((
                key.clone(),
                (state["balance"].as_i64()?, state["pending"].as_i64()?),
            ))
        })
        .collect()
}

/// Settings the tests' processors use.
pub fn processor_settings() -> txscore::pipeline::ProcessorSettings {
    ConfigFile::default()
        .validate()
        .expect("defaults are valid")
        .processor
}

/// As `messages` look to a processor once consumed (offsets in order on one partition).
pub fn inbound(messages: &[SyntheticMessage]) -> Vec<txscore::pipeline::Inbound<'_>> {
    messages
        .iter()
        .enumerate()
        .map(|(offset, message)| txscore::pipeline::Inbound {
            payload: &message.payload,
            key: Some(message.key.as_bytes()),
            source: txscore::wire::SourcePosition {
                topic: "reference".into(),
                partition: 0,
                offset: offset as i64,
            },
            broker_timestamp_ms: None,
            routed: None,
        })
        .collect()
}

/// The outcome the pipeline must reach: the same stream through the same core and an
/// in-memory store, no Kafka, no crashes.
pub struct Reference {
    pub store: txscore::store::MemoryStore,
    pub ledger_ids: std::collections::BTreeSet<String>,
    /// Posted points of each ledger event, by event id.
    pub ledger_points: BTreeMap<String, i64>,
    pub dead_lettered: u64,
    /// Alert messages published, replays of a transaction included.
    pub alerts: usize,
    /// Distinct alerts.
    pub alert_ids: std::collections::BTreeSet<String>,
}

impl Reference {
    pub async fn of(messages: &[SyntheticMessage]) -> Reference {
        // Every batch reads its state from the store: nothing held in memory between batches
        // can shape the reference.
        let settings = txscore::pipeline::ProcessorSettings {
            owned_state_entries: 0,
            ..processor_settings()
        };
        let processor = BatchProcessor::new(
            txscore::store::MemoryStore::new(),
            Keyspace::new("txscore"),
            settings,
        );
        let rules = rules();
        let mut ledger_ids = std::collections::BTreeSet::new();
        let mut ledger_points = BTreeMap::new();
        let mut dead_lettered = 0;
        let mut alerts = 0;
        let mut alert_ids = std::collections::BTreeSet::new();
        for batch in inbound(messages).chunks(100) {
            let report = processor
                .process(batch, &rules)
                .await
                .expect("memory store never fails");
            dead_lettered += report.dead_lettered.values().sum::<u64>();
            for message in &report.outbound {
                match message.destination {
                    txscore::pipeline::Destination::Ledger => {
                        let value: serde_json::Value =
                            serde_json::from_str(&message.payload).unwrap();
                        let id = value["event_id"].as_str().unwrap().to_owned();
                        ledger_points.insert(id.clone(), value["points"].as_i64().unwrap());
                        ledger_ids.insert(id);
                    }
                    txscore::pipeline::Destination::Alerts => {
                        alerts += 1;
                        let value: serde_json::Value =
                            serde_json::from_str(&message.payload).unwrap();
                        alert_ids.insert(value["alert_id"].as_str().unwrap().to_owned());
                    }
                    txscore::pipeline::Destination::Dlq
                    | txscore::pipeline::Destination::Commands
                    | txscore::pipeline::Destination::Shadow
                    | txscore::pipeline::Destination::ByOwner => {}
                }
            }
        }
        let store = processor
            .into_store()
            .expect("no batch in progress holds the store");
        Reference {
            store,
            ledger_ids,
            ledger_points,
            dead_lettered,
            alerts,
            alert_ids,
        }
    }

    pub fn account_keys(&self) -> Vec<String> {
        self.store
            .keys()
            .into_iter()
            .filter(|key| key.contains("}:account:"))
            .collect()
    }

    pub async fn balances(&self) -> BTreeMap<String, (i64, i64)> {
        balances(&self.store, &self.account_keys()).await
    }
}

/// Every `txscore_*` metric name that a dashboard or an alert rule refers to, with the
/// histogram suffixes (`_bucket`, `_sum`, `_count`) kept as written.
pub fn metrics_referenced_by_dashboards_and_alerts() -> std::collections::BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = vec![
        std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).expect("alert rules"),
    ];
    for entry in std::fs::read_dir(root.join("dashboards")).expect("dashboards folder") {
        texts.push(
            std::fs::read_to_string(entry.expect("dashboard").path()).expect("dashboard JSON"),
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for text in texts {
        let mut rest = text.as_str();
        while let Some(start) = rest.find("txscore_") {
            let name: String = rest[start..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[start + name.len()..];
            names.insert(name);
        }
    }
    names
}
