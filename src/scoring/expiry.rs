//! Time passing on an account, lazily on the member's next event (or by the `txscore expire`
//! sweep): sales whose settlement window has ended post their pending points
//! (`points_posted`), lots whose expiry has come are removed (`points_expired`), and, with an
//! expiry notice, lots expiring within it are announced once (`points_expiring`).

use super::entry::Entry;
use crate::domain::lots::{self, Lot, LotUse};
use crate::domain::{BreakdownLine, LedgerEvent, LedgerEventType, MemberState};
use crate::rules::earning::Period;
use crate::rules::{Program, RuleSet};
use rust_decimal::Decimal;
use time::OffsetDateTime;

/// The lots points earned at `at` go to, one per funder's share, with their expiry under the
/// programme's policy.
pub fn lots_for(program: &Program, at: OffsetDateTime, shares: Vec<(String, i64)>) -> Vec<LotUse> {
    shares
        .into_iter()
        .filter(|(_, points)| *points > 0)
        .map(|(funded_by, points)| LotUse {
            lot: Period::Month.key(at),
            points,
            expires_at: program.expiry.map(|expiry| expiry.expires_at(at)),
            funded_by,
        })
        .collect()
}

/// The lots of `points` earned at `at` that the programme's own funder pays for (bonuses,
/// points received from an exchange).
pub fn programme_lots(program: &Program, at: OffsetDateTime, points: i64) -> Vec<LotUse> {
    lots_for(
        program,
        at,
        vec![(program.earning.funded_by.clone(), points)],
    )
}

/// The lots `points` of an earning post to: the earning's own lots, scaled to the points, or
/// the programme's when it recorded none.
pub fn lots_to_post(
    program: &Program,
    at: OffsetDateTime,
    earned: &[LotUse],
    points: i64,
) -> Vec<LotUse> {
    match lots::scaled(earned, points) {
        lots if lots.is_empty() => programme_lots(program, at, points),
        lots => lots,
    }
}

/// The expiry sweep for one account: expires what is due by `at` (an account with nothing due
/// is left alone: `None`), naming the events after `trigger`.
pub fn sweep(
    member: &MemberState,
    member_id: &str,
    program_id: &str,
    trigger: &str,
    at: OffsetDateTime,
    rules: &RuleSet,
) -> Result<Option<(MemberState, Vec<LedgerEvent>)>, super::Rejection> {
    let program = super::program(rules, program_id)?;
    let mut swept = member.clone();
    let events = pass_time(&mut swept, member_id, trigger, at, program, rules);
    Ok((!events.is_empty()).then_some((swept, events)))
}

/// Everything due on the account by `at`: matured sales posted, due lots expired, then lots
/// soon to expire announced.
pub(super) fn pass_time(
    member: &mut MemberState,
    member_id: &str,
    trigger: &str,
    at: OffsetDateTime,
    program: &Program,
    rules: &RuleSet,
) -> Vec<LedgerEvent> {
    let mut events = post_matured(member, member_id, trigger, at, program, rules);
    events.extend(expire_due(member, member_id, trigger, at, program, rules));
    events.extend(announce_expiring(
        member, member_id, trigger, at, program, rules,
    ));
    events
}

/// Announces each earning month's lots expiring within the programme's notice period from
/// `at`, once.
fn announce_expiring(
    member: &mut MemberState,
    member_id: &str,
    trigger: &str,
    at: OffsetDateTime,
    program: &Program,
    rules: &RuleSet,
) -> Vec<LedgerEvent> {
    let Some(notice) = program.expiry_notice else {
        return Vec::new();
    };
    member
        .announce_expiring(at, at.saturating_add(notice))
        .into_iter()
        .map(|month| {
            let expires_at = month.expires_at.map_or(String::new(), |t| t.to_string());
            let entry = Entry {
                event_type: LedgerEventType::PointsExpiring,
                txn_id: trigger,
                qualifier: Some(month.lot.clone()),
                points: 0,
                pending_points: 0,
                breakdown: vec![BreakdownLine {
                    rule: "expiry_notice".into(),
                    detail: format!(
                        "{} points earned in {} expire at {expires_at} unless spent",
                        month.points, month.lot
                    ),
                    points: Decimal::ZERO,
                    funded_by: None,
                }],
                at,
            };
            LedgerEvent {
                expiring: Some(month),
                ..entry.into_event(member_id, member, program, rules)
            }
        })
        .collect()
}

