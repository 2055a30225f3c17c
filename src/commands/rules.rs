//! `txscore rules ...`: checking rules files before they are deployed.

use crate::rules::RuleBook;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules file or directory of versions; prints each version's programmes and
    /// rules, or the file and field at fault.
    Check { file: PathBuf },
}

pub fn rules(command: RulesCommand) -> anyhow::Result<()> {
    match command {
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
