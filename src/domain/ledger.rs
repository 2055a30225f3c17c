//! Ledger events: the receipts of every change to a member's points.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What happened to the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerEventType {
    /// Points posted to the balance by a sale or a clearing.
    PointsEarned,
    /// Points earned by an authorization, held as pending.
    PointsPending,
    /// Pending points dropped because their authorization was reversed or refunded.
    PendingCancelled,
    /// Posted points taken back by a refund, reversal or chargeback.
    PointsReversed,
    /// Points of a sale held as pending because a fraud alert asked for a review.
    PointsHeld,
    /// Held points posted to the balance after a review approved the sale.
    PointsReleased,
    /// Held points dropped after a review rejected the sale.
    HoldRejected,
    /// The member moved to another tier (no points move).
    TierChanged,
    /// A lot of points reached its expiry.
    PointsExpired,
    /// Advance notice that a lot will expire (`expiring` says which, how many, when); no
    /// points move.
    PointsExpiring,
    /// Points spent on a reward.
    PointsRedeemed,
    /// A redemption refused (balance too low); no points move.
    RedemptionRejected,
    /// A redemption cancelled: its points back in their lots.
    RedemptionCancelled,
    /// Points sent to another member.
    PointsTransferred,
    /// Points received from another member's transfer.
    TransferReceived,
    /// A transfer refused (balance, limit, frozen); no points move.
    TransferRejected,
    /// Points for something other than a purchase: enrolment, sign-in, survey, review,
    /// referral.
    BonusEarned,
    /// Redemptions and transfers out are refused from now on; no points move.
    AccountFrozen,
    AccountUnfrozen,
    /// Points converted out of this programme into another.
    PointsExchanged,
    /// Points received in this programme from an exchange.
    ExchangeReceived,
    /// An exchange refused (balance, frozen, nothing to receive); no points move.
    ExchangeRejected,
    /// A sale's pending points posted once its settlement window passed.
    PointsPosted,
}

impl LedgerEventType {
    /// Every event type, for metric series known in advance.
    pub const ALL: [LedgerEventType; 23] = [
        LedgerEventType::PointsEarned,
        LedgerEventType::PointsPending,
        LedgerEventType::PendingCancelled,
        LedgerEventType::PointsReversed,
        LedgerEventType::PointsHeld,
        LedgerEventType::PointsReleased,
        LedgerEventType::HoldRejected,
        LedgerEventType::TierChanged,
        LedgerEventType::PointsExpired,
        LedgerEventType::PointsExpiring,
        LedgerEventType::PointsRedeemed,
        LedgerEventType::RedemptionRejected,
        LedgerEventType::RedemptionCancelled,
        LedgerEventType::PointsTransferred,
        LedgerEventType::TransferReceived,
        LedgerEventType::TransferRejected,
        LedgerEventType::BonusEarned,
        LedgerEventType::AccountFrozen,
        LedgerEventType::AccountUnfrozen,
        LedgerEventType::PointsExchanged,
        LedgerEventType::ExchangeReceived,
        LedgerEventType::ExchangeRejected,
        LedgerEventType::PointsPosted,
    ];

    /// The wire spelling, also used in event ids and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerEventType::PointsEarned => "points_earned",
            LedgerEventType::PointsPending => "points_pending",
            LedgerEventType::PendingCancelled => "pending_cancelled",
            LedgerEventType::PointsReversed => "points_reversed",
            LedgerEventType::PointsHeld => "points_held",
            LedgerEventType::PointsReleased => "points_released",
            LedgerEventType::HoldRejected => "hold_rejected",
            LedgerEventType::TierChanged => "tier_changed",
            LedgerEventType::PointsExpired => "points_expired",
            LedgerEventType::PointsExpiring => "points_expiring",
            LedgerEventType::PointsRedeemed => "points_redeemed",
            LedgerEventType::RedemptionRejected => "redemption_rejected",
            LedgerEventType::RedemptionCancelled => "redemption_cancelled",
            LedgerEventType::PointsTransferred => "points_transferred",
            LedgerEventType::TransferReceived => "transfer_received",
            LedgerEventType::TransferRejected => "transfer_rejected",
            LedgerEventType::BonusEarned => "bonus_earned",
            LedgerEventType::AccountFrozen => "account_frozen",
            LedgerEventType::AccountUnfrozen => "account_unfrozen",
            LedgerEventType::PointsExchanged => "points_exchanged",
            LedgerEventType::ExchangeReceived => "exchange_received",
            LedgerEventType::ExchangeRejected => "exchange_rejected",
            LedgerEventType::PointsPosted => "points_posted",
        }
    }
}

