//! Expiry: lots whose time has come are removed as event time passes it, lazily on the
//! member's next event (or by the `txscore expire` sweep), each with a `points_expired` event
//! naming the lot.

use super::entry::Entry;
use crate::domain::lots::LotUse;
use crate::domain::{BreakdownLine, LedgerEvent, LedgerEventType, MemberState};
use crate::rules::earning::Period;
use crate::rules::{Program, RuleSet};
use rust_decimal::Decimal;
use time::OffsetDateTime;

/// The lot points earned at `at` go to, with their expiry under the programme's policy.
pub fn lot_for(program: &Program, at: OffsetDateTime, points: i64) -> LotUse {
    LotUse {
        lot: Period::Month.key(at),
        points,
        expires_at: program.expiry.map(|expiry| expiry.expires_at(at)),
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
    let events = expire_due(&mut swept, member_id, trigger, at, program, rules);
    Ok((!events.is_empty()).then_some((swept, events)))
}

/// Expires every lot due by `at`: one ledger event per lot, each with the balance right after
/// it, named after `trigger` (the input that brought event time past it).
pub(super) fn expire_due(
    member: &mut MemberState,
    member_id: &str,
    trigger: &str,
    at: OffsetDateTime,
    program: &Program,
    rules: &RuleSet,
) -> Vec<LedgerEvent> {
    let expired = member.take_expired(at);
    member.balance += expired.iter().map(|lot| lot.points).sum::<i64>();
    expired
        .into_iter()
        .map(|lot| {
            member.balance -= lot.points;
            let entry = Entry {
                event_type: LedgerEventType::PointsExpired,
                txn_id: trigger,
                qualifier: Some(lot.id.clone()),
                points: -lot.points,
                pending_points: 0,
                breakdown: vec![BreakdownLine {
                    rule: "expiry".into(),
                    detail: format!(
                        "{} points earned in {} expired at {}",
                        lot.points,
                        lot.id,
                        lot.expires_at.map_or(String::new(), |t| t.to_string())
                    ),
                    points: -Decimal::from(lot.points),
                    funded_by: None,
                }],
                at,
            };
            entry.into_event(member_id, member, program, rules)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::domain::{LedgerEventType, Transaction};
    use crate::rules::RuleSet;
    use crate::scoring::fixtures::purchase;
    use crate::scoring::{score, Accounts};
    use time::macros::datetime;

    fn text(expiry: &str) -> String {
        format!(
            "version = \"expiry-1\"\n[programs.default]\nbase_currency = \"CNY\"\npoints_per_unit = \"1\"\ndefault_tier = \"standard\"\ntiers = {{ standard = \"1\" }}\n[programs.default.expiry]\n{expiry}\n"
        )
    }

    fn programme(expiry: &str) -> RuleSet {
        RuleSet::from_toml(&text(expiry)).unwrap()
    }

    #[test]
    fn points_expire_at_the_end_of_the_nth_month_on_the_next_event_after_it() {
        let rules = programme("months = 2");
        let january = Transaction {
            timestamp: datetime!(2026-01-15 10:00 UTC),
            ..purchase("T-1", "100")
        };
        let first = score(&january, Some("M-1"), Accounts::default(), &rules).unwrap();
        let lot = &first.member.as_ref().unwrap().lots[0];
        assert_eq!(
            (lot.id.as_str(), lot.expires_at),
            ("2026-01", Some(datetime!(2026-04-01 0:00 UTC)))
        );

        let march_end = Transaction {
            timestamp: datetime!(2026-03-31 23:59 UTC),
            ..purchase("T-2", "10")
        };
        let before = score(
            &march_end,
            Some("M-1"),
            Accounts {
                member: first.member.clone(),
                ..Accounts::default()
            },
            &rules,
        )
        .unwrap();
        assert_eq!(before.member.unwrap().balance, 110, "not yet due");

        let april = Transaction {
            timestamp: datetime!(2026-04-01 0:00 UTC),
            ..purchase("T-3", "10")
        };
        let after = score(
            &april,
            Some("M-1"),
            Accounts {
                member: first.member,
                ..Accounts::default()
            },
            &rules,
        )
        .unwrap();
        let expired = &after.ledger[0];
        assert_eq!(expired.event_type, LedgerEventType::PointsExpired);
        assert_eq!(expired.event_id, "T-3/points_expired:2026-01");
        assert_eq!((expired.points, expired.balance_after), (-100, 0));
        assert_eq!(after.ledger[1].balance_after, 10);
    }

    #[test]
    fn a_yearly_clearing_date_expires_a_years_points_together() {
        let rules = programme("yearly_on = \"12-31\"\nafter_years = 1");
        let earned = Transaction {
            timestamp: datetime!(2026-03-15 10:00 UTC),
            ..purchase("T-1", "100")
        };
        let decision = score(&earned, Some("M-1"), Accounts::default(), &rules).unwrap();
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
}
