//! Velocity: more spends on one card within a sliding window than a card normally makes.

use super::{Finding, FraudRule};
use crate::domain::{CardState, Transaction};
use crate::rules::VelocityRule;
use time::format_description::well_known::Rfc3339;

impl FraudRule for VelocityRule {
    fn evaluate(&self, txn: &Transaction, card: &CardState) -> Option<Finding> {
        let count = card.spends_within(txn.timestamp, self.window);
        (count > self.max_count).then(|| Finding {
            rule: self.id.clone(),
            description: format!(
                "{count} spends on this card within {} minutes up to {} (limit {})",
                self.window.whole_minutes(),
                txn.timestamp.format(&Rfc3339).unwrap_or_default(),
                self.max_count
            ),
            score: self.score,
            mode: self.mode,
        })
    }
}
