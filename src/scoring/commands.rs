//! Commands against a member's account: redemptions (oldest-expiring lots first, refused with
//! a reason when the balance is short), their cancellation (points back to their lots, with
//! their original expiry) and transfers (debited here; the receiver is credited by the
//! `transfer_credit` command this publishes, only ever after the debit).

use super::entry::Entry;
use super::{expiry, fraud, program, Decision, Rejection};
use crate::domain::activity::{Activity, ActivityKind};
use crate::domain::bounds::MAX_EVENT_POINTS;
use crate::domain::card::millis;
use crate::domain::command::{Command, CommandAction, Debit};
use crate::domain::lots::LotUse;
use crate::domain::record::{OutputTopic, TxnRecord};
use crate::domain::{BreakdownLine, LedgerEventType, MemberState};
use crate::rules::RuleSet;
use crate::wire::decode_command;
use rust_decimal::Decimal;

/// Applies `command` to the member's account. `earlier` is the record the command refers to:
/// the redemption a cancellation names, the sender's transfer a credit names, the referred
/// member's purchase a referral bonus names.
/// `counter` is the member's account in the programme an exchange converts into.
pub fn apply(
    command: &Command,
    member: Option<MemberState>,
    earlier: Option<TxnRecord>,
    counter: Option<MemberState>,
    rules: &RuleSet,
) -> Result<Decision, Rejection> {
    let program = program(rules, &command.program_id)?;
    let mut member = member.unwrap_or_else(|| MemberState::new(&program.default_tier));
    let id = &command.command_id;
    let mut ledger = expiry::pass_time(
        &mut member,
        &command.member_id,
        id,
        command.timestamp,
        program,
        rules,
    );
    let event = |member: &MemberState, event_type, points, breakdown| {
        Entry {
            event_type,
            txn_id: id,
            qualifier: None,
            points,
            pending_points: 0,
            breakdown,
            at: command.timestamp,
        }
        .into_event(&command.member_id, member, program, rules)
    };
    let mut decision = Decision::default();
    let abuse = &rules.fraud_for(&command.program_id).abuse;
    let mut findings = Vec::new();
    match &command.action {
        CommandAction::Redeem { points, reward } => {
            findings = fraud::abuse::on_redemption(&member, command.timestamp, abuse);
            if let Some(refusal) = refused(&member, *points, "redemption") {
                ledger.push(event(
                    &member,
                    LedgerEventType::RedemptionRejected,
                    0,
                    vec![refusal],
                ));
            } else {
                let lots = member.debit(*points, &[]);
                let lines = lot_lines(&lots, -1, &format!("redeemed for {reward}"));
                ledger.push(event(
                    &member,
                    LedgerEventType::PointsRedeemed,
                    -points,
                    lines,
                ));
                decision.records.debit = Some(debit(&command.program_id, *points, lots, None));
            }
        }
        CommandAction::CancelRedemption { redemption_id } => {
            let mut redemption = earlier
                .and_then(|record| record.debit)
                .filter(|debit| debit.to_member_id.is_none())
                .ok_or_else(|| Rejection::UnknownOriginal(redemption_id.clone()))?;
            if let Some(program) = &redemption.program_id {
                Rejection::unless_same_program(
                    redemption_id,
                    program,
                    "cancellation",
                    &command.program_id,
                )?;
            }
            if redemption.cancelled {
                return Err(Rejection::AlreadyCancelled(redemption_id.clone()));
            }
            member.balance += redemption.points;
            member.restore(&redemption.lots);
            let lines = lot_lines(
                &redemption.lots,
                1,
                &format!("returned by cancelling {redemption_id}, with the original expiry"),
            );
            ledger.push(event(
                &member,
                LedgerEventType::RedemptionCancelled,
                redemption.points,
                lines,
            ));
            redemption.cancelled = true;
            decision.records.original_debit = Some(redemption);
        }
        CommandAction::Transfer {
            to_member_id,
            points,
        } => {
            let refusal = if to_member_id == &command.member_id {
                Some(refusal_line(
                    "a member cannot transfer to themselves".into(),
                ))
            } else if let Some(limit) = program.max_transfer_points.filter(|l| points > l) {
                Some(refusal_line(format!(
                    "{points} points is over the programme's transfer limit of {limit}"
                )))
            } else {
                refused(&member, *points, "transfer")
            };
            if let Some(refusal) = refusal {
                ledger.push(event(
                    &member,
                    LedgerEventType::TransferRejected,
                    0,
                    vec![refusal],
                ));
            } else {
                let lots = member.debit(*points, &[]);
                let lines = lot_lines(&lots, -1, &format!("transferred to {to_member_id}"));
                ledger.push(event(
                    &member,
                    LedgerEventType::PointsTransferred,
                    -points,
                    lines,
                ));
                decision.records.debit = Some(debit(
                    &command.program_id,
                    *points,
                    lots.clone(),
                    Some(to_member_id.clone()),
                ));
                decision.commands.push(Command {
                    command_id: format!("{id}/credit"),
                    member_id: to_member_id.clone(),
                    program_id: command.program_id.clone(),
                    action: CommandAction::TransferCredit {
                        transfer_id: id.clone(),
                        from_member_id: command.member_id.clone(),
                        points: *points,
                    },
                    timestamp: command.timestamp,
                });
            }
        }
        CommandAction::TransferCredit {
            transfer_id,
            from_member_id,
            points,
        } => {
            // Only the very credit the sender's record announced (its command_id included,
            // so the receiver's record of it catches every copy) moves points.
            let transfer = earlier
                .filter(|record| announced(record, command))
                .and_then(|record| record.debit)
                .filter(|debit| {
                    debit.to_member_id.as_deref() == Some(command.member_id.as_str())
                        && debit.points == *points
                })
                .ok_or_else(|| {
                    Rejection::UnknownOriginal(format!(
                        "{transfer_id}: no transfer of {points} points from {from_member_id} to {}",
                        command.member_id
                    ))
                })?;
            findings =
                fraud::abuse::on_transfer_in(&member, from_member_id, command.timestamp, abuse);
            fraud::abuse::remember(
                &mut member,
                activity(command, ActivityKind::TransferIn, *points, from_member_id),
                abuse,
            );
            member.balance += transfer.points;
            member.restore(&transfer.lots);
            let lines = lot_lines(
                &transfer.lots,
                1,
                &format!("received from {from_member_id}"),
            );
            ledger.push(event(
                &member,
                LedgerEventType::TransferReceived,
                *points,
                lines,
            ));
        }
        CommandAction::Exchange {
            to_program_id,
            points,
        } => {
            let target = super::program(rules, to_program_id)?;
            let rate = rules
                .exchange
                .get(&(command.program_id.clone(), to_program_id.clone()))
                .ok_or_else(|| {
                    Rejection::InvalidEvent(format!(
                        "no exchange rate from `{}` to `{to_program_id}` in the rules",
                        command.program_id
                    ))
                })?;
            let received = Decimal::from(*points)
                .checked_mul(*rate)
                .map(|value| value.floor())
                .and_then(|value| i64::try_from(value).ok())
                .filter(|value| *value <= MAX_EVENT_POINTS)
                .ok_or(Rejection::OutOfRange)?;
            let refusal = refused(&member, *points, "exchange").or_else(|| {
                (received <= 0).then(|| {
                    refusal_line(format!(
                        "{points} points at {rate} give no {to_program_id} points"
                    ))
                })
            });
            if let Some(refusal) = refusal {
                ledger.push(event(
                    &member,
                    LedgerEventType::ExchangeRejected,
                    0,
                    vec![refusal],
                ));
            } else {
                let lots = member.debit(*points, &[]);
                let lines = lot_lines(
                    &lots,
                    -1,
                    &format!("exchanged into {to_program_id} at {rate}"),
                );
                ledger.push(event(
                    &member,
                    LedgerEventType::PointsExchanged,
                    -points,
                    lines,
                ));
                let mut other = counter.unwrap_or_else(|| MemberState::new(&target.default_tier));
                other.credit(&expiry::programme_lots(target, command.timestamp, received));
                other.last_event_at = other.last_event_at.max(Some(command.timestamp));
                let line = BreakdownLine {
                    rule: format!("exchange:{}", command.program_id),
                    detail: format!("{points} {} points at {rate} per point", command.program_id),
                    points: Decimal::from(received),
                    funded_by: Some(target.earning.funded_by.clone()),
                };
                let entry = Entry {
                    event_type: LedgerEventType::ExchangeReceived,
                    txn_id: id,
                    qualifier: None,
                    points: received,
                    pending_points: 0,
                    breakdown: vec![line],
                    at: command.timestamp,
                };
                ledger.push(entry.into_event(&command.member_id, &other, target, rules));
                decision.counter_member = Some(other);
            }
        }
        CommandAction::ReferralBonus {
            referred_member_id,
            txn_id,
        } => {
            if !earlier
                .as_ref()
                .is_some_and(|record| announced(record, command))
            {
                return Err(Rejection::UnknownOriginal(format!(
                    "{txn_id}: no referral bonus for {} was issued by {referred_member_id}'s purchase",
                    command.member_id
                )));
            }
            let bonus = program.bonuses.referral;
            if bonus > 0 {
                member.credit(&expiry::programme_lots(program, command.timestamp, bonus));
                member.lifetime_earned += bonus;
                let line = BreakdownLine {
                    rule: "bonus:referral".into(),
                    detail: format!(
                        "referral of {referred_member_id}, whose first purchase {txn_id} posted"
                    ),
                    points: Decimal::from(bonus),
                    funded_by: Some(program.earning.funded_by.clone()),
                };
                ledger.push(event(
                    &member,
                    LedgerEventType::BonusEarned,
                    bonus,
                    vec![line],
                ));
            }
        }
    }
    member.last_event_at = member.last_event_at.max(Some(command.timestamp));
    let subject = fraud::Subject {
        id,
        card_token: None,
        member_id: Some(&command.member_id),
        program_id: &command.program_id,
        at: command.timestamp,
        late: false,
    };
    decision.alerts = fraud::alerts::raise(
        &findings,
        &subject,
        rules.fraud_for(&command.program_id),
        &rules.version,
    );
    decision.member = Some(member);
    decision.ledger = ledger;
    Ok(decision)
}

