//! The pure scoring core: a transaction, the state it touches and the rules in, the new state
//! and its outputs out. No I/O, no wall clock: the same input always gives the same decision.
//!
//! - [`points`]: earning and taking back points, with a breakdown per rule.
//! - [`fraud`]: fraud rules and how their findings combine into alerts.
//! - [`review`]: a reviewer's decision on points a fraud alert held.
//! - this module: [`score`], which applies a transaction's kind to the account.

pub mod fraud;
pub mod points;
pub mod review;

use crate::domain::alert::{Action, Mode};
use crate::domain::{
    Alert, BreakdownLine, CardState, Earning, LedgerEvent, LedgerEventType, MemberState,
    Transaction, TxnKind,
};
use crate::rules::{Program, RuleSet};
use rust_decimal::Decimal;
use time::OffsetDateTime;

/// A transaction scoring cannot apply; it goes to the dead-letter topic with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("program_id `{0}` is not a programme in rules")]
    UnknownProgram(String),
    #[error("currency {currency} has no exchange rate in programme `{program}`")]
    UnknownCurrency { currency: String, program: String },
    #[error("original_txn_id `{0}` is not a transaction applied to this account")]
    UnknownOriginal(String),
    #[error("{0}")]
    OriginalMismatch(String),
    #[error("amount times the programme's rates exceeds the range points can hold")]
    OutOfRange,
    #[error("{0}")]
    NotHeld(String),
}

impl Rejection {
    /// Stable, low-cardinality name for metrics and DLQ records.
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::UnknownProgram(_) => "unknown_program",
            Rejection::UnknownCurrency { .. } => "unknown_currency",
            Rejection::UnknownOriginal(_) => "unknown_original",
            Rejection::OriginalMismatch(_) => "original_mismatch",
            Rejection::OutOfRange => "out_of_range",
            Rejection::NotHeld(_) => "not_held",
        }
    }
}

/// The state a transaction is scored against, as loaded from the store.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// The member's account in the transaction's programme; `None` if never seen.
    pub member: Option<MemberState>,
    pub card: CardState,
    /// What the transaction named by `original_txn_id` earned, if it was applied.
    pub original: Option<Earning>,
}

/// Everything a transaction changes and publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The member's new account; `None` when the transaction has no member to credit.
    pub member: Option<MemberState>,
    pub card: CardState,
    pub ledger: Vec<LedgerEvent>,
    pub alerts: Vec<Alert>,
    /// What this transaction earned, kept so later refunds can take it back.
    pub earning: Option<Earning>,
    /// The original transaction's earning after this one took from it.
    pub original: Option<Earning>,
    /// The spend arrived beyond the lateness bound (see [`fraud::assess`]).
    pub late: bool,
}

/// Scores one transaction. `member_id` is the account to credit (the message's, or the card's
/// linked member); without one only the fraud rules run.
pub fn score(
    txn: &Transaction,
    member_id: Option<&str>,
    accounts: Accounts,
    rules: &RuleSet,
) -> Result<Decision, Rejection> {
    let program = program(rules, &txn.program_id)?;
    let rate = program
        .fx
        .get(&txn.currency)
        .ok_or_else(|| Rejection::UnknownCurrency {
            currency: txn.currency.clone(),
            program: program.id.clone(),
        })?;
    let spend = fraud::SpendContext {
        txn,
        amount: txn.amount.checked_mul(*rate).ok_or(Rejection::OutOfRange)?,
        currency: &program.base_currency,
    };

    let mut card = accounts.card;
    let late = txn.kind.is_spend()
        && fraud::late_behind(txn, &card, rules.fraud_for(&txn.program_id)).is_some();
    let alerts = fraud::assess(&spend, member_id, &mut card, rules);
    let hold = alerts
        .iter()
        .find(|alert| alert.mode == Mode::Enforce && alert.action == Action::HoldPoints);

    let Some(member_id) = member_id else {
        return Ok(Decision {
            member: None,
            card,
            ledger: Vec::new(),
            alerts,
            earning: None,
            original: None,
            late,
        });
    };
    let mut member = accounts
        .member
        .unwrap_or_else(|| MemberState::new(&program.default_tier));
    let change = account_change(txn, spend.amount, &member, accounts.original, program, hold)?;

    member.balance += change.points;
    member.pending += change.pending_points;
    member.held += change.held_points;
    member.shortfall += change.shortfall;
    if change.points > 0 {
        member.lifetime_earned += change.points;
    }
    member.txn_count += 1;
    member.last_event_at = Some(
        member
            .last_event_at
            .map_or(txn.timestamp, |t| t.max(txn.timestamp)),
    );

    let ledger = change
        .event_type
        .map(|event_type| {
            let entry = Entry {
                event_type,
                txn_id: &txn.txn_id,
                points: change.points,
                pending_points: change.pending_points,
                breakdown: change.breakdown,
                at: txn.timestamp,
            };
            entry.into_event(member_id, &member, program, rules)
        })
        .into_iter()
        .collect();

    Ok(Decision {
        member: Some(member),
        card,
        ledger,
        alerts,
        earning: change.earning,
        original: change.original,
        late,
    })
}

