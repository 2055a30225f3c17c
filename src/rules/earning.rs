//! A programme's earning rules beyond the base rate, validated: special rates, exclusions,
//! campaigns and how they stack, caps, and tier qualification.

use crate::domain::counters::Counters;
use crate::domain::Transaction;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use time::{OffsetDateTime, Weekday};

/// An inclusive range of merchant category codes (a single code is a range of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MccRange {
    pub first: u16,
    pub last: u16,
}

/// Which transactions a rule applies to: each non-empty list must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Criteria {
    pub mccs: Vec<MccRange>,
    pub merchants: BTreeSet<String>,
    pub channels: BTreeSet<String>,
    pub products: BTreeSet<String>,
}

impl Criteria {
    pub fn matches(&self, txn: &Transaction) -> bool {
        let mcc: Option<u16> = txn.merchant.mcc.parse().ok();
        (self.mccs.is_empty()
            || mcc.is_some_and(|mcc| self.mccs.iter().any(|r| (r.first..=r.last).contains(&mcc))))
            && (self.merchants.is_empty() || self.merchants.contains(&txn.merchant.id))
            && (self.channels.is_empty() || self.channels.contains(&txn.channel))
            && (self.products.is_empty()
                || txn
                    .card_product
                    .as_ref()
                    .is_some_and(|product| self.products.contains(product)))
    }
}

/// A rate replacing the programme's base rate for matching spend.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub id: String,
    pub criteria: Criteria,
    pub points_per_unit: Decimal,
    /// Most points the rate gives one member per calendar period; spend beyond earns the
    /// base rate.
    pub period_cap: Option<(Period, i64)>,
    /// Who pays for the points this rate gives.
    pub funded_by: String,
}

/// Spend that earns nothing (cash advances, gambling, fees...).
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    pub id: String,
    pub criteria: Criteria,
}

/// What a campaign gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Reward {
    /// Base points times this (so 2 adds as much again).
    Multiplier(Decimal),
    /// A fixed number of points per eligible transaction.
    Bonus(i64),
    /// A fixed bonus on the member's first purchase in the programme.
    FirstPurchase(i64),
    /// A fixed bonus once per period, when the member's eligible spend in it reaches `spend`.
    SpendThreshold {
        spend: Decimal,
        period: Period,
        bonus: i64,
    },
}

/// A calendar period in UTC event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Month,
    Year,
}

impl Period {
    /// The period's name for `at`: `2026-11-22`, `2026-11` or `2026`.
    pub fn key(self, at: OffsetDateTime) -> String {
        match self {
            Period::Day => format!(
                "{:04}-{:02}-{:02}",
                at.year(),
                u8::from(at.month()),
                at.day()
            ),
            Period::Month => format!("{:04}-{:02}", at.year(), u8::from(at.month())),
            Period::Year => format!("{:04}", at.year()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
            Period::Year => "year",
        }
    }
}

/// A time-windowed promotion.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: String,
    pub reward: Reward,
    /// Event times from `start` (inclusive) to `end` (exclusive).
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// Days of the week it runs on (UTC); every day when empty.
    pub days: BTreeSet<u8>,
    pub criteria: Criteria,
    /// Tiers it is open to; every tier when empty.
    pub tiers: BTreeSet<String>,
    /// Most points one member can get from it, over its whole life.
    pub per_member_cap: Option<i64>,
    /// Most points one member can get from it per calendar period (UTC event time).
    pub period_cap: Option<(Period, i64)>,
    /// Most points it gives all members together, drawn from a shared counter (see
    /// `pipeline::budgets`).
    pub budget: Option<i64>,
    pub funded_by: String,
}

impl Campaign {
    /// Whether `txn`, by a member at `tier`, is eligible.
    pub fn applies(&self, txn: &Transaction, tier: &str) -> bool {
        let at = txn.timestamp;
        let weekday = at.weekday().number_days_from_monday();
        self.start <= at
            && at < self.end
            && (self.days.is_empty() || self.days.contains(&weekday))
            && (self.tiers.is_empty() || self.tiers.contains(tier))
            && self.criteria.matches(txn)
    }
}