fn activity(command: &Command, kind: ActivityKind, points: i64, party: &str) -> Activity {
    Activity {
        at_ms: millis(command.timestamp),
        kind,
        points,
        amount: Decimal::ZERO,
        party: party.to_owned(),
    }
}

/// Whether `record` (of the input that issued it) published exactly `command`: the commands
/// only txscore issues (transfer credits, referral bonuses) are honoured on that proof alone,
/// so a producer of the commands topic can neither forge one nor replay one under a new id.
fn announced(record: &TxnRecord, command: &Command) -> bool {
    record.outputs.iter().any(|output| {
        output.topic == OutputTopic::Commands
            && decode_command(output.payload.text().as_bytes(), usize::MAX)
                .is_ok_and(|issued| issued == *command)
    })
}

fn debit(program_id: &str, points: i64, lots: Vec<LotUse>, to_member_id: Option<String>) -> Debit {
    Debit {
        program_id: Some(program_id.to_owned()),
        points,
        lots,
        to_member_id,
        cancelled: false,
    }
}

/// A line refusing a debit from a frozen account or one the balance cannot cover; `None`
/// when it can go ahead.
fn refused(member: &MemberState, points: i64, what: &str) -> Option<BreakdownLine> {
    if member.frozen {
        return Some(refusal_line(format!(
            "{what} of {points} points refused: the account is frozen"
        )));
    }
    (member.balance < points).then(|| {
        refusal_line(format!(
            "{what} of {points} points refused: the balance is {}",
            member.balance
        ))
    })
}

