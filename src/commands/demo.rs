//! `txscore demo`: the real pipeline over a synthetic stream, on an embedded Kafka-protocol
//! broker and an in-memory store (or real Redis with `--redis`), then a summary.

use super::feed::feed_topic;
use super::shared::load_rules;
use crate::config::ConfigFile;
use crate::health::Health;
use crate::kafka::EmbeddedKafka;
use crate::pipeline::{Pipeline, RunSummary};
use crate::store::{MemoryStore, RedisStore, StateStore};
use crate::synth::{generate, StreamSpec};
use crate::{http, telemetry};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Transactions to generate.
    #[arg(long, default_value_t = 20_000)]
    transactions: usize,
    /// Distinct cards in the stream.
    #[arg(long, default_value_t = 2_000)]
    cards: usize,
    /// Seed of the synthetic stream.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Use this Redis instead of the in-memory store.
    #[arg(long)]
    redis: Option<String>,
    /// Rules file; the shipped rules by default.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Where to serve /metrics, /healthz and /readyz while the demo runs.
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics_addr: SocketAddr,
    /// Keep serving /metrics after the summary until Ctrl-C.
    #[arg(long)]
    linger: bool,
}

pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let rules = load_rules(args.rules.as_deref())?;
    let mut config = ConfigFile::default();
    config.pipeline.retry_budget_secs = 30;
    // Ledger events are about twice the size of transactions: size partitions for those.
    let partitions = EmbeddedKafka::partitions_for(args.transactions * 1_000, 4);
    let broker = EmbeddedKafka::start(&config.kafka.topics.layout(partitions))?;
    config.kafka.brokers = broker.bootstrap_servers();
    config.kafka.client = EmbeddedKafka::client_settings();
    config.kafka.group_id = "txscore-demo".into();
    let config = config.validate()?;

    let health = Arc::new(Health::new(config.stall_timeout));
    let (addr, _server) = http::serve(
        args.metrics_addr,
        http::operator_routes(telemetry::install(), health.clone()),
    )
    .await
    .with_context(|| {
        format!(
            "binding {} (choose another with --metrics-addr)",
            args.metrics_addr
        )
    })?;

    let spec = StreamSpec {
        seed: args.seed,
        transactions: args.transactions,
        cards: args.cards,
        ..StreamSpec::default()
    };
    let messages = generate(&spec);
    println!(
        "txscore demo: {} synthetic transactions on {} cards; embedded broker at {}; metrics at http://{addr}/metrics",
        messages.len(),
        spec.cards,
        config.kafka.brokers
    );
    feed_topic(&config.kafka.brokers, "transactions", &messages).await?;

    let (summary, store_name) = match &args.redis {
        Some(url) => {
            let store = RedisStore::connect(url, config.redis_timeout)
                .await
                .context("connecting to --redis")?;
            let summary = run_to_end(&config, store, rules.clone(), health, messages.len()).await?;
            (summary, format!("Redis at {url}"))
        }
        None => {
            let summary = run_to_end(
                &config,
                MemoryStore::new(),
                rules.clone(),
                health,
                messages.len(),
            )
            .await?;
            (summary, "in-memory store".to_owned())
        }
    };
    print_summary(&summary, &store_name, &rules.latest().version);
    if args.linger {
        println!("serving http://{addr}/metrics until Ctrl-C");
        super::shared::shutdown_signal().await;
    }
    Ok(())
}

async fn run_to_end<S: StateStore>(
    config: &crate::config::Config,
    store: S,
    rules: crate::rules::RuleBook,
    health: Arc<Health>,
    expected: usize,
) -> anyhow::Result<RunSummary> {
    let pipeline = Pipeline::from_config(config, store, rules.fixed(), health.clone())?;
    let done = async {
        while health.messages_done() < expected as u64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let summary = tokio::time::timeout(Duration::from_secs(600), pipeline.run(done))
        .await
        .context("the demo did not finish within 10 minutes")??;
    Ok(summary)
}

fn print_summary(summary: &RunSummary, store: &str, rules_version: &str) {
    let dead: u64 = summary.dead_lettered.values().sum();
    let took = summary.active;
    let rate = summary.messages as f64 / took.as_secs_f64();
    println!();
    println!("Processed {} messages in {:.2} s ({rate:.0} messages/s) with rules {rules_version} on the {store}:", summary.messages, took.as_secs_f64());
    println!(
        "  {:>8} transactions scored ({} batches)",
        summary.scored, summary.batches
    );
    println!(
        "  {:>8} duplicates recognised and re-emitted unchanged",
        summary.replayed
    );
    if summary.routed > 0 {
        println!(
            "  {:>8} inputs routed through the owner log (one order of record per member)",
            summary.routed
        );
    }
    println!("  {:>8} sent to the dead-letter topic:", dead);
    for (kind, count) in &summary.dead_lettered {
        println!("  {count:>12} {kind}");
    }
    println!("  {:>8} fraud alerts raised", summary.alerts);
    println!(
        "  {:>8} messages published (ledger + alerts + dlq)",
        summary.outputs
    );
    println!("Points moved:");
    for (flow, points) in &summary.points {
        println!("  {points:>12} {flow}");
    }
    for (destination, payload) in &summary.samples {
        println!("Example {destination} message:\n{}", readable(payload));
    }
}

/// Pretty JSON, with a long `original` (an oversized rejected payload) shortened for the screen.
fn readable(payload: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(payload) else {
        return payload.to_owned();
    };
    if let Some(original) = value.get_mut("original") {
        if let Some(text) = original.as_str().filter(|text| text.len() > 200) {
            *original = format!("{}...", &text[..text.floor_char_boundary(200)]).into();
        }
    }
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| payload.to_owned())
}
