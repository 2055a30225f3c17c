//! `txscore settlement --from --to`: per programme and funding party, the points issued,
//! redeemed, expired and reversed over a period (read from the ledger topic) and outstanding
//! now (a scan of the store).

use super::shared::{connect_store, read_whole_topic};
use crate::config::Config;
use crate::domain::LedgerEvent;
use crate::liability;
use crate::settlement::Settlement;
use crate::store::Keyspace;
use anyhow::Context;
use clap::Args;
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::Message;
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Args)]
pub struct SettlementArgs {
    /// Start of the period (RFC 3339 or YYYY-MM-DD), included.
    #[arg(long, value_parser = super::expire::parse_time)]
    from: OffsetDateTime,
    /// End of the period (RFC 3339 or YYYY-MM-DD), excluded.
    #[arg(long, value_parser = super::expire::parse_time)]
    to: OffsetDateTime,
    /// Configuration file (as for `run`): brokers, ledger topic, Redis.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub async fn settlement(args: SettlementArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?;
    let mut report = Settlement::new(args.from, args.to);
    let topic = &config.topics().ledger;
    let reader: BaseConsumer = config.kafka.reader_config().create()?;
    read_whole_topic(&reader, topic, |message| {
        if let Some(payload) = message.payload() {
            let event: LedgerEvent = serde_json::from_slice(payload)
                .with_context(|| format!("a ledger event at offset {}", message.offset()))?;
            report.add(&event);
        }
        Ok(())
    })?;
    let store = connect_store(&config).await?;
    let outstanding = liability::snapshot(&store, &Keyspace::new(&config.key_prefix)).await?;

    println!(
        "Settlement from {} to {} (ledger topic {topic}):",
        args.from.format(&Rfc3339)?,
        args.to.format(&Rfc3339)?
    );
    let none = liability::ProgramTotals::default();
    for (program, flows) in &report.programs {
        let now = outstanding.get(program).unwrap_or(&none);
        println!("programme {program}");
        println!(
            "  {:<32} {:>12} {:>12} {:>12} {:>12} {:>16}",
            "funded by", "issued", "redeemed", "expired", "reversed", "outstanding now"
        );
        let mut funders: Vec<&String> = flows.funders.keys().collect();
        funders.extend(now.balance_by_funder.keys());
        funders.sort();
        funders.dedup();
        for funder in funders {
            let moved = flows.funders.get(funder).cloned().unwrap_or_default();
            let held = now.balance_by_funder.get(funder).copied().unwrap_or(0);
            println!(
                "  {funder:<32} {:>12} {:>12} {:>12} {:>12} {held:>16}",
                moved.issued, moved.redeemed, moved.expired, moved.reversed
            );
        }
        println!("  released after review             {:>14}", flows.released);
        println!("  redeemed (net of cancellations)   {:>14}", flows.redeemed);
        println!("  expired                           {:>14}", flows.expired);
        println!("  reversed                          {:>14}", flows.reversed);
    }
    for (program, totals) in &outstanding {
        println!(
            "programme {program} outstanding now: {} posted, {} pending ({} held), {} shortfall, {} members",
            totals.balance, totals.pending, totals.held, totals.shortfall, totals.members
        );
    }
    Ok(())
}
