//! Earning lots: a member's posted points grouped by the month they were earned, each with the
//! time it expires. Expiry, redemptions and take-backs consume lots (expiring soonest first),
//! and say which, so every point can be traced from the month that earned it to where it went.
//!
//! The lots always hold exactly the positive part of the balance.

use super::MemberState;
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
}

/// Points taken from (or given back to) one lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotUse {
    pub lot: String,
    pub points: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A sale's points waiting out the programme's settlement window as pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maturing {
    pub txn_id: String,
    pub points: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub posts_at: OffsetDateTime,
    /// The lot the points go to when they post.
    pub lot: LotUse,
}

impl MemberState {
    /// Posts `points` (positive) to the balance, in lot `lot`.
    pub fn credit(&mut self, points: i64, lot: &str, expires_at: Option<OffsetDateTime>) {
        self.balance += points;
        self.restore(&[LotUse {
            lot: lot.to_owned(),
            points,
            expires_at,
        }]);
    }

    /// Puts points back into the lots they came from (a cancelled redemption), with their
    /// original expiry. Does not change the balance.
    pub fn restore(&mut self, uses: &[LotUse]) {
        for used in uses.iter().filter(|used| used.points > 0) {
            match self.lots.iter_mut().find(|lot| lot.id == used.lot) {
                Some(lot) => lot.points += used.points,
                None => self.lots.push(Lot {
                    id: used.lot.clone(),
                    points: used.points,
                    expires_at: used.expires_at,
                    announced: false,
                }),
            }
        }
        self.lots.sort_by(|a, b| {
            (a.expires_at.is_none(), a.expires_at, &a.id).cmp(&(
                b.expires_at.is_none(),
                b.expires_at,
                &b.id,
            ))
        });
        self.settle_lots();
    }

    /// Takes `points` (positive) off the balance: first from lot `prefer` (where a take-back's
    /// points were earned), then from the lots expiring soonest. Returns the lots used.
    pub fn debit(&mut self, points: i64, prefer: Option<&str>) -> Vec<LotUse> {
        self.balance -= points;
        let mut remaining = points;
        let mut uses = Vec::new();
        let order: Vec<usize> = prefer
            .and_then(|id| self.lots.iter().position(|lot| lot.id == id))
            .into_iter()
            .chain(0..self.lots.len())
            .collect();
        for index in order {
            let lot = &mut self.lots[index];
            let taken = remaining.min(lot.points);
            if taken > 0 {
                lot.points -= taken;
                remaining -= taken;
                uses.push(LotUse {
                    lot: lot.id.clone(),
                    points: taken,
                    expires_at: lot.expires_at,
                });
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
    /// and returns them.
    pub fn announce_expiring(&mut self, from: OffsetDateTime, until: OffsetDateTime) -> Vec<Lot> {
        self.lots
            .iter_mut()
            .filter(|lot| {
                !lot.announced && lot.expires_at.is_some_and(|at| from < at && at <= until)
            })
            .map(|lot| {
                lot.announced = true;
                lot.clone()
            })
            .collect()
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
            self.debit(excess, None);
            self.balance = balance;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn member() -> MemberState {
        let mut member = MemberState::new("standard");
        member.credit(100, "2026-01", Some(datetime!(2028-02-01 0:00 UTC)));
        member.credit(50, "2026-03", Some(datetime!(2028-04-01 0:00 UTC)));
        member.credit(30, "2026-01", Some(datetime!(2028-02-01 0:00 UTC)));
        member
    }

    #[test]
    fn debits_take_the_soonest_expiring_points_first_unless_told_otherwise() {
        let mut member = member();
        assert_eq!(
            member.lots.iter().map(|l| l.points).collect::<Vec<_>>(),
            [130, 50]
        );
        let used = member.debit(140, None);
        assert_eq!(
            used.iter()
                .map(|u| (u.lot.as_str(), u.points))
                .collect::<Vec<_>>(),
            [("2026-01", 130), ("2026-03", 10)]
        );
        let mut member = self::member();
        let used = member.debit(60, Some("2026-03"));
        assert_eq!(
            used.iter()
                .map(|u| (u.lot.as_str(), u.points))
                .collect::<Vec<_>>(),
            [("2026-03", 50), ("2026-01", 10)]
        );
        assert_eq!(member.balance, 120);
    }

    #[test]
    fn expiry_removes_due_lots_and_restore_gives_points_back_with_their_expiry() {
        let mut member = member();
        let used = member.debit(20, None);
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
        member.restore(&used);
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
        member.credit(100, "2026-05", None);
        assert_eq!(member.balance, 60);
        assert_eq!(member.lots.iter().map(|l| l.points).sum::<i64>(), 60);
    }
}
