//! `txscore bench`: how fast the real pipeline is, next to how fast it could possibly be.
//!
//! Four measurements on the embedded broker (or the Kafka `--brokers` names) and a real Redis
//! (a throwaway `redis-server` on a free port unless `--redis` names one):
//! 1. ceiling: a plain consumer reading the synthetic backlog, doing nothing with it;
//! 2. throughput: the pipeline working through the same backlog, and what each message cost
//!    the machine ([`cost`]);
//! 3. latency: a paced stream (at half of the measured throughput unless `--rate` says
//!    otherwise), started once the pipeline has been quiet for [`SETTLE`] after the backlog,
//!    timed per message from the input's Kafka timestamp to the timestamp of the ledger event
//!    it caused (both taken outside the pipeline);
//! 4. exactly-once: the pipeline with `kafka.exactly_once` on the same backlog, in a fresh
//!    keyspace and consumer group (on a real broker only: the embedded one does not honour
//!    transactional offset commits);
//! 5. with `--soak SECS`: a steady stream at half the measured throughput for SECS seconds,
//!    with resident memory sampled ([`soak`]);
//! 6. with `--baseline`: the per-message loop of [`baseline`] on the same backlog, in a fresh
//!    keyspace and consumer group, for the ratio the pipeline's design buys;
//! 7. with `--instances N`: N pipelines in one group on everything the single one processed
//!    ([`instances`]), their combined rate and whether their totals match.
//!
//! It ends with its verdict on the performance targets ([`targets`]).

mod baseline;
mod cost;
mod instances;
mod soak;
mod targets;

use super::feed::feed_topic;
use crate::config::{Config, ConfigFile};
use crate::health::Health;
use crate::kafka::EmbeddedKafka;
use crate::local_redis::LocalRedis;
use crate::pipeline::{Pipeline, PipelineError, Topics};
use crate::rules::{RuleBook, RuleSet};
use crate::store::RedisStore;
use crate::synth::{generate, StreamSpec, SyntheticMessage};
use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Transactions in the backlog for the ceiling and throughput runs.
    #[arg(long, default_value_t = 200_000)]
    transactions: usize,
    /// Transactions in the paced latency run.
    #[arg(long, default_value_t = 20_000)]
    latency_transactions: usize,
    /// Messages per second in the paced latency run [default: half of the measured
    /// throughput, where the latency target is set].
    #[arg(long)]
    rate: Option<u64>,
    /// Maximum messages per batch.
    #[arg(long, default_value_t = 1_000)]
    max_batch: usize,
    /// Use this Redis instead of starting a throwaway redis-server.
    #[arg(long)]
    redis: Option<String>,
    /// Run on this Kafka (topics are created under a unique prefix) instead of the embedded
    /// broker; also measures exactly-once output.
    #[arg(long)]
    brokers: Option<String>,
    /// Also measure the per-message loop a team writes first (one read, one compare-and-set
    /// and awaited publishes per message) over this many messages of the backlog.
    #[arg(long, num_args = 0..=1, default_missing_value = "20000")]
    baseline: Option<usize>,
    /// Also feed a steady stream at half the measured throughput for this many seconds and
    /// print how resident memory develops.
    #[arg(long)]
    soak: Option<u64>,
    /// Also run this many pipelines in one consumer group over the same input, and print
    /// their combined rate and whether their totals match the single pipeline's.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    instances: Option<u16>,
    /// Score inputs where they arrive instead of routing them through the owner log
    /// (`pipeline.member_ordered = false`), to measure what member order costs.
    #[arg(long)]
    unordered: bool,
}

/// The bench's topic names: plain on the embedded broker, prefixed on a shared one.
struct BenchTopics {
    prefix: String,
}

/// Quiet between the backlog and the paced stream. In the first quarter-second after a
/// backlog of this size drains, latency runs three to four times its steady level; the paced
/// run measures the steady stream.
const SETTLE: Duration = Duration::from_secs(3);

/// The consumer groups of the bench's runs. Each routes everything again, so each has an
/// owner log of its own.
const GROUPS: [&str; 4] = [
    "txscore-bench",
    "txscore-bench-instances",
    "txscore-bench-baseline",
    "txscore-bench-eos",
];

