//! Settlement between institutions: from the ledger, the points each funding party issued and
//! what each programme's members redeemed, let expire and had reversed over a period. Events
//! are counted once by `event_id` (the ledger topic may carry a duplicate), by event time.

use crate::domain::{LedgerEvent, LedgerEventType};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashSet};
use time::OffsetDateTime;

/// One programme's flows over the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramFlows {
    /// Points posted by earning and bonuses, by the party funding them (from the breakdown).
    pub issued_by_funder: BTreeMap<String, i64>,
    /// Held points posted after a review (funded as their purchase's lines said).
    pub released: i64,
    /// Redeemed, net of cancelled redemptions.
    pub redeemed: i64,
    pub expired: i64,
    pub reversed: i64,
}

/// Flows by programme over `[from, to)`.
#[derive(Debug, Default)]
pub struct Settlement {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub programs: BTreeMap<String, ProgramFlows>,
    seen: HashSet<String>,
}

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
        if !in_period || !self.seen.insert(event.event_id.clone()) {
            return;
        }
        let flows = self.programs.entry(event.program_id.clone()).or_default();
        match event.event_type {
            LedgerEventType::PointsEarned | LedgerEventType::BonusEarned => {
                for (funder, points) in funded_shares(event) {
                    *flows.issued_by_funder.entry(funder).or_default() += points;
                }
            }
            LedgerEventType::PointsReleased => flows.released += event.points,
            LedgerEventType::PointsRedeemed | LedgerEventType::RedemptionCancelled => {
                flows.redeemed -= event.points
            }
            LedgerEventType::PointsExpired => flows.expired -= event.points,
            LedgerEventType::PointsReversed => flows.reversed -= event.points,
            _ => {}
        }
    }
}

/// An earning event's posted points split by funder: each funded line's share, rounded down,
/// with the points rounding left over going to the largest fractions, so the shares add up to
/// the event's points.
fn funded_shares(event: &LedgerEvent) -> Vec<(String, i64)> {
    let mut by_funder: BTreeMap<&str, Decimal> = BTreeMap::new();
    for line in &event.breakdown {
        if let Some(funder) = &line.funded_by {
            *by_funder.entry(funder).or_default() += line.points;
        }
    }
    if by_funder.is_empty() {
        return if event.points == 0 {
            Vec::new()
        } else {
            vec![("unattributed".into(), event.points)]
        };
    }
    let mut shares: Vec<(String, i64, Decimal)> = by_funder
        .iter()
        .map(|(funder, points)| {
            let whole = points.floor();
            (
                (*funder).to_owned(),
                whole.to_i64().unwrap_or(0),
                *points - whole,
            )
        })
        .collect();
    let left = event.points - shares.iter().map(|(_, points, _)| points).sum::<i64>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2));
    for index in order.into_iter().cycle().take(left.unsigned_abs() as usize) {
        shares[index].1 += left.signum();
    }
    shares
        .into_iter()
        .map(|(funder, points, _)| (funder, points))
        .collect()
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
    fn issuance_is_split_by_funder_and_other_flows_add_up_once() {
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
            vec![],
        ));
        settlement.add(&event(
            "C-2/redemption_cancelled",
            LedgerEventType::RedemptionCancelled,
            100,
            vec![],
        ));
        settlement.add(&event(
            "E/points_expired:2024-10",
            LedgerEventType::PointsExpired,
            -50,
            vec![],
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
        assert_eq!(flows.issued_by_funder["merchant:MER-77"], 500);
        assert_eq!(flows.issued_by_funder["issuer"], 100);
        assert_eq!((flows.redeemed, flows.expired), (200, 50));
        assert_eq!(
            flows.issued_by_funder.values().sum::<i64>(),
            600,
            "counted once, in period"
        );
    }
}
