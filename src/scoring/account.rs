//! How one transaction moves a member's account, kind by kind, before it is applied.

use super::earning::{earn, Earned};
use super::{points, BudgetRoom, Rejection};
use crate::domain::counters::Counted;
use crate::domain::ledger::funder_shares;
use crate::domain::lots::Maturing;
use crate::domain::{
    Alert, BreakdownLine, Earning, LedgerEventType, MemberState, Transaction, TxnKind,
};
use crate::rules::Program;
use rust_decimal::Decimal;

/// How one transaction moves a member's points, before it is applied.
pub(super) struct AccountChange {
    pub event_type: Option<LedgerEventType>,
    pub points: i64,
    pub pending_points: i64,
    /// The part of `pending_points` held for a fraud review.
    pub held_points: i64,
    pub shortfall: i64,
    pub breakdown: Vec<BreakdownLine>,
    pub earning: Option<Earning>,
    pub original: Option<Earning>,
    /// What the earning adds to the member's counters.
    pub counted: Counted,
    /// What an earlier earning counted that this change takes back.
    pub uncounted: Option<Uncount>,
    /// Spend-threshold bonuses given (`<campaign>@<period>`).
    pub thresholds_reached: Vec<String>,
    /// A sale held by the settlement window, to post when it passes.
    pub maturing: Option<Maturing>,
    /// Pending points a refund took from a sale still in its settlement window: (sale, points).
    pub maturing_cut: Option<(String, i64)>,
}

/// The share of an earlier earning's counts to take back: `points` of its `of` points, and
/// `qualifying` of its tier-qualifying amount.
pub(super) struct Uncount {
    pub counted: Counted,
    pub points: i64,
    pub of: i64,
    pub qualifying: Decimal,
}

