//! `txscore rules ...`: checking rules files before they are deployed, and explaining what
//! they do to a transaction.

use super::shared::load_rules;
use crate::rules::RuleBook;
use crate::scoring::{self, Accounts};
use crate::wire::decode_transaction;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules file or directory of versions; prints each version's programmes and
    /// rules, or the file and field at fault.
    Check { file: PathBuf },
    /// Show which rules fire for a transaction and what each adds, as a first transaction of a
    /// new member and card; nothing is stored.
    Explain {
        /// The transaction, as a JSON message for the transactions topic.
        #[arg(long)]
        txn: String,
        /// Rules file or directory; the shipped rules by default.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

pub fn rules(command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Explain { txn, rules } => explain(&txn, &load_rules(rules.as_deref())?),
        RulesCommand::Check { file } => {
            let book = RuleBook::load(&file)?;
            for rules in book.versions() {
                let from = rules
                    .effective_from
                    .map_or("the start".to_owned(), |from| from.to_string());
                println!(
                    "{}: rules version {} is valid, in force from {from}",
                    file.display(),
                    rules.version
                );
                for program in rules.programs.values() {
                    println!(
                        "  programme {}: {} points per {}, tiers {}, {} currencies",
                        program.id,
                        program.points_per_unit,
                        program.base_currency,
                        program.tiers.keys().cloned().collect::<Vec<_>>().join("/"),
                        program.fx.len()
                    );
                }
                let card_rules =
                    crate::scoring::fraud::configured(&rules.fraud).map(|rule| rule.meta());
                for meta in card_rules.chain(rules.fraud.abuse.metas()) {
                    println!(
                        "  fraud rule {}: score {} ({})",
                        meta.id,
                        meta.score,
                        meta.mode.as_str()
                    );
                }
            }
            Ok(())
        }
    }
}

fn explain(message: &str, book: &RuleBook) -> anyhow::Result<()> {
    let txn = decode_transaction(message.as_bytes(), usize::MAX)?;
    let rules = book.in_force_at(txn.timestamp);
    let member = txn.member_id.as_deref();
    let decision = scoring::score(&txn, member, Accounts::default(), rules)?;
    println!(
        "{} {} {} {} with rules {} (in force at {}):",
        txn.txn_id,
        txn.kind.as_str(),
        txn.amount,
        txn.currency,
        rules.version,
        txn.timestamp
    );
    if member.is_none() {
        println!("  no member_id: only the fraud rules run");
    }
    for event in &decision.ledger {
        println!(
            "  {}: {} points, {} pending, tier {}",
            event.event_type.as_str(),
            event.points,
            event.pending_points,
            event.tier
        );
        for line in &event.breakdown {
            let funded = line
                .funded_by
                .as_deref()
                .map_or(String::new(), |by| format!(" [funded by {by}]"));
            println!(
                "    {:>12}  {}: {}{funded}",
                line.points.normalize(),
                line.rule,
                line.detail
            );
        }
    }
    for alert in &decision.alerts {
        println!(
            "  {} alert, score {} ({}), action {}:",
            alert.mode.as_str(),
            alert.score,
            alert.severity.as_str(),
            alert.action.as_str()
        );
        for reason in &alert.reasons {
            println!(
                "    {} (+{}): {}",
                reason.rule, reason.score, reason.description
            );
        }
    }
    Ok(())
}