/// Weekday names as the rules file writes them, Monday first.
pub const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// How several multiplier campaigns on one transaction combine. Fixed bonuses always add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stacking {
    /// Every campaign adds its extra points.
    Add,
    /// Only the campaign giving the most extra points counts.
    HighestWins,
    /// Extras add, but base times all multipliers together never exceeds this.
    Capped(Decimal),
}

/// Most points a member may earn per calendar period (UTC event time); none when `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    pub day: Option<i64>,
    pub month: Option<i64>,
    pub year: Option<i64>,
}

impl Caps {
    pub fn each(&self) -> impl Iterator<Item = (Period, i64)> {
        [
            (Period::Day, self.day),
            (Period::Month, self.month),
            (Period::Year, self.year),
        ]
        .into_iter()
        .filter_map(|(period, cap)| Some((period, cap?)))
    }
}

/// What tier qualification counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualifyingBasis {
    /// Spend in the base currency.
    Spend,
    /// Points earned.
    Points,
    /// Spend and points, each with its thresholds: reaching either earns the tier.
    SpendOrPoints,
    /// Spend and points, each with its thresholds: the tier needs both.
    SpendAndPoints,
}

impl QualifyingBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            QualifyingBasis::Spend => "spend",
            QualifyingBasis::Points => "points",
            QualifyingBasis::SpendOrPoints => "spend_or_points",
            QualifyingBasis::SpendAndPoints => "spend_and_points",
        }
    }

    /// Whether the main qualifying total counts spend (else points).
    pub fn counts_spend(self) -> bool {
        self != QualifyingBasis::Points
    }

    /// Whether points are counted beside spend.
    pub fn is_combined(self) -> bool {
        matches!(
            self,
            QualifyingBasis::SpendOrPoints | QualifyingBasis::SpendAndPoints
        )
    }
}

/// The span a qualifying total covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualifyingPeriod {
    /// A calendar year (UTC): a tier earned is kept through the following year.
    CalendarYear,
    /// The last `n` calendar months (UTC), the current one included: the tier follows the
    /// total as months leave the window.
    RollingMonths(u32),
}

impl QualifyingPeriod {
    /// What amounts counted at `at` are totalled under: the year, or the month's number
    /// (`year * 12 + month - 1`).
    pub fn key(self, at: OffsetDateTime) -> i32 {
        match self {
            QualifyingPeriod::CalendarYear => at.year(),
            QualifyingPeriod::RollingMonths(_) => {
                at.year() * 12 + i32::from(u8::from(at.month())) - 1
            }
        }
    }

    /// The oldest key the tier at `at` still depends on.
    pub fn oldest_needed(self, at: OffsetDateTime) -> i32 {
        match self {
            QualifyingPeriod::CalendarYear => at.year() - 1,
            QualifyingPeriod::RollingMonths(months) => self.key(at) - (months as i32 - 1),
        }
    }

    /// How the current period is named in receipts and the query API.
    pub fn describe(self, at: OffsetDateTime) -> String {
        match self {
            QualifyingPeriod::CalendarYear => at.year().to_string(),
            QualifyingPeriod::RollingMonths(months) => {
                format!("the {months} months to {}", Period::Month.key(at))
            }
        }
    }
}

/// Tiers earned by qualifying spend, points, or both over a period. A member moves up as soon
/// as a threshold is crossed. Over calendar years the tier is kept through the following year and
/// a member moves down at the start of a year to what the year before earned; over rolling
/// months the tier is what the window's total reaches, so it moves down as months leave it.
#[derive(Debug, Clone, PartialEq)]
pub struct TierQualification {
    pub basis: QualifyingBasis,
    pub period: QualifyingPeriod,
    /// Thresholds by tier of the main total (spend, or points with `basis = points`), lowest
    /// first; the programme's default tier needs none.
    pub thresholds: Vec<(String, Decimal)>,
    /// With a combined basis: the points thresholds of the same tiers, lowest first.
    pub points_thresholds: Vec<(String, Decimal)>,
}

/// A member's qualifying totals over one period: the main one (spend, or points with
/// `basis = points`) and, with a combined basis, points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Qualifying {
    pub total: Decimal,
    pub points: Decimal,
}

