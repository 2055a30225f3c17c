//! Tier qualification: a member holds the highest of the programme's default tier, the tier
//! last calendar year's qualifying total earned (kept through this year) and the tier this
//! year's total has reached so far. So an upgrade happens as soon as a threshold is crossed,
//! a downgrade at the first event of a year that did not keep the tier, and a refund that
//! takes the year's total back under a threshold undoes the upgrade it made.

use super::entry::Entry;
use crate::domain::{BreakdownLine, LedgerEventType, MemberState};
use crate::rules::earning::{QualifyingBasis, TierQualification};
use crate::rules::Program;
use rust_decimal::Decimal;
use time::OffsetDateTime;

/// The tier `member` holds in `year` under the programme's qualification rules; their current
/// tier when the programme has none.
pub fn tier_in(program: &Program, member: &MemberState, year: i32) -> String {
    if let Some(tier) = &member.tier_override {
        return tier.clone();
    }
    let Some(qualification) = &program.earning.tier_qualification else {
        return member.tier.clone();
    };
    let total = |year: i32| {
        member
            .counters
            .qualifying
            .get(&year)
            .copied()
            .unwrap_or_default()
    };
    let earned = [
        qualification.tier_for(total(year - 1)),
        qualification.tier_for(total(year)),
    ];
    earned
        .into_iter()
        .flatten()
        .max_by_key(|tier| rank(qualification, tier))
        .unwrap_or(&program.default_tier)
        .to_owned()
}

fn rank(qualification: &TierQualification, tier: &str) -> usize {
    qualification
        .thresholds
        .iter()
        .position(|(name, _)| name == tier)
        .map_or(0, |position| position + 1)
}

/// Why `member` qualifies for `tier` at `at`, with both years' totals.
fn qualified(
    program: &Program,
    qualification: &TierQualification,
    member: &MemberState,
    tier: &str,
    at: OffsetDateTime,
) -> String {
    let unit = match qualification.basis {
        QualifyingBasis::Spend => program.base_currency.as_str(),
        QualifyingBasis::Points => "points",
    };
    let total = |year: i32| member.counters.qualifying_in(year).normalize();
    format!(
        "tier {} -> {tier}: qualifying {} {unit} in {}, {} {unit} in {} (thresholds: {})",
        member.tier,
        total(at.year()),
        at.year(),
        total(at.year() - 1),
        at.year() - 1,
        qualification
            .thresholds
            .iter()
            .map(|(name, threshold)| format!("{name} {threshold}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Moves `member` to the tier they hold at `at`; the ledger entry saying so, if it changed.
pub(super) fn settle_tier<'a>(
    program: &Program,
    member: &mut MemberState,
    txn_id: &'a str,
    at: OffsetDateTime,
) -> Option<Entry<'a>> {
    let tier = tier_in(program, member, at.year());
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
