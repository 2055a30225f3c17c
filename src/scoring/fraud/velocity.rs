//! Velocity: more spends, or more money, on one card within a sliding window than it normally
//! sees. Exact over the window (every spend's event time is kept), so a burst straddling a
//! boundary is not missed.

use super::{Finding, FraudRule, SpendContext};
use crate::domain::CardState;
use crate::rules::fraud::RuleMeta;
use crate::rules::fraud::VelocityRule;

impl FraudRule for VelocityRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, card: &CardState) -> Option<Finding> {
        let at = spend.txn.timestamp;
        let (count, total) = card
            .spends_within(at, self.window)
            .fold((1, spend.amount), |(count, total), earlier| {
                (count + 1, total + earlier.amount)
            });
        let minutes = self.window.whole_minutes();
        let too_many = self.max_count.filter(|limit| count > *limit);
        let too_much = self.max_amount.filter(|limit| total > *limit);
        let description = match (too_many, too_much) {
            (None, None) => return None,
            (Some(limit), None) => format!("{count} spends on this card within {minutes} minutes (limit {limit})"),
            (None, Some(limit)) => format!(
                "{} {} spent on this card within {minutes} minutes (limit {limit})",
                total.round_dp(2),
                spend.currency
            ),
            (Some(count_limit), Some(amount_limit)) => format!(
                "{count} spends totalling {} {} on this card within {minutes} minutes (limits {count_limit} spends, {amount_limit})",
                total.round_dp(2),
                spend.currency
            ),
        };
        Some(self.meta.finding(description))
    }
}
