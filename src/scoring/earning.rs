//! What a spend earns under its programme's rules, line by line: exclusions and the minimum
//! spend, the special or base rate, the tier multiplier, campaigns (stacked as declared, each
//! within its per-member cap), rounding once, then the day, month and year caps. The lines add
//! up exactly to the points credited, and each names who funds its points.

use super::{BudgetRoom, Rejection};
use crate::domain::bounds::MAX_EVENT_POINTS;
use crate::domain::counters::Counted;
use crate::domain::{BreakdownLine, MemberState, Transaction};
use crate::rules::earning::{Campaign, Reward, Stacking};
use crate::rules::Program;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Points earned by a spend, with the rules that made them and what they counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Earned {
    pub points: i64,
    pub breakdown: Vec<BreakdownLine>,
    /// What this earning adds to the member's counters.
    pub counted: Counted,
    /// Spend-threshold bonuses this spend triggered (`<campaign>@<period>`).
    pub thresholds_reached: Vec<String>,
}

fn line(rule: String, detail: String, points: Decimal, funded_by: &str) -> BreakdownLine {
    BreakdownLine {
        rule,
        detail,
        points,
        funded_by: Some(funded_by.to_owned()),
    }
}

/// Earning for `txn` (worth `base_amount` in the programme's base currency) by `member`, with
/// budgeted campaigns limited to what `budget` grants.
pub fn earn(
    txn: &Transaction,
    base_amount: Decimal,
    program: &Program,
    member: &MemberState,
    budget: &BudgetRoom,
) -> Result<Earned, Rejection> {
    let rules = &program.earning;
    let nothing = |rule: &str, detail: String| Earned {
        points: 0,
        breakdown: vec![line(rule.into(), detail, Decimal::ZERO, &rules.funded_by)],
        counted: Counted::default(),
        thresholds_reached: Vec::new(),
    };
    if let Some(exclusion) = rules.exclusions.iter().find(|e| e.criteria.matches(txn)) {
        return Ok(nothing(
            "exclusion",
            format!("excluded by {}: this spend earns no points", exclusion.id),
        ));
    }
    if base_amount < rules.minimum_spend {
        return Ok(nothing(
            "minimum_spend",
            format!(
                "{} {} is below the minimum spend of {}: no points",
                base_amount.normalize(),
                program.base_currency,
                rules.minimum_spend
            ),
        ));
    }

    let mut counted = Counted::default();
    let (base_points, mut breakdown) =
        base_earning(txn, base_amount, program, member, &mut counted)?;
    let mut total = base_points;

    let tier = &member.tier;
    let multiplier = program.tiers.get(tier).copied().unwrap_or(Decimal::ONE);
    if multiplier != Decimal::ONE {
        let extra = checked(base_points.checked_mul(multiplier - Decimal::ONE))?;
        breakdown.push(line(
            "tier_multiplier".into(),
            format!("tier {tier} x{multiplier}"),
            extra,
            &rules.funded_by,
        ));
        total += extra;
    }

    let (campaigns, thresholds_reached) = campaign_awards(
        txn,
        base_amount,
        base_points,
        program,
        member,
        budget,
        &mut counted,
    )?;
    for award in campaigns {
        counted
            .campaigns
            .insert(award.campaign.id.clone(), whole(award.points.floor())?);
        breakdown.push(line(
            format!("campaign:{}", award.campaign.id),
            award.detail,
            award.points,
            &award.campaign.funded_by,
        ));
        total += award.points;
    }

    let rounded = program.rounding.apply(total);
    if rounded != total {
        breakdown.push(line(
            "rounding".into(),
            format!("{} of {}", program.rounding.as_str(), total.normalize()),
            rounded - total,
            &rules.funded_by,
        ));
    }
    let mut points = whole(rounded)?;

    let at = txn.timestamp;
    for (period, cap) in rules.caps.each() {
        let key = format!("{}:{}", period.as_str(), period.key(at));
        let used = member.counters.periods.get(&key).copied().unwrap_or(0);
        let room = (cap - used).max(0);
        if points > room {
            let cut = points - room;
            breakdown.push(line(
                format!("cap_{}", period.as_str()),
                format!(
                    "{cut} points above the {} cap of {cap} not credited ({used} already credited in {})",
                    period.as_str(),
                    period.key(at)
                ),
                -Decimal::from(cut),
                &rules.funded_by,
            ));
            points = room;
        }
    }
    for (period, _) in rules.caps.each() {
        counted
            .periods
            .insert(format!("{}:{}", period.as_str(), period.key(at)), points);
    }
    if let Some(qualification) = &rules.tier_qualification {
        counted.qualifying = if qualification.basis.counts_spend() {
            base_amount
        } else {
            Decimal::from(points)
        };
        if qualification.basis.is_combined() {
            counted.qualifying_points = Decimal::from(points);
        }
        counted.qualifying_period = qualification.period.key(at);
    }
    Ok(Earned {
        points,
        breakdown,
        counted,
        thresholds_reached,
    })
}