impl BenchTopics {
    fn name(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    fn owner_log(&self, group: &str) -> String {
        self.name(&format!("{group}-by-owner"))
    }

    /// The input topics the instances run reads when inputs are member-ordered: they stay
    /// empty, since the instances score the single pipeline's owner log.
    fn quiet_inputs(&self) -> Topics {
        Topics::prefixed(&self.name(&format!("{}-", GROUPS[1])))
    }

    /// The topics a run in `group` uses: its own owner log, except for the instances, which
    /// score the single pipeline's (when `ordered`) so both score one order of record.
    fn for_group(&self, group: &str, ordered: bool) -> Topics {
        let mut topics = Topics::prefixed(&self.prefix);
        topics.by_owner = self.owner_log(group);
        if ordered && group == GROUPS[1] {
            let quiet = self.quiet_inputs();
            topics.transactions = quiet.transactions;
            topics.reviews = quiet.reviews;
            topics.commands = quiet.commands;
            topics.member_events = quiet.member_events;
            topics.by_owner = self.owner_log(GROUPS[0]);
        }
        topics
    }

    /// Every topic the bench uses, with its partitions: `busy` for the busy ones.
    fn layout(&self, busy: i32) -> Vec<(String, i32)> {
        let shared = Topics::prefixed(&self.prefix);
        let owner_logs = GROUPS.map(|group| (self.owner_log(group), busy));
        let quiet = self.quiet_inputs();
        shared
            .layout(busy)
            .into_iter()
            .filter(|(topic, _)| *topic != shared.by_owner)
            .map(|(topic, partitions)| (topic.to_owned(), partitions))
            .chain(owner_logs)
            .chain(quiet.inputs().map(|topic| (topic.to_owned(), 1)))
            .collect()
    }
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.instances.is_some() && args.soak.is_some() && args.brokers.is_none() {
        anyhow::bail!(
            "--instances after --soak needs --brokers: the embedded broker drops the oldest \
             messages under a soak's volume, so the instances could not read all of them again"
        );
    }
    // Metrics are recorded as in `run`, so their cost and memory are part of every figure.
    let metrics = crate::telemetry::install();
    let local = match &args.redis {
        Some(_) => None,
        None => Some(LocalRedis::start()?),
    };
    let redis_url = args
        .redis
        .clone()
        .unwrap_or_else(|| local.as_ref().expect("started").url());
    // Ledger events are about twice the size of transactions: size partitions for those.
    let partitions =
        EmbeddedKafka::partitions_for((args.transactions + args.latency_transactions) * 1_000, 8);
    let (_embedded, brokers, topics) = match &args.brokers {
        None => {
            let topics = BenchTopics {
                prefix: String::new(),
            };
            let layout = topics.layout(partitions);
            let layout: Vec<(&str, i32)> = layout.iter().map(|(t, p)| (t.as_str(), *p)).collect();
            let broker = EmbeddedKafka::start(&layout)?;
            let brokers = broker.bootstrap_servers();
            (Some(broker), brokers, topics)
        }
        Some(brokers) => {
            let topics = BenchTopics {
                prefix: format!("txscore-bench-{}-", std::process::id()),
            };
            create_topics(brokers, &topics.layout(partitions)).await?;
            (None, brokers.clone(), topics)
        }
    };
    let backlog = generate(&StreamSpec {
        transactions: args.transactions,
        cards: 20_000,
        ..StreamSpec::default()
    });
    let paced = generate(&StreamSpec {
        seed: 8,
        txn_prefix: "L".into(),
        transactions: args.latency_transactions,
        cards: 20_000,
        start: time::macros::datetime!(2026-11-23 00:00 UTC),
        ..StreamSpec::default()
    });
    let bytes: usize = backlog.iter().map(|m| m.payload.len()).sum();
    println!(
        "txscore bench: {} transactions ({} bytes each on average) over {partitions} partitions; Redis at {redis_url}",
        backlog.len(),
        bytes / backlog.len().max(1)
    );
    feed_topic(&brokers, &topics.name("transactions"), &backlog).await?;

    let ceiling = consume_rate(&brokers, &topics, backlog.len())?;
    println!(
        "ceiling     {:>9.0} messages/s  (plain consumer, no processing)",
        ceiling
    );

    let config = pipeline_config(&brokers, &topics, &redis_url, &args, GROUPS[0]).validate()?;
    let mut probe = redis::Client::open(config.redis_url.as_str())?
        .get_multiplexed_async_connection()
        .await
        .context("connecting to Redis")?;
    let before = cost::read(&mut probe).await;
    let (health, stop, running) = start_pipeline(&config).await?;
    let throughput = rate_of(&health, backlog.len()).await;
    let after = cost::read(&mut probe).await;
    println!(
        "pipeline    {:>9.0} messages/s  (real Redis, batches of up to {}): {:.0}% of the ceiling",
        throughput,
        args.max_batch,
        100.0 * throughput / ceiling
    );
    println!("cost        {}", cost::line(&before, &after, backlog.len()));

    let half_peak = (throughput / 2.0).max(1.0) as u64;
    let rate = args.rate.unwrap_or(half_peak);
    let producer = paced_producer(&brokers)?;
    tokio::time::sleep(SETTLE).await;
    let paced_before = cost::read(&mut probe).await;
    feed_paced(&producer, &topics, &paced, rate).await?;
    let given = (backlog.len() + paced.len()) as u64;
    wait_for(&health, given).await;
    let paced_after = cost::read(&mut probe).await;
    // Measured before a soak run, whose outputs would push these out of the embedded broker.
    let latencies = tokio::task::block_in_place(|| ledger_latencies(&brokers, &topics, &paced))?;
    let p99 = print_latencies(&latencies, rate);
    println!(
        "cost        paced {}",
        cost::line(&paced_before, &paced_after, paced.len())
    );
    let mut measured = targets::Measured {
        p99_at_half_peak: p99.filter(|_| args.rate.is_none()),
        ..targets::Measured::default()
    };
    if let Some(seconds) = args.soak {
        let soak = soak::soak(
            &producer, &topics, &health, &metrics, given, half_peak, seconds,
        )
        .await?;
        let mib = |samples: &[u64]| {
            let samples: Vec<String> = samples.iter().map(u64::to_string).collect();
            samples.join(" ")
        };
        println!(
            "soak        {seconds} s at {half_peak}/s: resident MiB every 10 s {}; {:+.1}% over the second half; state held in memory, MiB: {}; resident growth beside the state held's over the second half: {:+} MiB; {} of {} done when the feed ended, the rest in {:.1} s",
            mib(&soak.samples),
            soak.second_half_growth(),
            mib(&soak.held),
            soak.second_half_growth_beside_held(),
            soak.done_at_end,
            soak.sent,
            soak.catch_up.as_secs_f64()
        );
    }
    let _ = stop.send(());
    let summary = running.await.context("pipeline task")??;
    let reasons: Vec<String> = summary
        .dead_lettered
        .iter()
        .map(|(reason, count)| format!("{reason} {count}"))
        .collect();
    println!(
        "totals      {} messages, {} scored, {} dead-lettered ({}), {} alerts",
        summary.messages,
        summary.scored,
        summary.dead_lettered.values().sum::<u64>(),
        reasons.join(", "),
        summary.alerts
    );
    if let Some(count) = args.instances {
        let mut file = pipeline_config(&brokers, &topics, &redis_url, &args, GROUPS[1]);
        file.redis.key_prefix = GROUPS[1].into();
        // Member-ordered, the instances score the single pipeline's owner log, which holds
        // every input it did not dead-letter while routing; else they consume the inputs again.
        let (messages, dead_letters_too) = match args.unordered {
            false => (summary.routed, false),
            true => (summary.messages, true),
        };
        let run = instances::run(&file.validate()?, count.into(), messages).await?;
        let agreement = run
            .totals
            .agreement(&instances::Totals::of(&summary), dead_letters_too);
        println!(
            "instances   {:>9.0} messages/s  ({count} pipelines in one group, {:.2}x one): {agreement}",
            run.rate,
            run.rate / throughput
        );
    }
    if let Some(messages) = args.baseline {
        let messages = messages.clamp(2, backlog.len());
        let mut file = pipeline_config(&brokers, &topics, &redis_url, &args, GROUPS[2]);
        file.redis.key_prefix = GROUPS[2].into();
        let config = file.validate()?;
        let store = RedisStore::connect(&config.redis_url, config.redis_timeout).await?;
        let rules = RuleBook::from(RuleSet::embedded_default());
        let baseline::Run {
            rate,
            before,
            after,
        } = baseline::per_message_rate(&config, store, &rules, messages, &mut probe).await?;
        println!(
            "baseline    {:>9.0} messages/s  (per message: one read, one compare-and-set, awaited publishes; {messages} messages): the pipeline is {:.1}x it",
            rate,
            throughput / rate
        );
        println!(
            "cost        baseline {}",
            cost::line(&before, &after, messages)
        );
        measured.times_baseline = Some(throughput / rate);
    }
    if args.brokers.is_some() {
        let mut file = pipeline_config(&brokers, &topics, &redis_url, &args, GROUPS[3]);
        file.redis.key_prefix = GROUPS[3].into();
        file.kafka.exactly_once = true;
        file.kafka.transactional_id = Some(format!("{}eos", topics.prefix));
        let (health, stop, running) = start_pipeline(&file.validate()?).await?;
        // The backlog and the paced stream, all of it scored again in a fresh keyspace.
        let total = backlog.len() + paced.len();
        let transactional = rate_of(&health, total).await;
        let _ = stop.send(());
        running.await.context("pipeline task")??;
        println!(
            "exactly-once {:>8.0} messages/s  (outputs and offsets in Kafka transactions): {:.0}% of at-least-once",
            transactional,
            100.0 * transactional / throughput
        );
    }
    println!("targets     {}", measured.verdict());
    Ok(())
}

type Running = tokio::task::JoinHandle<Result<crate::pipeline::RunSummary, PipelineError>>;

fn pipeline_config(
    brokers: &str,
    topics: &BenchTopics,
    redis_url: &str,
    args: &BenchArgs,
    group: &str,
) -> ConfigFile {
    let mut config = ConfigFile::default();
    config.kafka.brokers = brokers.to_owned();
    if args.brokers.is_none() {
        config.kafka.client = EmbeddedKafka::client_settings();
    }
    config.kafka.group_id = group.into();
    config.kafka.topics = topics.for_group(group, !args.unordered);
    config.pipeline.max_batch = args.max_batch;
    config.pipeline.member_ordered = !args.unordered;
    config.redis.url = redis_url.to_owned();
    config
}

async fn start_pipeline(
    config: &Config,
) -> anyhow::Result<(Arc<Health>, tokio::sync::oneshot::Sender<()>, Running)> {
    let store = RedisStore::connect(&config.redis_url, config.redis_timeout)
        .await
        .context("connecting to Redis")?;
    let health = Arc::new(Health::new(config.stall_timeout));
    let rules = RuleBook::from(RuleSet::embedded_default()).fixed();
    let pipeline = Pipeline::from_config(config, store, rules, health.clone())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pipeline.run(async {
        let _ = stopped.await;
    }));
    Ok((health, stop, running))
}

