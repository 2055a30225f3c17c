//! Duplicate transaction: the same card, merchant and amount again within a short window under
//! a different txn_id (a true redelivery has the same id and never reaches the rules).

use super::{Finding, FraudRule, SpendContext};
use crate::domain::card::millis;
use crate::domain::CardState;
use crate::rules::fraud::DuplicateRule;
use crate::rules::fraud::RuleMeta;

impl FraudRule for DuplicateRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, card: &CardState) -> Option<Finding> {
        let txn = spend.txn;
        let at = millis(txn.timestamp);
        // Either side of this spend: a late arrival can duplicate a later one.
        let twin = card
            .spends_within(
                txn.timestamp.saturating_add(self.window),
                self.window.saturating_mul(2),
            )
            .find(|earlier| {
                earlier.merchant == txn.merchant.id && earlier.amount == spend.amount
            })?;
        let seconds = (twin.at_ms - at).abs() as f64 / 1000.0;
        Some(self.meta.finding(format!(
            "same amount {} {} at the same merchant {} {seconds:.0} s apart (window {} s)",
            spend.amount.round_dp(2),
            spend.currency,
            txn.merchant.id,
            self.window.whole_seconds()
        )))
    }
}
