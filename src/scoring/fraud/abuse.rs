//! Points-abuse rules: patterns in a member's own activity, assessed before the current
//! entry is recorded and counting it in.

use super::Finding;
use crate::domain::activity::{Activity, ActivityKind};
use crate::domain::card::millis;
use crate::domain::{MemberState, Transaction, TxnKind};
use crate::rules::abuse::AbuseRules;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What the abuse rules find in a transaction on `member`'s account (`base_amount` is its
/// amount in the programme's base currency).
pub fn on_transaction(
    txn: &Transaction,
    base_amount: Decimal,
    member: &MemberState,
    rules: &AbuseRules,
) -> Vec<Finding> {
    let at = millis(txn.timestamp);
    let mut findings = Vec::new();
    match txn.kind {
        TxnKind::Purchase | TxnKind::Authorization => {
            if let Some(rule) = &rules.split_purchases {
                let floor = rule.threshold * (Decimal::ONE - rule.margin);
                let in_band = |amount: Decimal| floor <= amount && amount < rule.threshold;
                let earlier = member
                    .activity_within(ActivityKind::Purchase, at, rule.window)
                    .filter(|a| a.party == txn.merchant.id && in_band(a.amount))
                    .count();
                if in_band(base_amount) && earlier + 1 >= rule.min_count {
                    findings.push(rule.meta.finding(format!(
                        "{} purchases at {} within {} minutes, each just under {} ({} and up)",
                        earlier + 1,
                        txn.merchant.id,
                        rule.window.whole_minutes(),
                        rule.threshold,
                        floor.normalize()
                    )));
                }
            }
        }
        TxnKind::Refund | TxnKind::Reversal | TxnKind::Chargeback => {
            if let Some(rule) = &rules.refund_churn {
                let earlier = member
                    .activity_within(ActivityKind::Refund, at, rule.window)
                    .count();
                if earlier + 1 >= rule.min_refunds {
                    findings.push(rule.meta.finding(format!(
                        "{} refunds of purchases that earned points within {} days (limit {})",
                        earlier + 1,
                        rule.window.whole_days(),
                        rule.min_refunds - 1
                    )));
                }
            }
        }
        TxnKind::Clearing => {}
    }
    findings
}

/// What the abuse rules find in a redemption of `points` at `at`.
pub fn on_redemption(member: &MemberState, at: OffsetDateTime, rules: &AbuseRules) -> Vec<Finding> {
    let Some(rule) = &rules.redemption_after_burst else {
        return Vec::new();
    };
    let earned: i64 = member
        .activity_within(ActivityKind::Purchase, millis(at), rule.window)
        .map(|a| a.points)
        .sum();
    if earned < rule.min_points {
        return Vec::new();
    }
    vec![rule.meta.finding(format!(
        "redemption after {earned} points were earned within {} hours (threshold {})",
        rule.window.whole_hours(),
        rule.min_points
    ))]
}

/// What the abuse rules find in a transfer received from `sender` at `at`.
pub fn on_transfer_in(
    member: &MemberState,
    sender: &str,
    at: OffsetDateTime,
    rules: &AbuseRules,
) -> Vec<Finding> {
    let Some(rule) = &rules.transfer_ring else {
        return Vec::new();
    };
    let mut senders: BTreeSet<&str> = member
        .activity_within(ActivityKind::TransferIn, millis(at), rule.window)
        .map(|a| a.party.as_str())
        .collect();
    senders.insert(sender);
    if senders.len() < rule.min_senders {
        return Vec::new();
    }
    vec![rule.meta.finding(format!(
        "transfers in from {} members within {} days: {}",
        senders.len(),
        rule.window.whole_days(),
        senders.into_iter().collect::<Vec<_>>().join(", ")
    ))]
}

/// Remembers `entry` on the member's account if a configured rule reads its kind.
pub fn remember(member: &mut MemberState, entry: Activity, rules: &AbuseRules) {
    if rules.reads(entry.kind) {
        member.record_activity(entry, rules.span());
    }
}

/// The activity entry a scored transaction leaves, if the abuse rules look at its kind.
pub fn activity_of(txn: &Transaction, base_amount: Decimal, points: i64) -> Option<Activity> {
    let kind = match txn.kind {
        TxnKind::Purchase | TxnKind::Authorization => ActivityKind::Purchase,
        TxnKind::Refund | TxnKind::Reversal | TxnKind::Chargeback => ActivityKind::Refund,
        TxnKind::Clearing => return None,
    };
    Some(Activity {
        at_ms: millis(txn.timestamp),
        kind,
        points,
        amount: base_amount,
        party: txn.merchant.id.clone(),
    })
}

#[cfg(test)]
mod tests;
