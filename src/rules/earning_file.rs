//! The earning sections of a programme as written, and their validation into [`EarningRules`].

use super::earning::*;
use super::{invalid, RulesError};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// The earning fields of `[programs.<id>]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct EarningFile {
    /// Spend below this, in the base currency, earns nothing.
    minimum_spend: Decimal,
    /// Who funds base and tier points (e.g. "issuer"); named in every breakdown line.
    funded_by: Option<String>,
    rates: Vec<RateFile>,
    exclusions: Vec<ExclusionFile>,
    campaigns: Vec<CampaignFile>,
    /// add | highest | capped (with max_multiplier).
    campaign_stacking: Option<String>,
    /// With campaign_stacking = "capped": the most base points may be multiplied by, in all.
    max_multiplier: Option<Decimal>,
    caps: CapsFile,
    tier_qualification: Option<TierQualificationFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateFile {
    id: String,
    points_per_unit: Decimal,
    /// Most points per member per `period_cap_period` (day, month or year; default month).
    period_cap: Option<i64>,
    period_cap_period: Option<String>,
    funded_by: Option<String>,
    #[serde(default)]
    mccs: Vec<String>,
    #[serde(default)]
    merchants: Vec<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExclusionFile {
    id: String,
    #[serde(default)]
    mccs: Vec<String>,
    #[serde(default)]
    merchants: Vec<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignFile {
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    end: OffsetDateTime,
    /// mon..sun; every day when empty.
    #[serde(default)]
    days: Vec<String>,
    #[serde(default)]
    tiers: Vec<String>,
    #[serde(default)]
    mccs: Vec<String>,
    #[serde(default)]
    merchants: Vec<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
    multiplier: Option<Decimal>,
    bonus: Option<i64>,
    first_purchase_bonus: Option<i64>,
    threshold_spend: Option<Decimal>,
    /// day | month | year (default month), with threshold_spend.
    threshold_period: Option<String>,
    per_member_cap: Option<i64>,
    /// Most points per member per `period_cap_period` (day, month or year; default month).
    period_cap: Option<i64>,
    period_cap_period: Option<String>,
    /// Most points the campaign gives all members together.
    budget: Option<i64>,
    funded_by: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct CapsFile {
    day: Option<i64>,
    month: Option<i64>,
    year: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierQualificationFile {
    /// spend | points | spend_or_points | spend_and_points.
    basis: String,
    /// Qualifying total over the period that earns each tier (spend, with a combined basis).
    thresholds: BTreeMap<String, Decimal>,
    /// With a combined basis: the points each tier needs.
    points_thresholds: Option<BTreeMap<String, Decimal>>,
    /// Count the last N calendar months instead of calendar years.
    rolling_months: Option<u32>,
}

/// Validates a programme's earning rules. `field` prefixes field names (`programs.<id>.`),
/// `tiers` are the programme's tier names and `default_tier` the tier of new members.
pub(super) fn validate(
    file: EarningFile,
    field: &dyn Fn(&str) -> String,
    tiers: &BTreeSet<&str>,
    default_tier: &str,
) -> Result<EarningRules, RulesError> {
    let programme_funder = file.funded_by.unwrap_or_else(|| "issuer".to_owned());
    if file.minimum_spend.is_sign_negative() {
        return Err(invalid(field("minimum_spend"), "must not be negative"));
    }
    let mut ids = BTreeSet::new();
    let mut unique = |name: &str, id: &str| {
        if id.trim().is_empty() || !ids.insert(id.to_owned()) {
            Err(invalid(
                field(name),
                format!("id `{id}` is empty or used twice"),
            ))
        } else {
            Ok(())
        }
    };
    let mut rates = Vec::new();
    for (index, rate) in file.rates.into_iter().enumerate() {
        let at = |name: &str| field(&format!("rates[{index}].{name}"));
        unique(&format!("rates[{index}].id"), &rate.id)?;
        if rate.points_per_unit.is_sign_negative() {
            return Err(invalid(at("points_per_unit"), "must not be negative"));
        }
        let cap = period_cap(&at, rate.period_cap, rate.period_cap_period)?;
        if cap.is_some() && rate.points_per_unit.is_zero() {
            return Err(invalid(
                at("period_cap"),
                "a rate of 0 points has nothing to cap",
            ));
        }
        rates.push(Rate {
            id: rate.id,
            criteria: criteria(&at, rate.mccs, rate.merchants, rate.channels, rate.products)?,
            points_per_unit: rate.points_per_unit,
            period_cap: cap,
            funded_by: rate.funded_by.unwrap_or_else(|| programme_funder.clone()),
        });
    }
    let mut exclusions = Vec::new();
    for (index, exclusion) in file.exclusions.into_iter().enumerate() {
        let at = |name: &str| field(&format!("exclusions[{index}].{name}"));
        unique(&format!("exclusions[{index}].id"), &exclusion.id)?;
        let criteria = criteria(
            &at,
            exclusion.mccs,
            exclusion.merchants,
            exclusion.channels,
            exclusion.products,
        )?;
        if criteria == Criteria::default() {
            return Err(invalid(
                at("id"),
                "an exclusion must name mccs, merchants, channels or products",
            ));
        }
        exclusions.push(Exclusion {
            id: exclusion.id,
            criteria,
        });
    }
    let mut campaigns = Vec::new();
    for (index, campaign) in file.campaigns.into_iter().enumerate() {
        let at = |name: &str| field(&format!("campaigns[{index}].{name}"));
        unique(&format!("campaigns[{index}].id"), &campaign.id)?;
        campaigns.push(validate_campaign(campaign, &at, tiers, &programme_funder)?);
    }
    let stacking = match (file.campaign_stacking.as_deref(), file.max_multiplier) {
        (None | Some("add"), None) => Stacking::Add,
        (Some("highest"), None) => Stacking::HighestWins,
        (Some("capped"), Some(max)) if max >= Decimal::ONE => Stacking::Capped(max),
        (Some("capped"), _) => {
            return Err(invalid(
                field("max_multiplier"),
                "campaign_stacking = \"capped\" needs max_multiplier of at least 1",
            ))
        }
        (Some(other), None) => {
            return Err(invalid(
                field("campaign_stacking"),
                format!("`{other}` is not one of add, highest, capped"),
            ))
        }
        (_, Some(_)) => {
            return Err(invalid(
                field("max_multiplier"),
                "only applies with campaign_stacking = \"capped\"",
            ))
        }
    };
    let caps = Caps {
        day: positive_cap(&field("caps.day"), file.caps.day)?,
        month: positive_cap(&field("caps.month"), file.caps.month)?,
        year: positive_cap(&field("caps.year"), file.caps.year)?,
    };
    let tier_qualification = file
        .tier_qualification
        .map(|qualification| validate_tiers(qualification, field, tiers, default_tier))
        .transpose()?;
    Ok(EarningRules {
        minimum_spend: file.minimum_spend,
        rates,
        exclusions,
        campaigns,
        stacking,
        caps,
        tier_qualification,
        funded_by: programme_funder,
    })
}

/// `[programs.<id>.earning.tier_qualification]`.
fn validate_tiers(
    file: TierQualificationFile,
    field: &dyn Fn(&str) -> String,
    tiers: &BTreeSet<&str>,
    default_tier: &str,
) -> Result<TierQualification, RulesError> {
    let basis = match file.basis.as_str() {
        "spend" => QualifyingBasis::Spend,
        "points" => QualifyingBasis::Points,
        "spend_or_points" => QualifyingBasis::SpendOrPoints,
        "spend_and_points" => QualifyingBasis::SpendAndPoints,
        other => {
            return Err(invalid(
                field("tier_qualification.basis"),
                format!("`{other}` is not one of spend, points, spend_or_points, spend_and_points"),
            ))
        }
    };
    let table = |name: &str, thresholds: BTreeMap<String, Decimal>| {
        let mut thresholds: Vec<(String, Decimal)> = thresholds.into_iter().collect();
        for (tier, threshold) in &thresholds {
            let at = field(&format!("tier_qualification.{name}.{tier}"));
            if !tiers.contains(tier.as_str()) || tier == default_tier {
                return Err(invalid(
                    at,
                    "must be one of the programme's tiers other than its default",
                ));
            }
            if *threshold <= Decimal::ZERO {
                return Err(invalid(at, "must be positive"));
            }
        }
        thresholds.sort_by_key(|(_, threshold)| *threshold);
        Ok(thresholds)
    };
    let thresholds = table("thresholds", file.thresholds)?;
    let points_thresholds = match (basis.is_combined(), file.points_thresholds) {
        (true, Some(points)) => {
            let points = table("points_thresholds", points)?;
            let mut named: Vec<&str> = points.iter().map(|(tier, _)| tier.as_str()).collect();
            let mut expected: Vec<&str> =
                thresholds.iter().map(|(tier, _)| tier.as_str()).collect();
            named.sort_unstable();
            expected.sort_unstable();
            if named != expected {
                return Err(invalid(
                    field("tier_qualification.points_thresholds"),
                    "must name the same tiers as thresholds",
                ));
            }
            points
        }
        (true, None) => {
            return Err(invalid(
                field("tier_qualification.points_thresholds"),
                format!("is needed with basis = \"{}\"", basis.as_str()),
            ))
        }
        (false, Some(_)) => {
            return Err(invalid(
                field("tier_qualification.points_thresholds"),
                "only applies with basis = \"spend_or_points\" or \"spend_and_points\"",
            ))
        }
        (false, None) => Vec::new(),
    };
    let period = match file.rolling_months {
        None => QualifyingPeriod::CalendarYear,
        Some(months @ 1..=36) => QualifyingPeriod::RollingMonths(months),
        Some(_) => {
            return Err(invalid(
                field("tier_qualification.rolling_months"),
                "must be from 1 to 36",
            ))
        }
    };
    Ok(TierQualification {
        basis,
        period,
        thresholds,
        points_thresholds,
    })
}

fn validate_campaign(
    campaign: CampaignFile,
    at: &dyn Fn(&str) -> String,
    tiers: &BTreeSet<&str>,
    programme_funder: &str,
) -> Result<Campaign, RulesError> {
    if campaign.end <= campaign.start {
        return Err(invalid(at("end"), "must be after start"));
    }
    let reward = match (
        campaign.multiplier,
        campaign.bonus,
        campaign.first_purchase_bonus,
        campaign.threshold_spend,
    ) {
        (Some(multiplier), None, None, None) if multiplier >= Decimal::ONE => {
            Reward::Multiplier(multiplier)
        }
        (Some(_), None, None, None) => {
            return Err(invalid(at("multiplier"), "must be at least 1"))
        }
        (None, Some(bonus), None, None) if bonus > 0 => Reward::Bonus(bonus),
        (None, None, Some(bonus), None) if bonus > 0 => Reward::FirstPurchase(bonus),
        (None, Some(bonus), None, Some(spend)) if bonus > 0 && spend > Decimal::ZERO => {
            let period = parse_period(
                &at("threshold_period"),
                campaign.threshold_period.as_deref().unwrap_or("month"),
            )?;
            Reward::SpendThreshold {
                spend,
                period,
                bonus,
            }
        }
        _ => {
            return Err(invalid(
                at("id"),
                "give exactly one reward: multiplier, bonus, first_purchase_bonus, or threshold_spend with bonus (all positive)",
            ))
        }
    };
    let mut days = BTreeSet::new();
    for day in &campaign.days {
        let number = WEEKDAYS
            .iter()
            .find(|(name, _)| *name == day.as_str())
            .map(|(_, weekday)| weekday.number_days_from_monday())
            .ok_or_else(|| {
                invalid(
                    at("days"),
                    format!("`{day}` is not one of mon, tue, wed, thu, fri, sat, sun"),
                )
            })?;
        days.insert(number);
    }
    if let Some(tier) = campaign
        .tiers
        .iter()
        .find(|tier| !tiers.contains(tier.as_str()))
    {
        return Err(invalid(
            at("tiers"),
            format!("`{tier}` is not one of the programme's tiers"),
        ));
    }
    Ok(Campaign {
        id: campaign.id,
        reward,
        start: campaign.start,
        end: campaign.end,
        days,
        criteria: criteria(
            at,
            campaign.mccs,
            campaign.merchants,
            campaign.channels,
            campaign.products,
        )?,
        tiers: campaign.tiers.into_iter().collect(),
        per_member_cap: positive_cap(&at("per_member_cap"), campaign.per_member_cap)?,
        period_cap: period_cap(at, campaign.period_cap, campaign.period_cap_period)?,
        budget: positive_cap(&at("budget"), campaign.budget)?,
        funded_by: campaign
            .funded_by
            .unwrap_or_else(|| programme_funder.to_owned()),
    })
}

fn criteria(
    at: &dyn Fn(&str) -> String,
    mccs: Vec<String>,
    merchants: Vec<String>,
    channels: Vec<String>,
    products: Vec<String>,
) -> Result<Criteria, RulesError> {
    let mccs = mccs
        .iter()
        .map(|text| {
            parse_mcc_range(text).ok_or_else(|| {
                invalid(
                    at("mccs"),
                    format!("`{text}` is not a four-digit code or a range such as 5811-5814"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Criteria {
        mccs,
        merchants: merchants.into_iter().collect(),
        channels: channels.into_iter().collect(),
        products: products.into_iter().collect(),
    })
}

fn parse_mcc_range(text: &str) -> Option<MccRange> {
    let code = |part: &str| {
        (part.len() == 4 && part.bytes().all(|b| b.is_ascii_digit())).then(|| part.parse().ok())?
    };
    let (first, last) = match text.split_once('-') {
        Some((first, last)) => (code(first)?, code(last)?),
        None => (code(text)?, code(text)?),
    };
    (first <= last).then_some(MccRange { first, last })
}

fn parse_period(field: &str, text: &str) -> Result<Period, RulesError> {
    match text {
        "day" => Ok(Period::Day),
        "month" => Ok(Period::Month),
        "year" => Ok(Period::Year),
        other => Err(invalid(
            field,
            format!("`{other}` is not one of day, month, year"),
        )),
    }
}

/// A `period_cap` with its `period_cap_period` (default month).
fn period_cap(
    at: &dyn Fn(&str) -> String,
    cap: Option<i64>,
    period: Option<String>,
) -> Result<Option<(Period, i64)>, RulesError> {
    let Some(cap) = positive_cap(&at("period_cap"), cap)? else {
        return Ok(None);
    };
    let period = parse_period(
        &at("period_cap_period"),
        period.as_deref().unwrap_or("month"),
    )?;
    Ok(Some((period, cap)))
}

fn positive_cap(field: &str, cap: Option<i64>) -> Result<Option<i64>, RulesError> {
    match cap {
        Some(cap) if cap <= 0 => Err(invalid(field, "must be positive")),
        other => Ok(other),
    }
}

/// `[programs.<id>.expiry]`: `months = 24`, or `yearly_on = "12-31"` with `after_years`; and
/// `notice_days` for an advance notice.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpiryFile {
    months: Option<u32>,
    yearly_on: Option<String>,
    #[serde(default = "one")]
    after_years: i32,
    notice_days: Option<u32>,
}

fn one() -> i32 {
    1
}

/// The expiry policy, and how long before expiry members are told.
pub(super) fn validate_expiry(
    file: ExpiryFile,
    field: &dyn Fn(&str) -> String,
) -> Result<(Expiry, Option<time::Duration>), RulesError> {
    let notice = match file.notice_days {
        Some(0) => return Err(invalid(field("expiry.notice_days"), "must be positive")),
        Some(days) => Some(time::Duration::days(
            super::at_most(
                field("expiry.notice_days"),
                days,
                super::MAX_RULE_DAYS,
                "days",
            )?
            .into(),
        )),
        None => None,
    };
    let expiry = match (file.months, file.yearly_on) {
        (Some(months), None) if months > 0 => Ok(Expiry::Months(super::at_most(
            field("expiry.months"),
            months,
            super::MAX_RULE_DAYS / 30,
            "months",
        )?)),
        (None, Some(text)) => {
            let parsed = text.split_once('-').and_then(|(month, day)| {
                let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
                let day: u8 = day.parse().ok()?;
                time::Date::from_calendar_date(2024, month, day).ok()?;
                Some((month, day))
            });
            let Some((month, day)) = parsed else {
                return Err(invalid(
                    field("expiry.yearly_on"),
                    format!("`{text}` is not a MM-DD day such as 12-31"),
                ));
            };
            if !(0..=100).contains(&file.after_years) {
                return Err(invalid(
                    field("expiry.after_years"),
                    "must be from 0 to 100",
                ));
            }
            Ok(Expiry::Yearly {
                month,
                day,
                after_years: file.after_years,
            })
        }
        _ => Err(invalid(
            field("expiry"),
            "give months (at least 1) or yearly_on, not both",
        )),
    }?;
    Ok((expiry, notice))
}