/// One rule's contribution to an event's points. The lines of an event add up to its
/// points (balance and pending together), rounding included, so a balance can be explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakdownLine {
    pub rule: String,
    /// A sentence with the inputs: amounts, rates, multipliers.
    pub detail: String,
    /// What the rule added (negative: took away), before the final rounding line.
    pub points: Decimal,
    /// Who pays for these points (issuer, a merchant partner, the programme operator), where
    /// the rule says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funded_by: Option<String>,
}

/// A ledger event as published on the ledger topic (key: member_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEvent {
    /// Deterministic: the same transaction always yields the same id.
    pub event_id: String,
    pub event_type: LedgerEventType,
    pub member_id: String,
    pub program_id: String,
    pub txn_id: String,
    /// Change to the posted balance.
    pub points: i64,
    /// Change to the pending points.
    pub pending_points: i64,
    pub balance_after: i64,
    pub pending_after: i64,
    pub tier: String,
    pub breakdown: Vec<BreakdownLine>,
    pub rules_version: String,
    /// Event time of the transaction that caused it.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// For `points_expiring`: the lot, its points and when they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiring: Option<super::lots::LotUse>,
}

/// `points` split among the parties funding `breakdown`'s lines, in proportion to the points
/// each party's lines add: what caps and rounding take away is taken from every party alike.
/// All of it goes to `fallback` when no line names a party that adds points.
pub fn funder_shares(
    breakdown: &[BreakdownLine],
    points: i64,
    fallback: &str,
) -> Vec<(String, i64)> {
    let mut by_funder: BTreeMap<String, Decimal> = BTreeMap::new();
    for line in breakdown.iter().filter(|line| line.points > Decimal::ZERO) {
        if let Some(funder) = &line.funded_by {
            *by_funder.entry(funder.clone()).or_default() += line.points;
        }
    }
    if by_funder.is_empty() {
        by_funder.insert(fallback.to_owned(), Decimal::ONE);
    }
    proportional_shares(by_funder, points)
}

/// `points` (positive) split in proportion to `weights` (positive): each share rounded down,
/// the points left over given one by one to the largest fractions. The shares add up to
/// `points`; zero shares are left out.
pub fn proportional_shares(weights: BTreeMap<String, Decimal>, points: i64) -> Vec<(String, i64)> {
    let total: Decimal = weights.values().sum();
    if points <= 0 || total <= Decimal::ZERO {
        return Vec::new();
    }
    if weights.len() == 1 {
        return weights.into_keys().map(|name| (name, points)).collect();
    }
    let mut shares: Vec<(String, i64, Decimal)> = weights
        .into_iter()
        .map(|(name, weight)| {
            let exact = weight * Decimal::from(points) / total;
            let whole = exact.floor();
            (name, i64::try_from(whole).unwrap_or(0), exact - whole)
        })
        .collect();
    let left = points - shares.iter().map(|(_, share, _)| share).sum::<i64>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2));
    for index in order.into_iter().cycle().take(left.max(0) as usize) {
        shares[index].1 += 1;
    }
    shares
        .into_iter()
        .filter(|(_, share, _)| *share > 0)
        .map(|(name, share, _)| (name, share))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn shares_add_up_and_stay_within_a_point_of_the_exact_split(
            weights in proptest::collection::vec(1u32..100_000, 1..5),
            points in 1i64..1_000_000,
        ) {
            let weights: BTreeMap<String, Decimal> = weights
                .iter()
                .enumerate()
                .map(|(index, weight)| (format!("funder-{index}"), Decimal::from(*weight)))
                .collect();
            let total: Decimal = weights.values().sum();
            let shares = proportional_shares(weights.clone(), points);
            prop_assert_eq!(shares.iter().map(|(_, share)| share).sum::<i64>(), points);
            for (name, share) in shares {
                let exact = weights[&name] * Decimal::from(points) / total;
                prop_assert!((Decimal::from(share) - exact).abs() < Decimal::ONE);
            }
        }
    }
}
