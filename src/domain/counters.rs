//! What a member's earning has counted so far, for caps, campaigns and tier qualification,
//! and what one transaction added (so a refund can roll it back).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::{Date, Month, OffsetDateTime, Time};

/// A member's running counts. Keys name their period (`month:2026-11`, `welcome@2026-11`),
/// and only periods still current are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Points credited per cap period: `day:2026-11-22`, `month:2026-11`, `year:2026`.
    #[serde(default)]
    pub periods: BTreeMap<String, i64>,
    /// Points each campaign has given this member, over its life.
    #[serde(default)]
    pub campaigns: BTreeMap<String, i64>,
    /// Eligible spend per spend-threshold campaign and period: `<campaign>@<period>`.
    #[serde(default)]
    pub threshold_spend: BTreeMap<String, Decimal>,
    /// Spend-threshold bonuses already given, as `<campaign>@<period>`.
    #[serde(default)]
    pub thresholds_reached: BTreeSet<String>,
    /// Tier-qualifying total per period: calendar year, or month number under rolling
    /// qualification (see `QualifyingPeriod::key`); only the periods the tier depends on are
    /// kept.
    #[serde(default)]
    pub qualifying: BTreeMap<i32, Decimal>,
    /// Qualifying points per period, when a programme counts them beside spend.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub qualifying_points: BTreeMap<i32, Decimal>,
}

/// What one transaction's earning added to [`Counters`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    #[serde(default)]
    pub periods: BTreeMap<String, i64>,
    #[serde(default)]
    pub campaigns: BTreeMap<String, i64>,
    #[serde(default)]
    pub threshold_spend: BTreeMap<String, Decimal>,
    #[serde(default)]
    pub qualifying: Decimal,
    /// The `qualifying` key it counted under.
    #[serde(default, alias = "qualifying_year")]
    pub qualifying_period: i32,
    /// Qualifying points, when the programme counts them beside spend.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub qualifying_points: Decimal,
    /// Points drawn from campaigns' budgets shared by all members (not a member counter).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub budget: BTreeMap<String, i64>,
}

impl Counted {
    /// The share of `value` that `points` of `of` points represent, rounded toward zero.
    pub fn share(value: i64, points: i64, of: i64) -> i64 {
        if of == 0 {
            0
        } else {
            (i128::from(value) * i128::from(points) / i128::from(of)) as i64
        }
    }
}

impl Counters {
    pub fn add(&mut self, counted: &Counted) {
        for (key, points) in &counted.periods {
            *self.periods.entry(key.clone()).or_default() += points;
        }
        for (key, points) in &counted.campaigns {
            *self.campaigns.entry(key.clone()).or_default() += points;
        }
        for (key, spend) in &counted.threshold_spend {
            *self.threshold_spend.entry(key.clone()).or_default() += spend;
        }
        if !counted.qualifying.is_zero() {
            *self
                .qualifying
                .entry(counted.qualifying_period)
                .or_default() += counted.qualifying;
        }
        if !counted.qualifying_points.is_zero() {
            *self
                .qualifying_points
                .entry(counted.qualifying_period)
                .or_default() += counted.qualifying_points;
        }
    }

    /// Takes back the share of `counted` that `points` of its `of` points (and `spend` of its
    /// spend) represent, never below zero: cap periods and campaigns by points, spend
    /// thresholds and qualifying totals by spend (or by points when they count points).
    pub fn take_back(&mut self, counted: &Counted, points: i64, of: i64, qualifying: Decimal) {
        let share = |value: i64| Counted::share(value, points, of);
        for (key, counted_points) in &counted.periods {
            if let Some(total) = self.periods.get_mut(key) {
                *total = (*total - share(*counted_points)).max(0);
            }
        }
        for (key, counted_points) in &counted.campaigns {
            if let Some(total) = self.campaigns.get_mut(key) {
                *total = (*total - share(*counted_points)).max(0);
            }
        }
        let fraction = if counted.qualifying.is_zero() {
            Decimal::ZERO
        } else {
            (qualifying / counted.qualifying).min(Decimal::ONE)
        };
        for (key, spend) in &counted.threshold_spend {
            if let Some(total) = self.threshold_spend.get_mut(key) {
                *total = (*total - spend * fraction).max(Decimal::ZERO);
            }
        }
        if let Some(total) = self.qualifying.get_mut(&counted.qualifying_period) {
            *total = (*total - qualifying).max(Decimal::ZERO);
        }
        if let Some(total) = self.qualifying_points.get_mut(&counted.qualifying_period) {
            let share = if of == 0 {
                Decimal::ZERO
            } else {
                counted.qualifying_points * Decimal::from(points) / Decimal::from(of)
            };
            *total = (*total - share).max(Decimal::ZERO);
        }
    }

    /// Forgets periods that ended before `kept_from` (the member's latest event less the
    /// programme's lateness: no event still scored can need them) and qualifying totals
    /// before `oldest_qualifying`, so the counters stay bounded.
    pub fn prune(&mut self, kept_from: OffsetDateTime, oldest_qualifying: i32) {
        let needed = |key: &str| {
            let period = key.rsplit(['@', ':']).next().unwrap_or_default();
            period_end(period).is_none_or(|end| end > kept_from)
        };
        self.periods.retain(|key, _| needed(key));
        self.threshold_spend.retain(|key, _| needed(key));
        self.thresholds_reached.retain(|key| needed(key));
        self.qualifying
            .retain(|period, _| *period >= oldest_qualifying);
        self.qualifying_points
            .retain(|period, _| *period >= oldest_qualifying);
    }
}

/// When a period named `2026-11-22`, `2026-11` or `2026` ends; `None` for a name of another
/// shape (kept, as nothing says it is over).
fn period_end(period: &str) -> Option<OffsetDateTime> {
    let mut parts = period.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: Option<u8> = parts.next().map(str::parse).transpose().ok()?;
    let day: Option<u8> = parts.next().map(str::parse).transpose().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let end = match (month, day) {
        (None, _) => Date::from_calendar_date(year.checked_add(1)?, Month::January, 1).ok()?,
        (Some(month), None) => {
            let month = Month::try_from(month).ok()?;
            let year = if month == Month::December {
                year.checked_add(1)?
            } else {
                year
            };
            Date::from_calendar_date(year, month.next(), 1).ok()?
        }
        (Some(month), Some(day)) => {
            Date::from_calendar_date(year, Month::try_from(month).ok()?, day)
                .ok()?
                .next_day()?
        }
    };
    Some(end.with_time(Time::MIDNIGHT).assume_utc())
}
