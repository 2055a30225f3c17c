//! Tier qualification. Over calendar years, a member holds the highest of the programme's
//! default tier, the tier last year's qualifying total earned (kept through this year) and the
//! tier this year's total has reached so far: an upgrade happens as soon as a threshold is
//! crossed, a downgrade at the first event of a year that did not keep the tier. Over rolling
//! months, a member holds the tier the window's total reaches: up as soon as it is crossed,
//! down at the first event after enough of it has left the window. Either way a refund that
//! takes the total back under a threshold undoes the upgrade it made.

use super::entry::Entry;
use crate::domain::{BreakdownLine, LedgerEventType, MemberState};
use crate::rules::earning::{Qualifying, QualifyingPeriod, TierQualification};
use crate::rules::Program;
use rust_decimal::Decimal;
use time::OffsetDateTime;

/// The tier `member` holds at `at` under the programme's qualification rules; their current
/// tier when the programme has none.
pub fn tier_at(program: &Program, member: &MemberState, at: OffsetDateTime) -> String {
    if let Some(tier) = &member.tier_override {
        return tier.clone();
    }
    let Some(qualification) = &program.earning.tier_qualification else {
        return member.tier.clone();
    };
    let current = qualification.current(&member.counters, at);
    let kept = match qualification.period {
        QualifyingPeriod::CalendarYear => {
            qualification.tier_for(qualification.counted_in(&member.counters, at.year() - 1))
        }
        QualifyingPeriod::RollingMonths(_) => None,
    };
    [kept, qualification.tier_for(current)]
        .into_iter()
        .flatten()
        .max_by_key(|tier| qualification.rank(tier))
        .unwrap_or(&program.default_tier)
        .to_owned()
}

/// Why `member` qualifies for `tier` at `at`: the period's total (and last year's, over
/// calendar years).
fn qualified(
    program: &Program,
    qualification: &TierQualification,
    member: &MemberState,
    tier: &str,
    at: OffsetDateTime,
) -> String {
    let unit = if qualification.basis.counts_spend() {
        program.base_currency.as_str()
    } else {
        "points"
    };
    let amounts = |totals: Qualifying| {
        let total = totals.total.normalize();
        if qualification.basis.is_combined() {
            format!("{total} {unit} and {} points", totals.points.normalize())
        } else {
            format!("{total} {unit}")
        }
    };
    let current = amounts(qualification.current(&member.counters, at));
    let last_year = match qualification.period {
        QualifyingPeriod::CalendarYear => {
            let year = at.year() - 1;
            let totals = qualification.counted_in(&member.counters, year);
            format!(", {} in {year}", amounts(totals))
        }
        QualifyingPeriod::RollingMonths(_) => String::new(),
    };
    let table = |thresholds: &[(String, rust_decimal::Decimal)]| {
        thresholds
            .iter()
            .map(|(name, threshold)| format!("{name} {threshold}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let thresholds = if qualification.basis.is_combined() {
        format!(
            "{}: {unit} {}; points {}",
            qualification.basis.as_str(),
            table(&qualification.thresholds),
            table(&qualification.points_thresholds)
        )
    } else {
        table(&qualification.thresholds)
    };
    format!(
        "tier {} -> {tier}: qualifying {current} in {}{last_year} (thresholds: {thresholds})",
        member.tier,
        qualification.period.describe(at),
    )
}

/// Moves `member` to the tier they hold at `at`; the ledger entry saying so, if it changed.
pub(super) fn settle_tier<'a>(
    program: &Program,
    member: &mut MemberState,
    txn_id: &'a str,
    at: OffsetDateTime,
) -> Option<Entry<'a>> {
    let tier = tier_at(program, member, at);
    if tier == member.tier {
        return None;
    }
    let detail = match (&member.tier_override, &program.earning.tier_qualification) {
        (Some(_), _) => format!("tier {} -> {tier}: set by an administrator", member.tier),
        (None, Some(qualification)) => qualified(program, qualification, member, &tier, at),
        (None, None) => return None,
    };
    member.tier = tier.clone();
    Some(Entry {
        event_type: LedgerEventType::TierChanged,
        txn_id,
        qualifier: Some(tier),
        points: 0,
        pending_points: 0,
        breakdown: vec![BreakdownLine {
            rule: "tier_qualification".into(),
            detail,
            points: Decimal::ZERO,
            funded_by: None,
        }],
        at,
    })
}

#[cfg(test)]
mod tests;
