//! Card testing: several small spends (a stolen card being checked) followed by a large one.

use super::{Finding, FraudRule, SpendContext};
use crate::domain::CardState;
use crate::rules::fraud::CardTestingRule;
use crate::rules::fraud::RuleMeta;

impl FraudRule for CardTestingRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, card: &CardState) -> Option<Finding> {
        if spend.amount < self.large_amount {
            return None;
        }
        let small = card
            .spends_within(spend.txn.timestamp, self.window)
            .filter(|earlier| earlier.amount <= self.small_amount)
            .count();
        (small >= self.min_small).then(|| {
            self.meta.finding(format!(
                "{small} spends of at most {} {} within {} minutes, then {} {}",
                self.small_amount,
                spend.currency,
                self.window.whole_minutes(),
                spend.amount.round_dp(2),
                spend.currency
            ))
        })
    }
}