/// Posts the pending points of every sale whose settlement window ended by `at`.
fn post_matured(
    member: &mut MemberState,
    member_id: &str,
    trigger: &str,
    at: OffsetDateTime,
    program: &Program,
    rules: &RuleSet,
) -> Vec<LedgerEvent> {
    let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut member.maturing)
        .into_iter()
        .partition(|sale| sale.posts_at <= at);
    member.maturing = waiting;
    due.into_iter()
        .filter(|sale| sale.points > 0)
        .map(|sale| {
            let lots = lots_to_post(program, sale.posts_at, &sale.lots, sale.points);
            member.pending -= sale.points;
            member.credit(&lots);
            member.lifetime_earned += sale.points;
            let why = format!(
                "{} pending points of {} posted: its settlement window ended at {}",
                sale.points, sale.txn_id, sale.posts_at
            );
            let entry = Entry {
                event_type: LedgerEventType::PointsPosted,
                txn_id: trigger,
                qualifier: Some(sale.txn_id.clone()),
                points: sale.points,
                pending_points: -sale.points,
                breakdown: posting_lines("settlement_window", why, &lots),
                at,
            };
            entry.into_event(member_id, member, program, rules)
        })
        .collect()
}

/// Lines of pending points posting to `lots`: one per funder's lot, and the pending points
/// they leave, so the lines add up to the event's (zero) net change.
pub(super) fn posting_lines(rule: &str, why: String, lots: &[LotUse]) -> Vec<BreakdownLine> {
    let posted: i64 = lots.iter().map(|lot| lot.points).sum();
    let mut lines: Vec<BreakdownLine> = lots
        .iter()
        .map(|lot| BreakdownLine {
            rule: format!("lot:{}", lot.lot),
            detail: format!("{} points posted to lot {}", lot.points, lot.lot),
            points: Decimal::from(lot.points),
            funded_by: (!lot.funded_by.is_empty()).then(|| lot.funded_by.clone()),
        })
        .collect();
    lines.push(BreakdownLine {
        rule: rule.to_owned(),
        detail: why,
        points: -Decimal::from(posted),
        funded_by: None,
    });
    lines
}

