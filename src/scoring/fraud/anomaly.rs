//! Amount anomaly: a spend far above the card's own running baseline, once the baseline has
//! seen enough spends to be trusted.

use super::{Finding, FraudRule, SpendContext};
use crate::domain::CardState;
use crate::rules::fraud::AmountAnomalyRule;
use crate::rules::fraud::RuleMeta;
use rust_decimal::prelude::ToPrimitive;

impl FraudRule for AmountAnomalyRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, card: &CardState) -> Option<Finding> {
        let baseline = &card.baseline;
        if baseline.count < self.warmup || spend.amount < self.min_amount {
            return None;
        }
        let amount = spend.amount.to_f64()?;
        // A card that always spends the same has no spread; a floor of a tenth of its mean
        // (and one unit) keeps a small change from looking infinitely unusual.
        let spread = baseline
            .variance
            .sqrt()
            .max(baseline.mean.abs() * 0.1)
            .max(1.0);
        let z = (amount - baseline.mean) / spread;
        (z > self.z_threshold).then(|| {
            self.meta.finding(format!(
                "{} {} is {z:.1} standard deviations above this card's usual {:.2} {} (over {} spends; threshold {})",
                spend.amount.round_dp(2),
                spend.currency,
                baseline.mean,
                spend.currency,
                baseline.count,
                self.z_threshold
            ))
        })
    }
}