/// Messages per second from the first finished message to the `messages`th.
async fn rate_of(health: &Health, messages: usize) -> f64 {
    let started = wait_for(health, 1).await;
    let done = wait_for(health, messages as u64).await;
    (messages - 1) as f64 / (done - started).as_secs_f64()
}

async fn create_topics(brokers: &str, layout: &[(String, i32)]) -> anyhow::Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let new: Vec<NewTopic> = layout
        .iter()
        .map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(1)))
        .collect();
    for created in admin.create_topics(&new, &AdminOptions::new()).await? {
        created.map_err(|(topic, error)| anyhow::anyhow!("creating {topic}: {error}"))?;
    }
    Ok(())
}

/// Waits until `messages` are done and returns when that happened.
async fn wait_for(health: &Health, messages: u64) -> Instant {
    while health.messages_done() < messages {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Instant::now()
}

fn reader(brokers: &str, group: &str) -> anyhow::Result<BaseConsumer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?)
}

/// Messages per second a consumer reaches on the backlog, timed from its first message.
fn consume_rate(brokers: &str, topics: &BenchTopics, expected: usize) -> anyhow::Result<f64> {
    let consumer = reader(brokers, &topics.name("ceiling"))?;
    consumer.subscribe(&[&topics.name("transactions")])?;
    let mut started = None;
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while seen < expected && Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            message?;
            started.get_or_insert_with(Instant::now);
            seen += 1;
        }
    }
    consumer.unsubscribe();
    let started = started.context("the ceiling consumer received nothing")?;
    Ok((seen - 1) as f64 / started.elapsed().as_secs_f64())
}