/// Expires every lot due by `at`: one ledger event per earning month, with a line per funder's
/// lot and the balance right after it, named after `trigger` (the input that brought event
/// time past it).
fn expire_due(
    member: &mut MemberState,
    member_id: &str,
    trigger: &str,
    at: OffsetDateTime,
    program: &Program,
    rules: &RuleSet,
) -> Vec<LedgerEvent> {
    let expired = member.take_expired(at);
    member.balance += expired.iter().map(|lot| lot.points).sum::<i64>();
    let mut months: Vec<Vec<Lot>> = Vec::new();
    for lot in expired {
        match months.last_mut() {
            Some(month) if month[0].id == lot.id => month.push(lot),
            _ => months.push(vec![lot]),
        }
    }
    months
        .into_iter()
        .map(|lots| {
            let points: i64 = lots.iter().map(|lot| lot.points).sum();
            member.balance -= points;
            let breakdown = lots
                .iter()
                .map(|lot| BreakdownLine {
                    rule: "expiry".into(),
                    detail: format!(
                        "{} points earned in {} expired at {}",
                        lot.points,
                        lot.id,
                        lot.expires_at.map_or(String::new(), |t| t.to_string())
                    ),
                    points: -Decimal::from(lot.points),
                    funded_by: (!lot.funded_by.is_empty()).then(|| lot.funded_by.clone()),
                })
                .collect();
            let entry = Entry {
                event_type: LedgerEventType::PointsExpired,
                txn_id: trigger,
                qualifier: Some(lots[0].id.clone()),
                points: -points,
                pending_points: 0,
                breakdown,
                at,
            };
            entry.into_event(member_id, member, program, rules)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::domain::{LedgerEventType, MemberState, Transaction};
    use crate::rules::RuleSet;
    use crate::scoring::fixtures::{programme, programme_toml, purchase};
    use crate::scoring::{score, Accounts, Decision};
    use time::macros::datetime;

    fn text(expiry: &str) -> String {
        programme_toml(&format!("[programs.default.expiry]\n{expiry}\n"))
    }

    fn with_expiry(expiry: &str) -> RuleSet {
        RuleSet::from_toml(&text(expiry)).unwrap()
    }

    #[test]
    fn points_expire_at_the_end_of_the_nth_month_on_the_next_event_after_it() {
        let rules = with_expiry("months = 2");
        let january = at("T-1", "100", datetime!(2026-01-15 10:00 UTC));
        let first = next(None, &january, &rules);
        let lot = &first.member.as_ref().unwrap().lots[0];
        assert_eq!(
            (lot.id.as_str(), lot.expires_at),
            ("2026-01", Some(datetime!(2026-04-01 0:00 UTC)))
        );

        let march_end = at("T-2", "10", datetime!(2026-03-31 23:59 UTC));
        let before = next(first.member.clone(), &march_end, &rules);
        assert_eq!(before.member.unwrap().balance, 110, "not yet due");

        let april = at("T-3", "10", datetime!(2026-04-01 0:00 UTC));
        let after = next(first.member, &april, &rules);
        let expired = &after.ledger[0];
        assert_eq!(expired.event_type, LedgerEventType::PointsExpired);
        assert_eq!(expired.event_id, "T-3/points_expired:2026-01");
        assert_eq!((expired.points, expired.balance_after), (-100, 0));
        assert_eq!(after.ledger[1].balance_after, 10);
    }

    #[test]
    fn a_lot_is_announced_once_when_its_expiry_comes_within_the_notice_period() {
        let rules = with_expiry("months = 1\nnotice_days = 10");
        let november = at("T-1", "100", datetime!(2026-11-15 10:00 UTC));
        let earned = next(None, &november, &rules);
        assert_eq!(earned.ledger.len(), 1, "nothing to announce yet");

        let too_early = next(
            earned.member.clone(),
            &at("T-2", "10", datetime!(2026-12-21 23:59 UTC)),
            &rules,
        );
        assert_eq!(
            too_early.ledger.len(),
            1,
            "11 days before, outside the notice"
        );

        let within = next(
            earned.member,
            &at("T-3", "10", datetime!(2026-12-22 0:00 UTC)),
            &rules,
        );
        let notice = &within.ledger[0];
        assert_eq!(notice.event_type, LedgerEventType::PointsExpiring);
        assert_eq!(notice.event_id, "T-3/points_expiring:2026-11");
        assert_eq!((notice.points, notice.balance_after), (0, 100));
        let expiring = notice.expiring.as_ref().unwrap();
        assert_eq!(
            (expiring.lot.as_str(), expiring.points, expiring.expires_at),
            ("2026-11", 100, Some(datetime!(2027-01-01 0:00 UTC)))
        );
        assert!(notice.breakdown[0]
            .detail
            .contains("100 points earned in 2026-11 expire"));
        let json = serde_json::to_value(notice).unwrap();
        assert_eq!(json["expiring"]["expires_at"], "2027-01-01T00:00:00Z");

        let again = next(
            within.member,
            &at("T-4", "10", datetime!(2026-12-30 0:00 UTC)),
            &rules,
        );
        assert!(
            again
                .ledger
                .iter()
                .all(|e| e.event_type != LedgerEventType::PointsExpiring),
            "announced once; the December lot is not due within 10 days yet"
        );
        let error = RuleSet::from_toml(&text("months = 1\nnotice_days = 0")).unwrap_err();
        assert!(error.to_string().contains("expiry.notice_days"), "{error}");
    }

    #[test]
    fn a_yearly_clearing_date_expires_a_years_points_together() {
        let rules = with_expiry("yearly_on = \"12-31\"\nafter_years = 1");
        let earned = at("T-1", "100", datetime!(2026-03-15 10:00 UTC));
        let decision = next(None, &earned, &rules);
        assert_eq!(
            decision.member.unwrap().lots[0].expires_at,
            Some(datetime!(2028-01-01 0:00 UTC))
        );
        let error = RuleSet::from_toml(&text("yearly_on = \"02-30\"")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`programs.default.expiry.yearly_on`"),
            "{error}"
        );
    }

    fn settling() -> RuleSet {
        programme("settlement_days = 2\n")
    }

    fn at(id: &str, amount: &str, when: time::OffsetDateTime) -> Transaction {
        Transaction {
            timestamp: when,
            ..purchase(id, amount)
        }
    }

    /// Scores `txn` for M-1 with `member` as the account it finds.
    fn next(member: Option<MemberState>, txn: &Transaction, rules: &RuleSet) -> Decision {
        let accounts = Accounts {
            member,
            ..Accounts::default()
        };
        score(txn, Some("M-1"), accounts, rules).unwrap()
    }

    #[test]
    fn a_sale_stays_pending_for_the_settlement_window_then_posts_on_the_next_event() {
        let rules = settling();
        let sale = next(
            None,
            &at("T-1", "100", datetime!(2026-11-01 10:00 UTC)),
            &rules,
        );
        assert_eq!(sale.ledger[0].event_type, LedgerEventType::PointsPending);
        let member = sale.member.unwrap();
        assert_eq!((member.balance, member.pending), (0, 100));

        let later = next(
            Some(member),
            &at("T-2", "10", datetime!(2026-11-03 10:00 UTC)),
            &rules,
        );
        let posted = &later.ledger[0];
        assert_eq!(posted.event_id, "T-2/points_posted:T-1");
        assert_eq!(
            (posted.points, posted.pending_points, posted.balance_after),
            (100, -100, 100)
        );
        let member = later.member.unwrap();
        assert_eq!(
            (member.balance, member.pending),
            (100, 10),
            "T-2 waits its own window"
        );
    }

    #[test]
    fn a_refund_inside_the_window_cancels_pending_and_after_it_reverses_posted_points() {
        let rules = settling();
        let sale = next(
            None,
            &at("T-1", "100", datetime!(2026-11-01 10:00 UTC)),
            &rules,
        );
        let refund = |when| {
            let txn = Transaction {
                kind: crate::domain::TxnKind::Refund,
                original_txn_id: Some("T-1".into()),
                ..at("R-1", "40", when)
            };
            let accounts = Accounts {
                member: sale.member.clone(),
                original: sale.records.earning.clone(),
                ..Accounts::default()
            };
            score(&txn, Some("M-1"), accounts, &rules).unwrap()
        };
        let early = refund(datetime!(2026-11-02 10:00 UTC));
        assert_eq!(
            early.ledger[0].event_type,
            LedgerEventType::PendingCancelled
        );
        let member = early.member.unwrap();
        assert_eq!(member.maturing[0].points, 60, "only the rest will post");
        let then = next(
            Some(member),
            &at("T-2", "0", datetime!(2026-11-04 10:00 UTC)),
            &rules,
        );
        assert_eq!(then.member.unwrap().balance, 60);

        let late = refund(datetime!(2026-11-05 10:00 UTC));
        let kinds: Vec<LedgerEventType> = late.ledger.iter().map(|e| e.event_type).collect();
        assert_eq!(
            kinds,
            [
                LedgerEventType::PointsPosted,
                LedgerEventType::PointsReversed
            ]
        );
        assert_eq!(late.member.unwrap().balance, 60);
    }
}
