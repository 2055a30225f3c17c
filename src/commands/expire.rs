//! `txscore expire --as-of TIME`: the expiry sweep for members with no recent events, with
//! its ledger events published to the ledger topic.

use super::shared::{connect_store, load_rules};
use crate::config::Config;
use crate::pipeline::expiry_sweep::ExpirySweep;
use crate::store::Keyspace;
use anyhow::Context;
use clap::Args;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use std::path::PathBuf;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Args)]
pub struct ExpireArgs {
    /// Expire every lot due by this time: RFC 3339 (2027-01-01T00:00:00Z) or a date (2027-01-01,
    /// meaning its start, UTC).
    #[arg(long, value_parser = parse_time)]
    as_of: OffsetDateTime,
    /// Configuration file (as for `run`): Redis, Kafka, topics, rules.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// An RFC 3339 time, or a date meaning its start (UTC).
pub(super) fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339))
        .map_err(|_| format!("`{text}` is not an RFC 3339 time or a YYYY-MM-DD date"))
}

pub async fn expire(args: ExpireArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?;
    let rules = load_rules(config.rules.as_deref())?;
    let store = connect_store(&config).await?;
    let keys = Keyspace::new(&config.key_prefix);
    let sweep = ExpirySweep {
        store: &store,
        keys: &keys,
        rules: &rules,
        ledger_retention: config.processor.ledger_retention,
        record_ttl: config.processor.txn_record_ttl,
    };
    let report = sweep.run(args.as_of).await?;
    let producer: FutureProducer = config
        .kafka
        .command_producer_config()
        .create()
        .context("creating the producer")?;
    let topic = &config.topics().ledger;
    for message in &report.outbound {
        producer
            .send(
                FutureRecord::to(topic)
                    .key(&message.key)
                    .payload(&message.payload),
                Timeout::After(Duration::from_secs(30)),
            )
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("publishing to {topic}"))?;
    }
    println!(
        "Expired {} points in {} of {} accounts as of {}; published {} ledger events to {topic}.",
        report.points_expired,
        report.accounts_expired,
        report.accounts_scanned,
        args.as_of.format(&Rfc3339)?,
        report.outbound.len()
    );
    Ok(())
}
