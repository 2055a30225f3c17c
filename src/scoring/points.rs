//! What a refund, reversal or chargeback takes back: the share of the original's points that
//! the amount returned represents. The result's breakdown lines add up to the pending points it
//! moves; posted points are explained by [`lot_lines`], once the lots they came from are known.

use super::earning::{checked, whole};
use super::Rejection;
use crate::domain::lots::LotUse;
use crate::domain::{BreakdownLine, Earning, LedgerEventType, MemberState, Transaction};
use crate::rules::Program;
use rust_decimal::Decimal;

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
    Rejection::unless_same_program(
        original_id,
        &original.program_id,
        txn.kind.as_str(),
        &txn.program_id,
    )?;
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
        points: if original.held {
            -Decimal::from(owed)
        } else {
            Decimal::ZERO
        },
        funded_by: None,
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
            points: Decimal::ZERO,
            funded_by: None,
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

/// The lines of posted points taken back: one per lot they came from, naming its funder, and
/// what no lot held (a balance allowed below zero). They add up to `-points`.
pub fn lot_lines(uses: &[LotUse], points: i64) -> Vec<BreakdownLine> {
    let mut lines: Vec<BreakdownLine> = uses
        .iter()
        .map(|used| BreakdownLine {
            rule: format!("lot:{}", used.lot),
            detail: format!("{} points taken back from lot {}", used.points, used.lot),
            points: -Decimal::from(used.points),
            funded_by: (!used.funded_by.is_empty()).then(|| used.funded_by.clone()),
        })
        .collect();
    let beyond = points - uses.iter().map(|used| used.points).sum::<i64>();
    if beyond > 0 {
        lines.push(BreakdownLine {
            rule: "negative_balance".into(),
            detail: format!("{beyond} points taken below a zero balance"),
            points: -Decimal::from(beyond),
            funded_by: None,
        });
    }
    lines
}