/// The points a spend earns before its tier and campaigns, with their lines: the first
/// matching rate's, within the rate's per-member period cap (spend beyond it earns the base
/// rate), or else the base rate's.
fn base_earning(
    txn: &Transaction,
    base_amount: Decimal,
    program: &Program,
    member: &MemberState,
    counted: &mut Counted,
) -> Result<(Decimal, Vec<BreakdownLine>), Rejection> {
    let rules = &program.earning;
    let currency = &program.base_currency;
    let converted = if txn.currency == *currency {
        String::new()
    } else {
        format!(
            "{} {} at {} {currency}/{} = ",
            txn.amount, txn.currency, program.fx[&txn.currency], txn.currency
        )
    };
    let base_line = |amount: Decimal, why: &str| -> Result<BreakdownLine, Rejection> {
        let rate = program.points_per_unit;
        Ok(line(
            "base_rate".into(),
            format!(
                "{converted}{} {currency} x {rate} points per {currency}{why}",
                amount.normalize()
            ),
            checked(amount.checked_mul(rate))?,
            &rules.funded_by,
        ))
    };
    let Some(rate) = rules.rates.iter().find(|rate| rate.criteria.matches(txn)) else {
        let line = base_line(base_amount, "")?;
        return Ok((line.points, vec![line]));
    };
    let per_unit = rate.points_per_unit;
    let points = checked(base_amount.checked_mul(per_unit))?;
    let rate_line = |points: Decimal, amount: Decimal, why: String| {
        line(
            format!("rate:{}", rate.id),
            format!(
                "{converted}{} {currency} x {per_unit} points per {currency}{why}",
                amount.normalize()
            ),
            points,
            &rate.funded_by,
        )
    };
    let Some((period, cap)) = rate.period_cap else {
        return Ok((points, vec![rate_line(points, base_amount, String::new())]));
    };
    let key = format!("rate:{}@{}", rate.id, period.key(txn.timestamp));
    let used = member.counters.periods.get(&key).copied().unwrap_or(0);
    let room = Decimal::from((cap - used).max(0));
    if points <= room {
        counted.periods.insert(key, whole(points.floor())?);
        return Ok((points, vec![rate_line(points, base_amount, String::new())]));
    }
    counted.periods.insert(key, whole(room)?);
    let covered = (room / per_unit).round_dp(2).min(base_amount);
    let why = format!(
        " (its cap of {cap} points a {} reached, {used} used before)",
        period.as_str()
    );
    let mut lines = vec![rate_line(room, covered, why)];
    let rest = base_line(
        base_amount - covered,
        &format!(" beyond the {} cap", rate.id),
    )?;
    let total = room + rest.points;
    lines.push(rest);
    Ok((total, lines))
}

/// One campaign's contribution to a spend.
struct Award<'a> {
    campaign: &'a Campaign,
    points: Decimal,
    detail: String,
}

