//! The pure scoring core: a transaction, the state it touches and the rules in, the new state
//! and its outputs out. No I/O, no wall clock: the same input always gives the same decision.
//!
//! - [`earning`]: what a spend earns under a programme's rules, line by line.
//! - [`points`]: what refunds, reversals and chargebacks take back.
//! - [`tiers`]: tier qualification and tier changes.
//! - [`expiry`]: lots that expire as event time passes.
//! - [`commands`]: redemptions, their cancellation, transfers.
//! - [`member_events`]: bonuses, referrals, tier overrides, freezing.
//! - [`budget`]: campaign budgets shared by all members.
//! - [`shadow`]: a candidate rules version compared with the live one.
//! - `account`: how each transaction kind moves an account; `entry`: ledger events.
//! - [`fraud`]: fraud rules and how their findings combine into alerts.
//! - [`review`]: a reviewer's decision on points a fraud alert held.
//! - this module: [`score`], which applies a transaction's kind to the account.

mod account;
pub mod budget;
pub mod commands;
pub mod earning;
mod entry;
pub mod expiry;
pub mod fraud;
pub mod member_events;
pub mod points;
pub mod review;
pub mod shadow;
pub mod tiers;

use crate::domain::alert::{Action, Mode};
use crate::domain::command::{Command, CommandAction, Debit};
use crate::domain::lots;
use crate::domain::record::BudgetDraws;
use crate::domain::shadow::ShadowComparison;
use crate::domain::{
    Alert, CardLink, CardState, Earning, LedgerEvent, MemberState, Transaction, TxnKind,
};
use crate::rules::{Program, RuleSet};
use account::account_change;
pub use budget::BudgetRoom;
use entry::Entry;
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
    #[error("the points this input moves, or the account they leave, exceed the range points are kept in")]
    OutOfRange,
    #[error("{0}")]
    NotHeld(String),
    #[error("redemption `{0}` is already cancelled")]
    AlreadyCancelled(String),
    #[error("{0}")]
    InvalidEvent(String),
    #[error("{0}")]
    TooLate(String),
}

impl Rejection {
    /// An input acting on an original (a refund, clearing, review or cancellation) must be of
    /// the original's programme; `program_id` defaults to `default` when left out, so leaving it
    /// out for an original of another programme lands here too.
    pub fn unless_same_program(
        original_id: &str,
        original_program: &str,
        what: &str,
        program: &str,
    ) -> Result<(), Rejection> {
        if original_program == program {
            return Ok(());
        }
        Err(Rejection::OriginalMismatch(format!(
            "`{original_id}` belongs to programme `{original_program}`; this {what} names \
             `{program}` (program_id defaults to `default`): name the original's programme"
        )))
    }

    /// Stable, low-cardinality name for metrics and DLQ records.
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::UnknownProgram(_) => "unknown_program",
            Rejection::UnknownCurrency { .. } => "unknown_currency",
            Rejection::UnknownOriginal(_) => "unknown_original",
            Rejection::OriginalMismatch(_) => "original_mismatch",
            Rejection::OutOfRange => "out_of_range",
            Rejection::NotHeld(_) => "not_held",
            Rejection::AlreadyCancelled(_) => "already_cancelled",
            Rejection::InvalidEvent(_) => "invalid_event",
            Rejection::TooLate(_) => "too_late",
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
    /// What it may draw from campaign budgets.
    pub budget: BudgetRoom,
}

/// Everything an input changes and publishes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// The member's new account; `None` when the input has no member to credit.
    pub member: Option<MemberState>,
    /// The member's account in another programme, changed by an exchange.
    pub counter_member: Option<MemberState>,
    /// The card's new risk state, when the input is a spend (which the fraud rules record).
    pub card: Option<CardState>,
    /// The link a `card_linked` event gives its card.
    pub link: Option<CardLink>,
    pub ledger: Vec<LedgerEvent>,
    pub alerts: Vec<Alert>,
    /// Commands to publish (a transfer's credit).
    pub commands: Vec<Command>,
    /// How a shadow rules version would have scored the transaction.
    pub shadow: Option<ShadowComparison>,
    /// The spend arrived beyond the lateness bound (see [`fraud::assess`]).
    pub late: bool,
    /// What the input's record keeps, and what it changes in its original's.
    pub records: RecordChanges,
}

/// What an input's own record keeps for later inputs, and what it changes in the record of the
/// input it acts on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordChanges {
    /// What this transaction earned, kept so later refunds can take it back.
    pub earning: Option<Earning>,
    /// What a redemption or transfer took.
    pub debit: Option<Debit>,
    /// What it drew from and gave back to campaign budgets.
    pub budget: Option<BudgetDraws>,
    /// The original transaction's earning after this one took from it.
    pub original_earning: Option<Earning>,
    /// The earlier debit this one changed (a cancelled redemption).
    pub original_debit: Option<Debit>,
}

impl Decision {
    /// The decision, unless it would leave an account outside
    /// [`crate::domain::bounds::MAX_ACCOUNT_POINTS`].
    pub fn bounded(self) -> Result<Decision, Rejection> {
        let mut accounts = self.member.iter().chain(&self.counter_member);
        if accounts.all(MemberState::within_bounds) {
            Ok(self)
        } else {
            Err(Rejection::OutOfRange)
        }
    }
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
    let fraud_rules = rules.fraud_for(&txn.program_id);
    let late = txn.kind.is_spend() && fraud::late_behind(txn, &card, fraud_rules).is_some();
    let abuse = match (member_id, &accounts.member) {
        (Some(_), Some(member)) => {
            fraud::abuse::on_transaction(txn, spend.amount, member, &fraud_rules.abuse)
        }
        _ => Vec::new(),
    };
    let alerts = fraud::assess(&spend, member_id, &mut card, rules, abuse);
    let card = txn.kind.is_spend().then_some(card);
    let hold = alerts
        .iter()
        .find(|alert| alert.mode == Mode::Enforce && alert.action == Action::HoldPoints);

