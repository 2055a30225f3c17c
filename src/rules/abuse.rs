//! Points-abuse rules, validated: patterns on a member's account rather than a card.

use super::fraud::RuleMeta;
use rust_decimal::Decimal;
use time::Duration;

/// At least `min_refunds` refunds (of sales that earned points) within `window`: buying to
/// farm bonuses and returning the goods.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundChurnRule {
    pub meta: RuleMeta,
    pub min_refunds: usize,
    pub window: Duration,
}

/// At least `min_count` purchases at one merchant within `window`, each just under
/// `threshold` (no more than `margin`, a fraction, below it): one purchase split to farm a
/// per-purchase bonus or stay under a limit.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPurchasesRule {
    pub meta: RuleMeta,
    pub threshold: Decimal,
    pub margin: Decimal,
    pub min_count: usize,
    pub window: Duration,
}

/// Transfers in from at least `min_senders` different members within `window`: points funnelled
/// to one account.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRingRule {
    pub meta: RuleMeta,
    pub min_senders: usize,
    pub window: Duration,
}

/// A redemption when at least `min_points` were earned within `window` before it: cashing out
/// a burst of earning before it can be reviewed or reversed.
#[derive(Debug, Clone, PartialEq)]
pub struct RedemptionBurstRule {
    pub meta: RuleMeta,
    pub min_points: i64,
    pub window: Duration,
}

/// The points-abuse rules a programme runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AbuseRules {
    pub refund_churn: Option<RefundChurnRule>,
    pub split_purchases: Option<SplitPurchasesRule>,
    pub transfer_ring: Option<TransferRingRule>,
    pub redemption_after_burst: Option<RedemptionBurstRule>,
}

impl AbuseRules {
    /// Whether any rule reads activity of `kind`, so whether it is worth remembering.
    pub fn reads(&self, kind: crate::domain::activity::ActivityKind) -> bool {
        use crate::domain::activity::ActivityKind;
        match kind {
            ActivityKind::Purchase => {
                self.split_purchases.is_some() || self.redemption_after_burst.is_some()
            }
            ActivityKind::Refund => self.refund_churn.is_some(),
            ActivityKind::TransferIn => self.transfer_ring.is_some(),
        }
    }

    /// The configured rules' ids, scores and modes.
    pub fn metas(&self) -> impl Iterator<Item = &RuleMeta> {
        [
            self.refund_churn.as_ref().map(|rule| &rule.meta),
            self.split_purchases.as_ref().map(|rule| &rule.meta),
            self.transfer_ring.as_ref().map(|rule| &rule.meta),
            self.redemption_after_burst.as_ref().map(|rule| &rule.meta),
        ]
        .into_iter()
        .flatten()
    }

    /// How far back a member's activity must reach for the longest window these rules use.
    pub fn span(&self) -> Duration {
        [
            self.refund_churn.as_ref().map(|rule| rule.window),
            self.split_purchases.as_ref().map(|rule| rule.window),
            self.transfer_ring.as_ref().map(|rule| rule.window),
            self.redemption_after_burst.as_ref().map(|rule| rule.window),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(Duration::ZERO)
    }
}