/// A producer that sends at once, for paced streams.
fn paced_producer(brokers: &str) -> anyhow::Result<FutureProducer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "0")
        .create()?)
}

/// Produces `messages` at `rate` per second, in small bursts every 10 ms.
async fn feed_paced(
    producer: &FutureProducer,
    topics: &BenchTopics,
    messages: &[SyntheticMessage],
    rate: u64,
) -> anyhow::Result<()> {
    let topic = topics.name("transactions");
    let per_tick = (rate / 100).max(1) as usize;
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut acks = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(per_tick) {
        ticker.tick().await;
        for message in chunk {
            let record = FutureRecord::to(&topic)
                .key(&message.key)
                .payload(&message.payload);
            acks.push(producer.send_result(record).map_err(|(error, _)| error)?);
        }
    }
    for ack in acks {
        ack.await?.map_err(|(error, _)| error)?;
    }
    Ok(())
}

/// For each paced transaction that produced a ledger event: the time from its input message to
/// that event, by the brokers' timestamps.
fn ledger_latencies(
    brokers: &str,
    topics: &BenchTopics,
    paced: &[SyntheticMessage],
) -> anyhow::Result<Vec<Duration>> {
    let paced = paced_ids(paced);
    let inputs = timestamps(brokers, &topics.name("transactions"), "txn_id", |id| {
        paced.contains(id)
    })?;
    let outputs = timestamps(brokers, &topics.name("ledger"), "txn_id", |id| {
        inputs.contains_key(id)
    })?;
    Ok(outputs
        .iter()
        .filter_map(|(id, out)| {
            inputs
                .get(id)
                .map(|input| Duration::from_millis((out - input).max(0) as u64))
        })
        .collect())
}