    let Some(member_id) = member_id else {
        return Ok(Decision {
            card,
            alerts,
            late,
            ..Decision::default()
        });
    };
    let mut member = accounts
        .member
        .unwrap_or_else(|| MemberState::new(&program.default_tier));
    let latest = member
        .last_event_at
        .map_or(txn.timestamp, |t| t.max(txn.timestamp));
    let kept_from = latest
        .checked_sub(program.lateness)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    if txn.timestamp < kept_from {
        return Err(Rejection::TooLate(format!(
            "dated {}, more than the programme's lateness_days ({}) before the member's latest \
             event ({latest}): its period's caps, campaign and tier counters are no longer kept",
            txn.timestamp,
            program.lateness.whole_days()
        )));
    }
    let oldest_qualifying = program
        .earning
        .tier_qualification
        .as_ref()
        .map_or(kept_from.year() - 1, |qualification| {
            qualification.period.oldest_needed(kept_from)
        });
    member.counters.prune(kept_from, oldest_qualifying);
    let mut ledger = expiry::pass_time(
        &mut member,
        member_id,
        &txn.txn_id,
        txn.timestamp,
        program,
        rules,
    );
    if let Some(entry) = tiers::settle_tier(program, &mut member, &txn.txn_id, txn.timestamp) {
        ledger.push(entry.into_event(member_id, &member, program, rules));
    }
    let mut change = account_change(
        txn,
        spend.amount,
        &member,
        accounts.original,
        program,
        hold,
        &accounts.budget,
    )?;
    let budget = budget::draws(&txn.program_id, &change);

    if change.points > 0 {
        let earned = change.earning.as_ref().map_or(&[][..], |e| &e.lots);
        member.credit(&expiry::lots_to_post(
            program,
            txn.timestamp,
            earned,
            change.points,
        ));
    } else if change.points < 0 {
        let earned_in = change
            .original
            .as_ref()
            .map(|original| lots::scaled(&original.lots, -change.points))
            .unwrap_or_default();
        let uses = member.debit(-change.points, &earned_in);
        change
            .breakdown
            .extend(points::lot_lines(&uses, -change.points));
    }
    member.pending += change.pending_points;
    member.maturing.extend(change.maturing);
    if let Some((sale, points)) = &change.maturing_cut {
        if let Some(maturing) = member.maturing.iter_mut().find(|m| &m.txn_id == sale) {
            maturing.points -= points;
        }
    }
    member.held += change.held_points;
    member.shortfall += change.shortfall;
    if change.points > 0 {
        member.lifetime_earned += change.points;
    }
    member.txn_count += 1;
    member.last_event_at = Some(latest);
    if let Some(uncount) = &change.uncounted {
        member.counters.take_back(
            &uncount.counted,
            uncount.points,
            uncount.of,
            uncount.qualifying,
        );
    }
    member.counters.add(&change.counted);
    member
        .counters
        .thresholds_reached
        .extend(change.thresholds_reached);
    let referral = referral_bonus(txn, member_id, &mut member, change.points);
    let moved = change.points.abs() + change.pending_points.abs();
    if let Some(activity) = fraud::abuse::activity_of(txn, spend.amount, moved) {
        fraud::abuse::remember(&mut member, activity, &fraud_rules.abuse);
    }

    if let Some(event_type) = change.event_type {
        let entry = Entry {
            event_type,
            txn_id: &txn.txn_id,
            qualifier: None,
            points: change.points,
            pending_points: change.pending_points,
            breakdown: change.breakdown,
            at: txn.timestamp,
        };
        ledger.push(entry.into_event(member_id, &member, program, rules));
    }
    if let Some(entry) = tiers::settle_tier(program, &mut member, &txn.txn_id, txn.timestamp) {
        ledger.push(entry.into_event(member_id, &member, program, rules));
    }

    Ok(Decision {
        member: Some(member),
        card,
        ledger,
        alerts,
        late,
        commands: referral.into_iter().collect(),
        records: RecordChanges {
            earning: change.earning,
            original_earning: change.original,
            budget,
            ..RecordChanges::default()
        },
        ..Decision::default()
    })
}

/// The referrer's bonus command, when this is the referred member's first purchase to post
/// points.
fn referral_bonus(
    txn: &Transaction,
    member_id: &str,
    member: &mut MemberState,
    posted: i64,
) -> Option<Command> {
    let referral = member
        .referral
        .as_mut()
        .filter(|referral| !referral.issued)?;
    if posted <= 0 || !matches!(txn.kind, TxnKind::Purchase | TxnKind::Clearing) {
        return None;
    }
    referral.issued = true;
    Some(Command {
        command_id: format!("{}/referral", txn.txn_id),
        member_id: referral.referrer_id.clone(),
        program_id: txn.program_id.clone(),
        action: CommandAction::ReferralBonus {
            referred_member_id: member_id.to_owned(),
            txn_id: txn.txn_id.clone(),
        },
        timestamp: txn.timestamp,
    })
}

/// The names of the day, month and year containing `at`, as counters key their periods.
/// The programme `id` names in `rules`.
fn program<'r>(rules: &'r RuleSet, id: &str) -> Result<&'r Program, Rejection> {
    rules
        .programs
        .get(id)
        .ok_or_else(|| Rejection::UnknownProgram(id.to_owned()))
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
