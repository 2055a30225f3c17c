//! The ranges points stay inside, so that no sum of them can wrap.
//!
//! One input moves at most [`MAX_EVENT_POINTS`] and every figure of an account stays within
//! [`MAX_ACCOUNT_POINTS`]. A decision adds a handful of such terms to an account, so its
//! arithmetic stays more than ninety times below `i64::MAX`; a decision that would leave an
//! account outside the range is refused (`out_of_range`) before anything is written.
//! Aggregates over many accounts or events are summed in `i128`.

use super::MemberState;

/// Most points one input may earn, redeem, transfer, exchange or award.
pub const MAX_EVENT_POINTS: i64 = 1_000_000_000_000_000;

/// Largest magnitude of any account figure: balance, pending, held, shortfall, lifetime
/// earned, a lot, a maturing sale, a cap or campaign counter, and the sum of the lots.
pub const MAX_ACCOUNT_POINTS: i64 = 100_000_000_000_000_000;

fn within(points: i64) -> bool {
    (-MAX_ACCOUNT_POINTS..=MAX_ACCOUNT_POINTS).contains(&points)
}

impl MemberState {
    /// Whether every figure of the account is inside [`MAX_ACCOUNT_POINTS`].
    pub fn within_bounds(&self) -> bool {
        let lots_total: i128 = self.lots.iter().map(|lot| i128::from(lot.points)).sum();
        [
            self.balance,
            self.pending,
            self.held,
            self.shortfall,
            self.lifetime_earned,
        ]
        .into_iter()
        .chain(self.lots.iter().map(|lot| lot.points))
        .chain(self.maturing.iter().map(|sale| sale.points))
        .chain(self.counters.periods.values().copied())
        .chain(self.counters.campaigns.values().copied())
        .all(within)
            && lots_total.unsigned_abs() <= MAX_ACCOUNT_POINTS.unsigned_abs().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_out_of_bounds_when_any_figure_is() {
        let mut member = MemberState::new("standard");
        assert!(member.within_bounds());
        member.balance = MAX_ACCOUNT_POINTS;
        assert!(member.within_bounds());
        member.balance = MAX_ACCOUNT_POINTS + 1;
        assert!(!member.within_bounds());
        member.balance = 0;
        member
            .counters
            .periods
            .insert("day:2026-11-22".into(), -MAX_ACCOUNT_POINTS - 1);
        assert!(!member.within_bounds());
    }
}
