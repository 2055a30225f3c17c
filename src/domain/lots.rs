//! Earning lots: a member's posted points grouped by the month they were earned and the party
//! funding them, each with the time it expires. Expiry, redemptions and take-backs consume lots
//! (expiring soonest first), and say which, so every point can be traced from the month and
//! funder that earned it to where it went, and what each funder still owes is the sum of its
//! lots.
//!
//! The lots always hold exactly the positive part of the balance.

use super::ledger::proportional_shares;
use super::MemberState;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// The earning month, `2026-11`.
    pub id: String,
    pub points: i64,
    /// When the lot's points expire; never when absent.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Whether members were told it is about to expire (`points_expiring`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub announced: bool,
    /// Who pays for these points; empty for points credited before funders were tracked.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub funded_by: String,
}

/// Points taken from (or given to) one lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotUse {
    pub lot: String,
    pub points: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub funded_by: String,
}

impl LotUse {
    fn is(&self, lot: &Lot) -> bool {
        self.lot == lot.id && self.funded_by == lot.funded_by
    }
}

/// One earning's lots (one per funder) scaled to hold `points` in all, each funder keeping its
/// share: what posts when part of a pending earning was cancelled.
pub fn scaled(lots: &[LotUse], points: i64) -> Vec<LotUse> {
    if lots.iter().map(|lot| lot.points).sum::<i64>() == points {
        return lots.to_vec();
    }
    let weights = lots
        .iter()
        .map(|lot| (lot.funded_by.clone(), Decimal::from(lot.points)))
        .collect();
    proportional_shares(weights, points)
        .into_iter()
        .filter_map(|(funder, points)| {
            let lot = lots.iter().find(|lot| lot.funded_by == funder)?;
            Some(LotUse {
                points,
                ..lot.clone()
            })
        })
        .collect()
}

/// A sale's points waiting out the programme's settlement window as pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maturing {
    pub txn_id: String,
    pub points: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub posts_at: OffsetDateTime,
    /// The lots the points go to when they post.
    pub lots: Vec<LotUse>,
}

impl MemberState {
    /// Posts the points of `lots` (positive) to the balance, in those lots.
    pub fn credit(&mut self, lots: &[LotUse]) {
        self.balance += lots.iter().map(|lot| lot.points).sum::<i64>();
        self.restore(lots);
    }

    /// Puts points back into the lots they came from (a cancelled redemption), with their
    /// original expiry and funder. Does not change the balance.
    pub fn restore(&mut self, uses: &[LotUse]) {
        for used in uses.iter().filter(|used| used.points > 0) {
            match self.lots.iter_mut().find(|lot| used.is(lot)) {
                Some(lot) => lot.points += used.points,
                None => self.lots.push(Lot {
                    id: used.lot.clone(),
                    points: used.points,
                    expires_at: used.expires_at,
                    announced: false,
                    funded_by: used.funded_by.clone(),
                }),
            }
        }
        self.lots.sort_by(|a, b| {
            (a.expires_at.is_none(), a.expires_at, &a.id, &a.funded_by).cmp(&(
                b.expires_at.is_none(),
                b.expires_at,
                &b.id,
                &b.funded_by,
            ))
        });
        self.settle_lots();
    }

    /// Takes `points` (positive) off the balance: first up to each `prefer` entry's points
    /// from its lot (where a take-back's points were earned, funder by funder), then from the
    /// lots expiring soonest. Returns the lots used.
    pub fn debit(&mut self, points: i64, prefer: &[LotUse]) -> Vec<LotUse> {
        self.balance -= points;
        let mut remaining = points;
        let mut uses: Vec<LotUse> = Vec::new();
        let preferred = prefer.iter().filter_map(|wanted| {
            let index = self.lots.iter().position(|lot| wanted.is(lot))?;
            Some((index, wanted.points))
        });
        let order: Vec<(usize, i64)> = preferred
            .chain((0..self.lots.len()).map(|index| (index, i64::MAX)))
            .collect();
        for (index, most) in order {
            let lot = &mut self.lots[index];
            let taken = remaining.min(lot.points).min(most);
            if taken <= 0 {
                continue;
            }
            lot.points -= taken;
            remaining -= taken;
            match uses.iter_mut().find(|used| used.is(lot)) {
                Some(used) => used.points += taken,
                None => uses.push(LotUse {
                    lot: lot.id.clone(),
                    points: taken,
                    expires_at: lot.expires_at,
                    funded_by: lot.funded_by.clone(),
                }),
            }
        }
        self.lots.retain(|lot| lot.points > 0);
        uses
    }

    /// Removes every lot expired by `at`, taking its points off the balance.
    pub fn take_expired(&mut self, at: OffsetDateTime) -> Vec<Lot> {
        let (expired, kept): (Vec<Lot>, Vec<Lot>) = std::mem::take(&mut self.lots)
            .into_iter()
            .partition(|lot| lot.expires_at.is_some_and(|expires| expires <= at));
        self.lots = kept;
        self.balance -= expired.iter().map(|lot| lot.points).sum::<i64>();
        expired
    }

