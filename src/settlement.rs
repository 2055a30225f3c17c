//! Settlement between institutions: from the ledger, what each funding party's points did over
//! a period (issued, redeemed, expired, reversed) and the same per programme. Events are
//! counted once by member, programme and `event_id` (the ledger topic may carry a duplicate;
//! event ids carry transaction ids, unique per issuer and not across members), by event time. Points are attributed to funders as the lots they sit in are:
//! earning by the same split as its lots, redemptions and expiry by the lots they consumed.

use crate::domain::ledger::funder_shares;
use crate::domain::{BreakdownLine, LedgerEvent, LedgerEventType};
use rust_decimal::prelude::ToPrimitive;
use std::collections::{BTreeMap, HashSet};
use time::OffsetDateTime;

/// What one funding party's points did over the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunderFlows {
    /// Posted by earning, bonuses, the end of a settlement window, a review's release, or
    /// received by exchange from another programme.
    pub issued: i128,
    /// Redeemed (rewards, and exchanges into another programme), net of cancellations.
    pub redeemed: i128,
    pub expired: i128,
    /// Taken back by refunds, reversals and chargebacks.
    pub reversed: i128,
}

/// One programme's flows over the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramFlows {
    /// By funding party (`unattributed` for points without one).
    pub funders: BTreeMap<String, FunderFlows>,
    /// Held points posted after a review.
    pub released: i128,
    /// Redeemed (rewards, and exchanges into another programme), net of cancellations.
    pub redeemed: i128,
    pub expired: i128,
    pub reversed: i128,
}

/// Flows by programme over `[from, to)`.
#[derive(Debug, Default)]
pub struct Settlement {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub programs: BTreeMap<String, ProgramFlows>,
    /// (member, programme, event id) of every event counted.
    seen: HashSet<(String, String, String)>,
}

const UNATTRIBUTED: &str = "unattributed";

impl Settlement {
    pub fn new(from: OffsetDateTime, to: OffsetDateTime) -> Settlement {
        Settlement {
            from: Some(from),
            to: Some(to),
            ..Settlement::default()
        }
    }

    /// Counts `event` if it falls in the period and was not counted before.
    pub fn add(&mut self, event: &LedgerEvent) {
        let in_period = self.from.is_none_or(|from| from <= event.occurred_at)
            && self.to.is_none_or(|to| event.occurred_at < to);
        let identity = (
            event.member_id.clone(),
            event.program_id.clone(),
            event.event_id.clone(),
        );
        if !in_period || !self.seen.insert(identity) {
            return;
        }
        let flows = self.programs.entry(event.program_id.clone()).or_default();
        let funders = &mut flows.funders;
        match event.event_type {
            LedgerEventType::PointsEarned
            | LedgerEventType::BonusEarned
            | LedgerEventType::ExchangeReceived => {
                for (name, points) in funder_shares(&event.breakdown, event.points, UNATTRIBUTED) {
                    funders.entry(name).or_default().issued += i128::from(points);
                }
            }
            LedgerEventType::PointsPosted | LedgerEventType::PointsReleased => {
                for (name, points) in lot_lines(&event.breakdown) {
                    funders.entry(name).or_default().issued += i128::from(points);
                }
                if event.event_type == LedgerEventType::PointsReleased {
                    flows.released += i128::from(event.points);
                }
            }
            LedgerEventType::PointsRedeemed
            | LedgerEventType::RedemptionCancelled
            | LedgerEventType::PointsExchanged => {
                for (name, points) in lot_lines(&event.breakdown) {
                    funders.entry(name).or_default().redeemed -= i128::from(points);
                }
                flows.redeemed -= i128::from(event.points);
            }
            LedgerEventType::PointsExpired => {
                for (name, points) in lot_lines(&event.breakdown) {
                    funders.entry(name).or_default().expired -= i128::from(points);
                }
                flows.expired -= i128::from(event.points);
            }
            LedgerEventType::PointsReversed => {
                for (name, points) in lot_lines(&event.breakdown) {
                    funders.entry(name).or_default().reversed -= i128::from(points);
                }
                flows.reversed -= i128::from(event.points);
            }
            _ => {}
        }
    }
}

