//! `txscore rules ...`: checking rules files before they are deployed.

use crate::rules::RuleSet;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules file; prints its programmes and rules, or the field at fault.
    Check { file: PathBuf },
}

pub fn rules(command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check { file } => {
            let rules = RuleSet::load(&file)?;
            println!(
                "{}: rules version {} is valid",
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
            for rule in crate::scoring::fraud::configured(&rules.fraud) {
                let meta = rule.meta();
                println!(
                    "  fraud rule {}: score {} ({})",
                    meta.id,
                    meta.score,
                    meta.mode.as_str()
                );
            }
            Ok(())
        }
    }
}