    /// Marks the lots expiring after `from` and by `until` not announced before as announced,
    /// and returns them, one per earning month (whatever their funders).
    pub fn announce_expiring(
        &mut self,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Vec<LotUse> {
        let mut months: Vec<LotUse> = Vec::new();
        let due = |lot: &Lot| lot.expires_at.is_some_and(|at| from < at && at <= until);
        for lot in self
            .lots
            .iter_mut()
            .filter(|lot| !lot.announced && due(lot))
        {
            lot.announced = true;
            match months.iter_mut().find(|month| month.lot == lot.id) {
                Some(month) => month.points += lot.points,
                None => months.push(LotUse {
                    lot: lot.id.clone(),
                    points: lot.points,
                    expires_at: lot.expires_at,
                    funded_by: String::new(),
                }),
            }
        }
        months
    }

    /// Points expiring after `from` and by `until`.
    pub fn expiring_between(&self, from: OffsetDateTime, until: OffsetDateTime) -> i64 {
        self.lots
            .iter()
            .filter(|lot| lot.expires_at.is_some_and(|at| from < at && at <= until))
            .map(|lot| lot.points)
            .sum()
    }

    /// Keeps the lots equal to the positive part of the balance, trimming the soonest-expiring
    /// when a negative balance swallowed a credit.
    fn settle_lots(&mut self) {
        let excess = self.lots.iter().map(|lot| lot.points).sum::<i64>() - self.balance.max(0);
        if excess > 0 {
            let balance = self.balance;
            self.debit(excess, &[]);
            self.balance = balance;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn lot(id: &str, points: i64, expires_at: OffsetDateTime, funder: &str) -> LotUse {
        LotUse {
            lot: id.into(),
            points,
            expires_at: Some(expires_at),
            funded_by: funder.into(),
        }
    }

    fn member() -> MemberState {
        let mut member = MemberState::new("standard");
        member.credit(&[lot(
            "2026-01",
            100,
            datetime!(2028-02-01 0:00 UTC),
            "issuer",
        )]);
        member.credit(&[lot("2026-03", 50, datetime!(2028-04-01 0:00 UTC), "issuer")]);
        member.credit(&[lot("2026-01", 30, datetime!(2028-02-01 0:00 UTC), "issuer")]);
        member
    }

    fn used(uses: &[LotUse]) -> Vec<(&str, i64, &str)> {
        uses.iter()
            .map(|u| (u.lot.as_str(), u.points, u.funded_by.as_str()))
            .collect()
    }

    #[test]
    fn debits_take_the_soonest_expiring_points_first_unless_told_otherwise() {
        let mut member = member();
        assert_eq!(
            member.lots.iter().map(|l| l.points).collect::<Vec<_>>(),
            [130, 50]
        );
        let uses = member.debit(140, &[]);
        assert_eq!(
            used(&uses),
            [("2026-01", 130, "issuer"), ("2026-03", 10, "issuer")]
        );
        let mut member = self::member();
        let march = lot("2026-03", 60, datetime!(2028-04-01 0:00 UTC), "issuer");
        let uses = member.debit(60, &[march]);
        assert_eq!(
            used(&uses),
            [("2026-03", 50, "issuer"), ("2026-01", 10, "issuer")]
        );
        assert_eq!(member.balance, 120);
        let mut member = self::member();
        let some_of_march = lot("2026-03", 20, datetime!(2028-04-01 0:00 UTC), "issuer");
        let uses = member.debit(60, &[some_of_march]);
        assert_eq!(
            used(&uses),
            [("2026-03", 20, "issuer"), ("2026-01", 40, "issuer")],
            "no more than preferred from a preferred lot"
        );
    }

    #[test]
    fn each_funder_has_its_own_lots_and_gets_its_points_back() {
        let mut member = MemberState::new("standard");
        let expires = datetime!(2028-12-01 0:00 UTC);
        member.credit(&[
            lot("2026-11", 100, expires, "issuer"),
            lot("2026-11", 30, expires, "merchant:MER-1"),
        ]);
        assert_eq!(member.lots.len(), 2);
        let uses = member.debit(120, &[]);
        assert_eq!(
            used(&uses),
            [
                ("2026-11", 100, "issuer"),
                ("2026-11", 20, "merchant:MER-1")
            ]
        );
        member.balance += 120;
        member.restore(&uses);
        let lots: Vec<(&str, i64)> = member
            .lots
            .iter()
            .map(|l| (l.funded_by.as_str(), l.points))
            .collect();
        assert_eq!(lots, [("issuer", 100), ("merchant:MER-1", 30)]);
        let notice = member.announce_expiring(datetime!(2028-11-15 0:00 UTC), expires);
        assert_eq!(
            used(&notice),
            [("2026-11", 130, "")],
            "one notice per month"
        );
    }

    #[test]
    fn expiry_removes_due_lots_and_restore_gives_points_back_with_their_expiry() {
        let mut member = member();
        let uses = member.debit(20, &[]);
        assert_eq!(
            member.expiring_between(
                datetime!(2028-01-01 0:00 UTC),
                datetime!(2028-03-01 0:00 UTC)
            ),
            110
        );
        let expired = member.take_expired(datetime!(2028-02-01 0:00 UTC));
        assert_eq!(expired[0].points, 110);
        assert_eq!((member.balance, member.lots.len()), (50, 1));
        member.balance += 20;
        member.restore(&uses);
        assert_eq!(
            member.lots[0].id, "2026-01",
            "restored with its original expiry, first in line"
        );
        assert_eq!(
            member.take_expired(datetime!(2028-02-02 0:00 UTC))[0].points,
            20
        );
    }

    #[test]
    fn a_credit_that_only_repays_a_negative_balance_adds_no_points_to_lots() {
        let mut member = MemberState::new("standard");
        member.balance = -40;
        member.credit(&[LotUse {
            lot: "2026-05".into(),
            points: 100,
            expires_at: None,
            funded_by: "issuer".into(),
        }]);
        assert_eq!(member.balance, 60);
        assert_eq!(member.lots.iter().map(|l| l.points).sum::<i64>(), 60);
    }
}