fn paced_ids(paced: &[SyntheticMessage]) -> HashSet<String> {
    paced
        .iter()
        .filter_map(|m| serde_json::from_slice::<serde_json::Value>(&m.payload).ok())
        .filter_map(|v| v["txn_id"].as_str().map(str::to_owned))
        .collect()
}

/// Kafka timestamps (ms) of messages on `topic` whose JSON `field` passes `keep`, read until
/// the topic is quiet for a second.
fn timestamps(
    brokers: &str,
    topic: &str,
    field: &str,
    keep: impl Fn(&str) -> bool,
) -> anyhow::Result<HashMap<String, i64>> {
    let consumer = reader(brokers, &format!("txscore-bench-{topic}"))?;
    consumer.subscribe(&[topic])?;
    let mut found = HashMap::new();
    // Joining the group takes a few seconds; after the first message, a quiet second ends it.
    let mut quiet_since = Instant::now() + Duration::from_secs(30);
    while quiet_since.elapsed() < Duration::from_secs(1) {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message?;
        quiet_since = Instant::now();
        let Some(value) = message
            .payload()
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
        else {
            continue;
        };
        if let (Some(id), Some(at)) = (value[field].as_str(), message.timestamp().to_millis()) {
            if keep(id) {
                found.entry(id.to_owned()).or_insert(at);
            }
        }
    }
    consumer.unsubscribe();
    Ok(found)
}

/// Prints the paced run's latency percentiles; returns its p99.
fn print_latencies(latencies: &[Duration], rate: u64) -> Option<Duration> {
    if latencies.is_empty() {
        println!("latency     no ledger events matched the paced stream");
        return None;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    println!(
        "latency     p50 {} ms, p95 {} ms, p99 {} ms, max {} ms  (input to ledger event, {} events at {rate}/s)",
        at(0.50).as_millis(),
        at(0.95).as_millis(),
        at(0.99).as_millis(),
        sorted[sorted.len() - 1].as_millis(),
        sorted.len()
    );
    Some(at(0.99))
}
