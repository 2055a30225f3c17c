//! The rule set: everything that decides points and fraud flags, loaded from a TOML file and
//! validated before use.
//!
//! - [`file`] and `fraud_file`: the file's serde shape, strict (`deny_unknown_fields`).
//! - [`earning`]: special rates, exclusions, campaigns, caps, tier qualification.
//! - [`fraud`]: the validated fraud rules; [`abuse`]: the points-abuse ones.
//! - [`book`]: every loaded version, each in force from its effective time.
//! - [`reload`]: picking up a changed rules file while running.
//! - this module: the validated [`RuleSet`] the scoring core reads.

pub mod abuse;
mod abuse_file;
pub mod book;
pub mod earning;
mod earning_file;
mod file;
pub mod fraud;
mod fraud_file;
pub mod reload;

use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeMap;
use std::path::Path;

pub use book::{RuleBook, RulesFeed};
pub use fraud::FraudRules;

/// The rule set shipped with txscore, used when no rules file is configured.
pub const DEFAULT_RULES: &str = include_str!("../../deploy/rules.toml");

/// A rules file that cannot be used, with the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rules file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("rules file is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("rules field `{field}`: {reason}")]
    Invalid { field: String, reason: String },
    #[error("rules file {path}: {source}")]
    InFile {
        path: String,
        source: Box<RulesError>,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> RulesError {
    RulesError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Longest span any rule may set (expiry, notice, settlement window), in days: a century keeps
/// every date derived from an accepted event time representable.
const MAX_RULE_DAYS: u32 = 36_525;

/// `value` unless it exceeds `max`.
fn at_most(field: impl Into<String>, value: u32, max: u32, unit: &str) -> Result<u32, RulesError> {
    if value > max {
        return Err(invalid(field, format!("must be at most {max} {unit}")));
    }
    Ok(value)
}

/// How fractional points become whole points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Floor,
    Ceil,
    HalfUp,
    HalfEven,
}

impl Rounding {
    pub fn apply(self, points: Decimal) -> Decimal {
        let strategy = match self {
            Rounding::Floor => RoundingStrategy::ToNegativeInfinity,
            Rounding::Ceil => RoundingStrategy::ToPositiveInfinity,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        };
        points.round_dp_with_strategy(0, strategy)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rounding::Floor => "floor",
            Rounding::Ceil => "ceil",
            Rounding::HalfUp => "half_up",
            Rounding::HalfEven => "half_even",
        }
    }
}

/// One loyalty programme's earning rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub id: String,
    /// Currency the earning rate is expressed in.
    pub base_currency: String,
    /// Points per one unit of the base currency.
    pub points_per_unit: Decimal,
    pub rounding: Rounding,
    /// Tier of a member seen for the first time.
    pub default_tier: String,
    /// Multiplier per tier name.
    pub tiers: BTreeMap<String, Decimal>,
    /// Units of base currency per unit of each accepted currency (the base itself is 1).
    pub fx: BTreeMap<String, Decimal>,
    /// Whether a reversal may take the balance below zero; otherwise the rest is a shortfall.
    pub allow_negative_balance: bool,
    /// The programme's own fraud rules, if it has them.
    pub fraud: Option<FraudRules>,
    pub earning: earning::EarningRules,
    /// When earned points expire; never when `None`.
    pub expiry: Option<earning::Expiry>,
    /// How long before its points expire a lot is announced (`points_expiring`).
    pub expiry_notice: Option<time::Duration>,
    /// Most points one transfer may move.
    pub max_transfer_points: Option<i64>,
    /// How far before the member's latest event an event may be dated and still be scored:
    /// the counters of caps, campaigns and tiers are kept that long (`lateness_days`).
    pub lateness: time::Duration,
    /// How long a single-message sale's points stay pending before they post.
    pub settlement_window: Option<time::Duration>,
    pub bonuses: Bonuses,
}

/// Points for what members do besides buying; 0 gives none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bonuses {
    pub enrolment: i64,
    pub sign_in: i64,
    pub survey: i64,
    pub review: i64,
    pub referral: i64,
}

/// A validated rule set. Scoring is a function of a transaction, state and this.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub version: String,
    /// Event time from which this version applies (see [`RuleBook`]).
    pub effective_from: Option<time::OffsetDateTime>,
    pub programs: BTreeMap<String, Program>,
    pub fraud: FraudRules,
    /// Points of the second programme per point of the first, for exchanges between them.
    pub exchange: BTreeMap<(String, String), Decimal>,
}

impl RuleSet {
    /// Parses and validates rules from TOML text.
    pub fn from_toml(text: &str) -> Result<RuleSet, RulesError> {
        let raw: file::RulesFile = toml::from_str(text)?;
        raw.validate()
    }

    /// Reads, parses and validates a rules file.
    pub fn load(path: &Path) -> Result<RuleSet, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        RuleSet::from_toml(&text).map_err(|source| RulesError::InFile {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    /// The fraud rules for transactions of `program_id`: the programme's own, else the file's.
    pub fn fraud_for(&self, program_id: &str) -> &FraudRules {
        self.programs
            .get(program_id)
            .and_then(|program| program.fraud.as_ref())
            .unwrap_or(&self.fraud)
    }

    /// The rules shipped with txscore.
    pub fn embedded_default() -> RuleSet {
        RuleSet::from_toml(DEFAULT_RULES).expect("the shipped rules file is valid")
    }
}

#[cfg(test)]
mod tests;