/// The points of an event's lot lines (whole points, signed) by the funder they name.
fn lot_lines(breakdown: &[BreakdownLine]) -> Vec<(String, i64)> {
    let mut by_funder: BTreeMap<String, i64> = BTreeMap::new();
    for line in breakdown.iter().filter(|line| {
        line.rule.starts_with("lot:") || line.rule == "expiry" || line.rule == "negative_balance"
    }) {
        let name = line.funded_by.as_deref().unwrap_or(UNATTRIBUTED);
        let points = line.points.to_i64().unwrap_or(0);
        let total = by_funder.entry(name.to_owned()).or_default();
        *total = total.saturating_add(points);
    }
    by_funder.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BreakdownLine;
    use time::macros::datetime;

    fn line(rule: &str, points: &str, funder: Option<&str>) -> BreakdownLine {
        BreakdownLine {
            rule: rule.into(),
            detail: String::new(),
            points: points.parse().unwrap(),
            funded_by: funder.map(str::to_owned),
        }
    }

    fn event(
        id: &str,
        kind: LedgerEventType,
        points: i64,
        lines: Vec<BreakdownLine>,
    ) -> LedgerEvent {
        LedgerEvent {
            event_id: id.into(),
            event_type: kind,
            member_id: "M-1".into(),
            program_id: "default".into(),
            txn_id: id.into(),
            points,
            pending_points: 0,
            balance_after: 0,
            pending_after: 0,
            tier: "standard".into(),
            breakdown: lines,
            rules_version: "v".into(),
            occurred_at: datetime!(2026-11-10 10:00 UTC),
            expiring: None,
        }
    }

    #[test]
    fn each_funders_points_are_followed_from_issue_to_redemption_and_expiry_once() {
        let mut settlement = Settlement::new(
            datetime!(2026-11-01 0:00 UTC),
            datetime!(2026-12-01 0:00 UTC),
        );
        let earned = event(
            "T-1/points_earned",
            LedgerEventType::PointsEarned,
            600,
            vec![
                line("rate:partner", "500.4", Some("merchant:MER-77")),
                line("campaign:promo", "100", Some("issuer")),
                line("rounding", "-0.4", Some("issuer")),
            ],
        );
        settlement.add(&earned);
        settlement.add(&earned);
        settlement.add(&event(
            "C-1/points_redeemed",
            LedgerEventType::PointsRedeemed,
            -300,
            vec![
                line("lot:2026-11", "-250", Some("merchant:MER-77")),
                line("lot:2026-11", "-50", Some("issuer")),
            ],
        ));
        settlement.add(&event(
            "C-2/redemption_cancelled",
            LedgerEventType::RedemptionCancelled,
            100,
            vec![line("lot:2026-11", "100", Some("merchant:MER-77"))],
        ));
        settlement.add(&event(
            "E/points_expired:2024-10",
            LedgerEventType::PointsExpired,
            -50,
            vec![line("expiry", "-50", None)],
        ));
        settlement.add(&event(
            "R-1/points_reversed",
            LedgerEventType::PointsReversed,
            -40,
            vec![
                line("refund", "0", None),
                line("lot:2026-11", "-30", Some("merchant:MER-77")),
                line("lot:2026-11", "-10", Some("issuer")),
            ],
        ));
        settlement.add(&event(
            "T-2/points_posted:T-0",
            LedgerEventType::PointsPosted,
            0,
            vec![
                line("lot:2026-11", "30", Some("issuer")),
                line("settlement_window", "-30", None),
            ],
        ));
        let mut late = event(
            "T-9/points_earned",
            LedgerEventType::PointsEarned,
            99,
            vec![],
        );
        late.occurred_at = datetime!(2026-12-01 0:00 UTC);
        settlement.add(&late);

        let flows = &settlement.programs["default"];
        let merchant = &flows.funders["merchant:MER-77"];
        let issuer = &flows.funders["issuer"];
        assert_eq!(
            (merchant.issued, merchant.redeemed, merchant.reversed),
            (500, 150, 30)
        );
        assert_eq!(
            (issuer.issued, issuer.redeemed, issuer.reversed),
            (100 + 30, 50, 10)
        );
        assert_eq!(flows.reversed, 40);
        assert_eq!(flows.funders["unattributed"].expired, 50);
        assert_eq!((flows.redeemed, flows.expired), (200, 50));
        assert_eq!(
            flows.funders.values().map(|f| f.issued).sum::<i128>(),
            630,
            "counted once, in period"
        );
    }

    #[test]
    fn two_members_events_with_one_id_both_count() {
        let mut settlement = Settlement::default();
        let first = event(
            "expire@2026-12-01T00:00:00Z/points_expired:2025-11",
            LedgerEventType::PointsExpired,
            -30,
            vec![line("lot:2025-11", "-30", Some("issuer"))],
        );
        let mut second = first.clone();
        second.member_id = "M-2".into();
        settlement.add(&first);
        settlement.add(&second);
        settlement.add(&second);
        assert_eq!(settlement.programs["default"].expired, 60);
    }

    #[test]
    fn an_exchange_is_a_redemption_in_one_programme_and_an_issue_in_the_other() {
        let mut settlement = Settlement::new(
            datetime!(2026-11-01 0:00 UTC),
            datetime!(2026-12-01 0:00 UTC),
        );
        settlement.add(&event(
            "X-1/points_exchanged",
            LedgerEventType::PointsExchanged,
            -200,
            vec![line("lot:2026-11", "-200", Some("issuer"))],
        ));
        let mut received = event(
            "X-1/exchange_received",
            LedgerEventType::ExchangeReceived,
            100,
            vec![line("exchange:default", "100", Some("airline"))],
        );
        received.program_id = "miles".into();
        settlement.add(&received);
        let default = &settlement.programs["default"];
        assert_eq!(
            (default.redeemed, default.funders["issuer"].redeemed),
            (200, 200)
        );
        assert_eq!(settlement.programs["miles"].funders["airline"].issued, 100);
    }

    #[test]
    fn a_capped_earning_is_cut_from_every_funder_alike() {
        let lines = [
            line("base_rate", "100", Some("issuer")),
            line("campaign:partner", "500", Some("merchant:MER-1")),
            line("cap_day", "-400", Some("issuer")),
        ];
        assert_eq!(
            funder_shares(&lines, 200, UNATTRIBUTED),
            [
                ("issuer".to_owned(), 33),
                ("merchant:MER-1".to_owned(), 167)
            ],
            "a third of each, the odd point to the larger fraction"
        );
        assert_eq!(
            funder_shares(&[], 7, UNATTRIBUTED),
            [(UNATTRIBUTED.to_owned(), 7)]
        );
    }
}