pub(super) fn account_change(
    txn: &Transaction,
    base_amount: Decimal,
    member: &MemberState,
    original: Option<Earning>,
    program: &Program,
    hold: Option<&Alert>,
    budget: &BudgetRoom,
) -> Result<AccountChange, Rejection> {
    let original_id = || txn.original_txn_id.clone().unwrap_or_default();
    match txn.kind {
        TxnKind::Purchase | TxnKind::Authorization => {
            let mut earned = earn(txn, base_amount, program, member, budget)?;
            let under_review = hold.filter(|_| txn.kind == TxnKind::Purchase);
            let event_type = match (txn.kind, under_review) {
                (TxnKind::Authorization, _) => LedgerEventType::PointsPending,
                (_, Some(alert)) => {
                    earned.breakdown.push(BreakdownLine {
                        rule: "fraud_hold".into(),
                        detail: format!(
                            "held pending review: alert {} scored {} ({})",
                            alert.alert_id,
                            alert.score,
                            alert.severity.as_str()
                        ),
                        points: Decimal::ZERO,
                        funded_by: None,
                    });
                    LedgerEventType::PointsHeld
                }
                (TxnKind::Purchase, None) if program.settlement_window.is_some() => {
                    LedgerEventType::PointsPending
                }
                _ => LedgerEventType::PointsEarned,
            };
            let held = event_type != LedgerEventType::PointsEarned;
            let (points, pending_points) = if held {
                (0, earned.points)
            } else {
                (earned.points, 0)
            };
            let mut earning = new_earning(txn, program, &earned, held);
            earning.under_review = under_review.is_some();
            let maturing = match (txn.kind, under_review, program.settlement_window) {
                (TxnKind::Purchase, None, Some(window)) => {
                    let posts_at = txn
                        .timestamp
                        .checked_add(window)
                        .ok_or(Rejection::OutOfRange)?;
                    earning.posts_at = Some(posts_at);
                    earned.breakdown.push(BreakdownLine {
                        rule: "settlement_window".into(),
                        detail: format!("pending until the settlement window ends at {posts_at}"),
                        points: Decimal::ZERO,
                        funded_by: None,
                    });
                    Some(Maturing {
                        txn_id: txn.txn_id.clone(),
                        points: earned.points,
                        posts_at,
                        lots: earning.lots.clone(),
                    })
                }
                _ => None,
            };
            Ok(AccountChange {
                event_type: Some(event_type),
                points,
                pending_points,
                held_points: if earning.under_review {
                    pending_points
                } else {
                    0
                },
                shortfall: 0,
                breakdown: earned.breakdown,
                earning: Some(earning),
                original: None,
                counted: earned.counted,
                uncounted: None,
                thresholds_reached: earned.thresholds_reached,
                maturing,
                maturing_cut: None,
            })
        }
        TxnKind::Clearing => {
            let mut authorization =
                original.ok_or_else(|| Rejection::UnknownOriginal(original_id()))?;
            Rejection::unless_same_program(
                &original_id(),
                &authorization.program_id,
                "clearing",
                &txn.program_id,
            )?;
            if authorization.kind != TxnKind::Authorization {
                return Err(Rejection::OriginalMismatch(format!(
                    "a clearing must name an authorization; `{}` is a {}",
                    original_id(),
                    authorization.kind.as_str(),
                )));
            }
            let mut earned = earn(txn, base_amount, program, member, budget)?;
            if !authorization.held {
                // A later presentment of one authorization (a split shipment, an
                // incremental charge): the member paid it, so it earns; the first clearing
                // (or a reversal) already released the hold.
                earned.breakdown.push(BreakdownLine {
                    rule: "authorization_cleared".into(),
                    detail: format!(
                        "authorization {} was already cleared or reversed: nothing pending left \
                         to release",
                        original_id()
                    ),
                    points: Decimal::ZERO,
                    funded_by: None,
                });
                return Ok(posted_clearing(txn, program, earned, 0, None, None));
            }
            let released = authorization.points - authorization.reversed_points;
            if released > 0 {
                earned.breakdown.push(BreakdownLine {
                    rule: "authorization_cleared".into(),
                    detail: format!(
                        "{released} pending points of authorization {} replaced by the cleared amount",
                        original_id()
                    ),
                    points: -Decimal::from(released),
                    funded_by: None,
                });
            }
            let uncounted = Uncount {
                counted: authorization.counted.clone(),
                points: authorization.points,
                of: authorization.points,
                qualifying: authorization.counted.qualifying,
            };
            authorization.held = false;
            authorization.reversed_points = authorization.points;
            Ok(posted_clearing(
                txn,
                program,
                earned,
                released,
                Some(authorization),
                Some(uncounted),
            ))
        }
        TxnKind::Refund | TxnKind::Reversal | TxnKind::Chargeback => {
            let mut original = original.ok_or_else(|| Rejection::UnknownOriginal(original_id()))?;
            // A sale past its settlement window was posted when time passed it.
            let maturing = original.held && !original.under_review && original.posts_at.is_some();
            if maturing && original.posts_at.is_some_and(|at| at <= txn.timestamp) {
                original.held = false;
            }
            let still_maturing = maturing && original.held;
            let under_review = original.under_review;
            let before = (original.reversed_points, original.reversed_amount);
            let counted = original.counted.clone();
            let (of, amount) = (original.points, original.amount);
            let taken = points::take_back(txn, member, original, program)?;
            let returned = taken.original.reversed_amount - before.1;
            let uncounted = Uncount {
                points: taken.original.reversed_points - before.0,
                of,
                qualifying: if amount.is_zero() {
                    Decimal::ZERO
                } else {
                    counted.qualifying * (returned / amount).min(Decimal::ONE)
                },
                counted,
            };
            Ok(AccountChange {
                event_type: Some(taken.event_type),
                points: taken.points,
                pending_points: taken.pending_points,
                held_points: if under_review {
                    taken.pending_points
                } else {
                    0
                },
                shortfall: taken.shortfall,
                breakdown: taken.breakdown,
                earning: None,
                original: Some(taken.original),
                counted: Counted::default(),
                uncounted: Some(uncounted),
                thresholds_reached: Vec::new(),
                maturing: None,
                maturing_cut: still_maturing.then(|| (original_id(), -taken.pending_points)),
            })
        }
    }
}

/// A clearing's change: its own amount's points posted, `released` pending points of its
/// authorization let go, and the authorization's record and counts as they end up.
fn posted_clearing(
    txn: &Transaction,
    program: &Program,
    earned: Earned,
    released: i64,
    authorization: Option<Earning>,
    uncounted: Option<Uncount>,
) -> AccountChange {
    AccountChange {
        event_type: Some(LedgerEventType::PointsEarned),
        points: earned.points,
        pending_points: -released,
        held_points: 0,
        shortfall: 0,
        earning: Some(new_earning(txn, program, &earned, false)),
        breakdown: earned.breakdown,
        original: authorization,
        counted: earned.counted,
        uncounted,
        thresholds_reached: earned.thresholds_reached,
        maturing: None,
        maturing_cut: None,
    }
}

/// The record of what `earned` gives, its points in one lot per funder's share.
fn new_earning(txn: &Transaction, program: &Program, earned: &Earned, held: bool) -> Earning {
    let shares = funder_shares(&earned.breakdown, earned.points, &program.earning.funded_by);
    Earning {
        kind: txn.kind,
        program_id: txn.program_id.clone(),
        amount: txn.amount,
        currency: txn.currency.clone(),
        points: earned.points,
        held,
        under_review: false,
        reversed_points: 0,
        reversed_amount: Decimal::ZERO,
        counted: earned.counted.clone(),
        lots: super::expiry::lots_for(program, txn.timestamp, shares),
        posts_at: None,
    }
}