/// The campaigns that reward this spend, after stacking, per-member caps and budgets, and the
/// spend thresholds it reached.
fn campaign_awards<'p>(
    txn: &Transaction,
    base_amount: Decimal,
    base_points: Decimal,
    program: &'p Program,
    member: &MemberState,
    budget: &BudgetRoom,
    counted: &mut Counted,
) -> Result<(Vec<Award<'p>>, Vec<String>), Rejection> {
    let rules = &program.earning;
    let mut thresholds_reached = Vec::new();
    let mut multiplied = Vec::new();
    let mut fixed = Vec::new();
    for campaign in rules
        .campaigns
        .iter()
        .filter(|campaign| campaign.applies(txn, &member.tier))
    {
        match &campaign.reward {
            Reward::Multiplier(multiplier) => {
                let extra = checked(base_points.checked_mul(multiplier - Decimal::ONE))?;
                let detail = format!("x{multiplier} on {} base points", base_points.normalize());
                multiplied.push((campaign, extra, detail));
            }
            Reward::Bonus(bonus) => {
                fixed.push((campaign, Decimal::from(*bonus), format!("bonus of {bonus}")))
            }
            Reward::FirstPurchase(bonus) if member.txn_count == 0 => fixed.push((
                campaign,
                Decimal::from(*bonus),
                format!("first-purchase bonus of {bonus}"),
            )),
            Reward::FirstPurchase(_) => {}
            Reward::SpendThreshold {
                spend,
                period,
                bonus,
            } => {
                let key = format!("{}@{}", campaign.id, period.key(txn.timestamp));
                let before = member
                    .counters
                    .threshold_spend
                    .get(&key)
                    .copied()
                    .unwrap_or_default();
                let after = before + base_amount;
                counted.threshold_spend.insert(key.clone(), base_amount);
                if before < *spend
                    && after >= *spend
                    && !member.counters.thresholds_reached.contains(&key)
                {
                    fixed.push((
                        campaign,
                        Decimal::from(*bonus),
                        format!(
                            "bonus of {bonus} for reaching {spend} {} of eligible spend this {}",
                            program.base_currency,
                            period.as_str()
                        ),
                    ));
                    thresholds_reached.push(key);
                }
            }
        }
    }
    let multiplied = stack(multiplied, rules.stacking, base_points);
    let mut awards = Vec::new();
    for (campaign, points, detail) in multiplied.into_iter().chain(fixed) {
        let (points, detail) = match campaign.per_member_cap {
            Some(cap) => {
                let used = member
                    .counters
                    .campaigns
                    .get(&campaign.id)
                    .copied()
                    .unwrap_or(0);
                let room = Decimal::from((cap - used).max(0));
                if points > room {
                    (
                        room,
                        format!("{detail}, cut to {room} by the per-member cap of {cap}"),
                    )
                } else {
                    (points, detail)
                }
            }
            None => (points, detail),
        };
        let (points, detail) = match campaign.period_cap {
            Some((period, cap)) => {
                let key = format!("campaign:{}@{}", campaign.id, period.key(txn.timestamp));
                let used = member.counters.periods.get(&key).copied().unwrap_or(0);
                let room = Decimal::from((cap - used).max(0));
                counted
                    .periods
                    .insert(key, whole(points.min(room).floor())?);
                if points > room {
                    let name = period.as_str();
                    (
                        room,
                        format!("{detail}, cut to {room} by the cap of {cap} a {name}"),
                    )
                } else {
                    (points, detail)
                }
            }
            None => (points, detail),
        };
        let (points, detail) = match (campaign.budget, budget) {
            (Some(total), BudgetRoom::Granted(granted)) => {
                let room = Decimal::from(granted.get(&campaign.id).copied().unwrap_or(0));
                if points > room {
                    (
                        room,
                        format!("{detail}, cut to {room}: all that was left of the campaign's budget of {total}"),
                    )
                } else {
                    (points, detail)
                }
            }
            _ => (points, detail),
        };
        if campaign.budget.is_some() && points > Decimal::ZERO {
            // Whole points drawn, rounded up: never less than the line gives (a grant is whole,
            // so a cut line still fits it).
            counted
                .budget
                .insert(campaign.id.clone(), whole(points.ceil())?);
        }
        if points > Decimal::ZERO {
            awards.push(Award {
                campaign,
                points,
                detail,
            });
        }
    }
    Ok((awards, thresholds_reached))
}

/// Applies the stacking policy to the extra points of multiplier campaigns.
fn stack(
    mut extras: Vec<(&Campaign, Decimal, String)>,
    stacking: Stacking,
    base_points: Decimal,
) -> Vec<(&Campaign, Decimal, String)> {
    match stacking {
        Stacking::Add => extras,
        Stacking::HighestWins => {
            extras.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
            extras.truncate(1);
            extras
        }
        Stacking::Capped(max) => {
            let mut room = base_points * (max - Decimal::ONE);
            for (_, extra, detail) in &mut extras {
                if *extra > room {
                    *detail = format!(
                        "{detail}, cut to {} by the stacking cap of x{max}",
                        room.normalize()
                    );
                    *extra = room;
                }
                room -= *extra;
            }
            extras
        }
    }
}

pub(super) fn checked(value: Option<Decimal>) -> Result<Decimal, Rejection> {
    value.ok_or(Rejection::OutOfRange)
}

/// Whole points of one earning, within what one input may move.
pub(super) fn whole(rounded: Decimal) -> Result<i64, Rejection> {
    rounded
        .to_i64()
        .filter(|points| points.unsigned_abs() <= MAX_EVENT_POINTS.unsigned_abs())
        .ok_or(Rejection::OutOfRange)
}

#[cfg(test)]
mod tests;
