//! Points arithmetic: what a spend earns, and what a refund, reversal or chargeback takes back.
//! Every result carries breakdown lines that add up exactly to the points it moves.

use super::Rejection;
use crate::domain::{BreakdownLine, Earning, LedgerEventType, MemberState, Transaction};
use crate::rules::Program;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Points earned by a spend, with the rules that made them.
#[derive(Debug, Clone, PartialEq)]
pub struct Earned {
    pub points: i64,
    pub breakdown: Vec<BreakdownLine>,
}

/// Earning for `txn` in `program` at `tier`: the amount in the base currency (`base_amount`,
/// converted once by the caller), times the points rate, times the tier multiplier, rounded
/// once by the programme's policy.
pub fn earn(
    txn: &Transaction,
    base_amount: Decimal,
    program: &Program,
    tier: &str,
) -> Result<Earned, Rejection> {
    let base_points = checked(base_amount.checked_mul(program.points_per_unit))?;
    let converted = if txn.currency == program.base_currency {
        String::new()
    } else {
        format!(
            "{} {} at {} {}/{} = ",
            txn.amount,
            txn.currency,
            program.fx[&txn.currency],
            program.base_currency,
            txn.currency
        )
    };
    let mut breakdown = vec![BreakdownLine {
        rule: "base_rate".into(),
        detail: format!(
            "{converted}{} {} x {} points per {}",
            base_amount.normalize(),
            program.base_currency,
            program.points_per_unit,
            program.base_currency
        ),
        points: base_points,
    }];

    let multiplier = program.tiers.get(tier).copied().unwrap_or(Decimal::ONE);
    let total = checked(base_points.checked_mul(multiplier))?;
    if multiplier != Decimal::ONE {
        breakdown.push(BreakdownLine {
            rule: "tier_multiplier".into(),
            detail: format!("tier {tier} x{multiplier}"),
            points: total - base_points,
        });
    }

    let rounded = program.rounding.apply(total);
    if rounded != total {
        breakdown.push(BreakdownLine {
            rule: "rounding".into(),
            detail: format!("{} of {}", program.rounding.as_str(), total.normalize()),
            points: rounded - total,
        });
    }
    Ok(Earned {
        points: whole(rounded)?,
        breakdown,
    })
}

/// Points a refund, reversal or chargeback takes back from its original.
#[derive(Debug, Clone, PartialEq)]
pub struct TakenBack {
    pub event_type: LedgerEventType,
    /// Change to the balance (zero or negative).
    pub points: i64,
    /// Change to pending points (zero or negative).
    pub pending_points: i64,
    /// Points owed that the balance could not cover.
    pub shortfall: i64,
    pub breakdown: Vec<BreakdownLine>,
    /// The original's earning after this take-back.
    pub original: Earning,
}

/// Takes back the share of the original's points that the amount returned so far represents.
/// Computed on the cumulative amount, so partial refunds that add up to the whole take back
/// exactly what was earned, and never more.
pub fn take_back(
    txn: &Transaction,
    member: &MemberState,
    mut original: Earning,
    program: &Program,
) -> Result<TakenBack, Rejection> {
    let original_id = txn.original_txn_id.as_deref().unwrap_or_default();
    if txn.currency != original.currency {
        return Err(Rejection::OriginalMismatch(format!(
            "{} in {} cannot take back from {original_id} in {}",
            txn.kind.as_str(),
            txn.currency,
            original.currency
        )));
    }
    let returned = (original.reversed_amount + txn.amount).min(original.amount);
    let target = if returned >= original.amount {
        original.points
    } else {
        let share =
            checked(Decimal::from(original.points).checked_mul(returned))? / original.amount;
        whole(program.rounding.apply(share))?
    };
    let owed =
        (target - original.reversed_points).clamp(0, original.points - original.reversed_points);
    original.reversed_points += owed;
    original.reversed_amount = returned;

    let mut breakdown = vec![BreakdownLine {
        rule: txn.kind.as_str().into(),
        detail: format!(
            "{} {} of {} {} returned on {original_id}: {owed} of its {} points taken back",
            txn.amount, txn.currency, original.amount, original.currency, original.points
        ),
        points: -Decimal::from(owed),
    }];

    if original.held {
        return Ok(TakenBack {
            event_type: LedgerEventType::PendingCancelled,
            points: 0,
            pending_points: -owed,
            shortfall: 0,
            breakdown,
            original,
        });
    }
    let covered = if program.allow_negative_balance {
        owed
    } else {
        owed.min(member.balance.max(0))
    };
    let shortfall = owed - covered;
    if shortfall > 0 {
        breakdown.push(BreakdownLine {
            rule: "shortfall".into(),
            detail: format!(
                "balance was {}: {shortfall} points could not be taken back and are recorded as shortfall",
                member.balance
            ),
            points: Decimal::from(shortfall),
        });
    }
    Ok(TakenBack {
        event_type: LedgerEventType::PointsReversed,
        points: -covered,
        pending_points: 0,
        shortfall,
        breakdown,
        original,
    })
}

fn checked(value: Option<Decimal>) -> Result<Decimal, Rejection> {
    value.ok_or(Rejection::OutOfRange)
}

fn whole(rounded: Decimal) -> Result<i64, Rejection> {
    rounded.to_i64().ok_or(Rejection::OutOfRange)
}