/// The programme `id` names in `rules`.
fn program<'r>(rules: &'r RuleSet, id: &str) -> Result<&'r Program, Rejection> {
    rules
        .programs
        .get(id)
        .ok_or_else(|| Rejection::UnknownProgram(id.to_owned()))
}

/// How one transaction moves a member's points, before it is applied.
struct AccountChange {
    event_type: Option<LedgerEventType>,
    points: i64,
    pending_points: i64,
    /// The part of `pending_points` held for a fraud review.
    held_points: i64,
    shortfall: i64,
    breakdown: Vec<BreakdownLine>,
    earning: Option<Earning>,
    original: Option<Earning>,
}

fn account_change(
    txn: &Transaction,
    base_amount: Decimal,
    member: &MemberState,
    original: Option<Earning>,
    program: &Program,
    hold: Option<&Alert>,
) -> Result<AccountChange, Rejection> {
    let original_id = || txn.original_txn_id.clone().unwrap_or_default();
    match txn.kind {
        TxnKind::Purchase | TxnKind::Authorization => {
            let mut earned = points::earn(txn, base_amount, program, &member.tier)?;
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
                    });
                    LedgerEventType::PointsHeld
                }
                _ => LedgerEventType::PointsEarned,
            };
            let held = event_type != LedgerEventType::PointsEarned;
            let (points, pending_points) = if held {
                (0, earned.points)
            } else {
                (earned.points, 0)
            };
            let mut earning = new_earning(txn, earned.points, held);
            earning.under_review = under_review.is_some();
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
            })
        }
        TxnKind::Clearing => {
            let mut authorization =
                original.ok_or_else(|| Rejection::UnknownOriginal(original_id()))?;
            if authorization.kind != TxnKind::Authorization || !authorization.held {
                return Err(Rejection::OriginalMismatch(format!(
                    "a clearing must name an open authorization; `{}` is a {}{}",
                    original_id(),
                    authorization.kind.as_str(),
                    if authorization.held {
                        ""
                    } else {
                        " already cleared or reversed"
                    }
                )));
            }
            let mut earned = points::earn(txn, base_amount, program, &member.tier)?;
            let released = authorization.points - authorization.reversed_points;
            if released > 0 {
                earned.breakdown.push(BreakdownLine {
                    rule: "authorization_cleared".into(),
                    detail: format!(
                        "{released} pending points of authorization {} replaced by the cleared amount",
                        original_id()
                    ),
                    points: -Decimal::from(released),
                });
            }
            authorization.held = false;
            authorization.reversed_points = authorization.points;
            Ok(AccountChange {
                event_type: Some(LedgerEventType::PointsEarned),
                points: earned.points,
                pending_points: -released,
                held_points: 0,
                shortfall: 0,
                breakdown: earned.breakdown,
                earning: Some(new_earning(txn, earned.points, false)),
                original: Some(authorization),
            })
        }
        TxnKind::Refund | TxnKind::Reversal | TxnKind::Chargeback => {
            let original = original.ok_or_else(|| Rejection::UnknownOriginal(original_id()))?;
            let under_review = original.under_review;
            let taken = points::take_back(txn, member, original, program)?;
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
            })
        }
    }
}

fn new_earning(txn: &Transaction, points: i64, held: bool) -> Earning {
    Earning {
        kind: txn.kind,
        program_id: txn.program_id.clone(),
        amount: txn.amount,
        currency: txn.currency.clone(),
        points,
        held,
        under_review: false,
        reversed_points: 0,
        reversed_amount: Decimal::ZERO,
    }
}

/// A change to a member's points about to become a ledger event.
struct Entry<'a> {
    event_type: LedgerEventType,
    txn_id: &'a str,
    points: i64,
    pending_points: i64,
    breakdown: Vec<BreakdownLine>,
    at: OffsetDateTime,
}

impl Entry<'_> {
    /// The ledger event, given the member's account after the change.
    fn into_event(
        self,
        member_id: &str,
        member: &MemberState,
        program: &Program,
        rules: &RuleSet,
    ) -> LedgerEvent {
        LedgerEvent {
            event_id: format!("{}/{}", self.txn_id, self.event_type.as_str()),
            event_type: self.event_type,
            member_id: member_id.to_owned(),
            program_id: program.id.clone(),
            txn_id: self.txn_id.to_owned(),
            points: self.points,
            pending_points: self.pending_points,
            balance_after: member.balance,
            pending_after: member.pending,
            tier: member.tier.clone(),
            breakdown: self.breakdown,
            rules_version: rules.version.clone(),
            occurred_at: self.at,
        }
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