fn refusal_line(detail: String) -> BreakdownLine {
    BreakdownLine {
        rule: "refused".into(),
        detail,
        points: Decimal::ZERO,
        funded_by: None,
    }
}

/// One line per lot, signed by `sign`, saying what happened to its points.
fn lot_lines(lots: &[LotUse], sign: i64, what: &str) -> Vec<BreakdownLine> {
    lots.iter()
        .map(|lot| BreakdownLine {
            rule: format!("lot:{}", lot.lot),
            detail: format!(
                "{} points earned in {}{} {what}",
                lot.points,
                lot.lot,
                lot.expires_at
                    .map_or(String::new(), |at| format!(" (expiring {at})"))
            ),
            points: Decimal::from(sign * lot.points),
            funded_by: (!lot.funded_by.is_empty()).then(|| lot.funded_by.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::fixtures::programme;
    use time::macros::datetime;

    fn rules() -> RuleSet {
        programme("max_transfer_points = 500\n[programs.default.expiry]\nmonths = 12\n")
    }

    /// 100 points earned in January and 50 in March 2026.
    fn member() -> MemberState {
        let mut member = MemberState::new("standard");
        for (lot, points, expires_at) in [
            ("2026-01", 100, datetime!(2027-02-01 0:00 UTC)),
            ("2026-03", 50, datetime!(2027-04-01 0:00 UTC)),
        ] {
            member.credit(&[LotUse {
                lot: lot.into(),
                points,
                expires_at: Some(expires_at),
                funded_by: "issuer".into(),
            }]);
        }
        member
    }

    /// The record of an earlier command that took `debit`.
    fn holding(debit: Option<Debit>) -> Option<TxnRecord> {
        Some(TxnRecord {
            outputs: Vec::new(),
            earning: None,
            debit,
            budget: None,
            fingerprint: None,
        })
    }

    fn command(id: &str, action: CommandAction) -> Command {
        Command {
            command_id: id.into(),
            member_id: "M-1".into(),
            program_id: "default".into(),
            action,
            timestamp: datetime!(2026-06-01 12:00 UTC),
        }
    }

    fn redeem(id: &str, points: i64) -> Command {
        command(
            id,
            CommandAction::Redeem {
                points,
                reward: "voucher".into(),
            },
        )
    }

    #[test]
    fn a_redemption_spends_the_oldest_lots_and_says_which() {
        let decision = apply(&redeem("C-1", 120), Some(member()), None, None, &rules()).unwrap();
        let event = &decision.ledger[0];
        assert_eq!(event.event_type, LedgerEventType::PointsRedeemed);
        assert_eq!((event.points, event.balance_after), (-120, 30));
        let lines: Vec<(&str, Decimal)> = event
            .breakdown
            .iter()
            .map(|l| (l.rule.as_str(), l.points))
            .collect();
        assert_eq!(
            lines,
            [
                ("lot:2026-01", Decimal::from(-100)),
                ("lot:2026-03", Decimal::from(-20))
            ]
        );
        assert_eq!(decision.records.debit.unwrap().lots.len(), 2);
    }

    #[test]
    fn a_redemption_the_balance_cannot_cover_is_refused_in_the_ledger() {
        let decision = apply(&redeem("C-1", 151), Some(member()), None, None, &rules()).unwrap();
        let event = &decision.ledger[0];
        assert_eq!(event.event_type, LedgerEventType::RedemptionRejected);
        assert_eq!((event.points, event.balance_after), (0, 150));
        assert!(event.breakdown[0].detail.contains("the balance is 150"));
        assert!(decision.records.debit.is_none());
    }

    #[test]
    fn cancelling_gives_the_points_back_with_their_original_expiry_once() {
        let rules = rules();
        let redeemed = apply(&redeem("C-1", 120), Some(member()), None, None, &rules).unwrap();
        let cancel = command(
            "C-2",
            CommandAction::CancelRedemption {
                redemption_id: "C-1".into(),
            },
        );
        let cancelled = apply(
            &cancel,
            redeemed.member.clone(),
            holding(redeemed.records.debit.clone()),
            None,
            &rules,
        )
        .unwrap();
        let account = cancelled.member.unwrap();
        assert_eq!(account.balance, 150);
        assert_eq!(
            account.lots,
            member().lots,
            "the same lots, the same expiry"
        );
        let again = apply(
            &cancel,
            Some(account),
            holding(cancelled.records.original_debit),
            None,
            &rules,
        );
        assert_eq!(again.unwrap_err().kind(), "already_cancelled");
    }

    #[test]
    fn a_transfer_debits_now_and_issues_the_credit_which_only_a_matching_debit_honours() {
        let rules = rules();
        let transfer = command(
            "C-1",
            CommandAction::Transfer {
                to_member_id: "M-2".into(),
                points: 120,
            },
        );
        let sent = apply(&transfer, Some(member()), None, None, &rules).unwrap();
        assert_eq!(sent.member.as_ref().unwrap().balance, 30);
        assert_eq!(
            sent.ledger[0].event_type,
            LedgerEventType::PointsTransferred
        );
        let credit = sent.commands[0].clone();
        assert_eq!(credit.command_id, "C-1/credit");
        assert_eq!(credit.member_id, "M-2");

        let sender_record = TxnRecord {
            outputs: vec![crate::domain::record::OutputMessage {
                topic: OutputTopic::Commands,
                key: credit.member_id.clone(),
                payload: crate::wire::encode_command(&credit),
            }],
            ..holding(sent.records.debit.clone()).unwrap()
        };
        let received = apply(&credit, None, Some(sender_record.clone()), None, &rules).unwrap();
        let receiver = received.member.unwrap();
        assert_eq!(receiver.balance, 120);
        assert_eq!(
            receiver.lots[0].expires_at,
            Some(datetime!(2027-02-01 0:00 UTC)),
            "points keep their expiry"
        );
        assert_eq!(
            apply(&credit, None, None, None, &rules).unwrap_err().kind(),
            "unknown_original"
        );
        let unannounced = holding(sent.records.debit.clone());
        assert_eq!(
            apply(&credit, None, unannounced, None, &rules)
                .unwrap_err()
                .kind(),
            "unknown_original",
            "a matching debit is not enough: the credit must be the one published"
        );
        let copy = Command {
            command_id: "C-1/credit-again".into(),
            ..credit.clone()
        };
        assert_eq!(
            apply(&copy, None, Some(sender_record), None, &rules)
                .unwrap_err()
                .kind(),
            "unknown_original",
            "a copy under a new command_id credits nothing"
        );

        let too_many = command(
            "C-3",
            CommandAction::Transfer {
                to_member_id: "M-2".into(),
                points: 501,
            },
        );
        let refused = apply(&too_many, Some(member()), None, None, &rules).unwrap();
        assert_eq!(
            refused.ledger[0].event_type,
            LedgerEventType::TransferRejected
        );
        assert!(refused.commands.is_empty());
    }

    #[test]
    fn an_exchange_moves_points_between_programmes_in_one_decision() {
        let rules = RuleSet::from_toml(
            r#"version = "exchange-1"
[[exchange]]
from = "default"
to = "airline"
rate = "0.5"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
[programs.airline]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "blue"
tiers = { blue = "1" }
"#,
        )
        .unwrap();
        let exchange = command(
            "C-1",
            CommandAction::Exchange {
                to_program_id: "airline".into(),
                points: 101,
            },
        );
        let decision = apply(&exchange, Some(member()), None, None, &rules).unwrap();
        assert_eq!(decision.member.as_ref().unwrap().balance, 49);
        let airline = decision.counter_member.as_ref().unwrap();
        assert_eq!((airline.balance, airline.tier.as_str()), (50, "blue"));
        let kinds: Vec<(LedgerEventType, &str, i64)> = decision
            .ledger
            .iter()
            .map(|e| (e.event_type, e.program_id.as_str(), e.points))
            .collect();
        assert_eq!(
            kinds,
            [
                (LedgerEventType::PointsExchanged, "default", -101),
                (LedgerEventType::ExchangeReceived, "airline", 50),
            ]
        );
        let back = command(
            "C-2",
            CommandAction::Exchange {
                to_program_id: "default".into(),
                points: 1,
            },
        );
        let error = apply(&back, Some(member()), None, None, &rules).unwrap_err();
        assert_eq!(error.kind(), "invalid_event", "no rate the other way");
    }
}