impl TierQualification {
    /// The qualifying totals of the period containing `at`.
    pub fn current(&self, counters: &Counters, at: OffsetDateTime) -> Qualifying {
        let key = self.period.key(at);
        let from = match self.period {
            QualifyingPeriod::CalendarYear => key,
            QualifyingPeriod::RollingMonths(_) => self.period.oldest_needed(at),
        };
        Qualifying {
            total: counters.qualifying.range(from..=key).map(|(_, t)| t).sum(),
            points: counters
                .qualifying_points
                .range(from..=key)
                .map(|(_, t)| t)
                .sum(),
        }
    }

    /// The qualifying totals counted under `key` alone (a past calendar year).
    pub fn counted_in(&self, counters: &Counters, key: i32) -> Qualifying {
        Qualifying {
            total: counters.qualifying.get(&key).copied().unwrap_or_default(),
            points: counters
                .qualifying_points
                .get(&key)
                .copied()
                .unwrap_or_default(),
        }
    }

    /// The highest tier `qualifying` reaches, if any: tiers rank in the order of `thresholds`.
    pub fn tier_for(&self, qualifying: Qualifying) -> Option<&str> {
        let by_total = |threshold: &Decimal| qualifying.total >= *threshold;
        let by_points = |tier: &str| {
            self.points_thresholds
                .iter()
                .any(|(name, threshold)| name == tier && qualifying.points >= *threshold)
        };
        let mut highest_first = self.thresholds.iter().rev();
        let reached = match self.basis {
            QualifyingBasis::Spend | QualifyingBasis::Points => {
                highest_first.find(|(_, threshold)| by_total(threshold))
            }
            QualifyingBasis::SpendOrPoints => {
                highest_first.find(|(tier, threshold)| by_total(threshold) || by_points(tier))
            }
            QualifyingBasis::SpendAndPoints => {
                highest_first.find(|(tier, threshold)| by_total(threshold) && by_points(tier))
            }
        };
        reached.map(|(tier, _)| tier.as_str())
    }

    /// Where `tier` ranks: 1 for the lowest with a threshold, 0 for one without (the default).
    pub fn rank(&self, tier: &str) -> usize {
        self.thresholds
            .iter()
            .position(|(name, _)| name == tier)
            .map_or(0, |position| position + 1)
    }

    /// The threshold of the tier above `tier`, for progress reports.
    pub fn next_after(&self, tier: &str) -> Option<(&str, Decimal)> {
        let position = self.thresholds.iter().position(|(name, _)| name == tier);
        let next = position.map_or(0, |at| at + 1);
        self.thresholds
            .get(next)
            .map(|(name, threshold)| (name.as_str(), *threshold))
    }
}

/// All of a programme's earning rules besides the base rate and tier multipliers.
#[derive(Debug, Clone, PartialEq)]
pub struct EarningRules {
    /// Spend below this (in the base currency) earns nothing.
    pub minimum_spend: Decimal,
    /// First match wins.
    pub rates: Vec<Rate>,
    pub exclusions: Vec<Exclusion>,
    pub campaigns: Vec<Campaign>,
    pub stacking: Stacking,
    pub caps: Caps,
    pub tier_qualification: Option<TierQualification>,
    /// Who funds base and tier points.
    pub funded_by: String,
}

/// When earned points expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// At the end of the `n`th month after the month they were earned in.
    Months(u32),
    /// At the end of a fixed day (month, day) of the year `after_years` after they were earned.
    Yearly {
        month: time::Month,
        day: u8,
        after_years: i32,
    },
}

impl Expiry {
    /// When points earned at `earned` expire (UTC).
    pub fn expires_at(self, earned: OffsetDateTime) -> OffsetDateTime {
        let date = match self {
            Expiry::Months(months) => {
                let index = earned.year() * 12 + i32::from(u8::from(earned.month())) - 1
                    + i32::try_from(months).unwrap_or(i32::MAX / 2)
                    + 1;
                let month = time::Month::try_from((index.rem_euclid(12) + 1) as u8)
                    .expect("a month number from 1 to 12");
                time::Date::from_calendar_date(index.div_euclid(12), month, 1)
            }
            Expiry::Yearly {
                month,
                day,
                after_years,
            } => time::Date::from_calendar_date(earned.year() + after_years, month, day)
                .map(|date| date.next_day().unwrap_or(date)),
        };
        // Rules and event times are bounded so that this date exists; if it did not, the
        // points would never expire rather than expire at once.
        date.map(|date| date.midnight().assume_utc())
            .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc())
    }
}
