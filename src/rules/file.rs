//! The rules file as written by people: a strict serde shape, then validation into [`RuleSet`].

use super::earning_file::{self, EarningFile};
use super::fraud_file::FraudFile;
use super::{invalid, Program, Rounding, RuleSet, RulesError};
use crate::domain::bounds::MAX_EVENT_POINTS;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How late an event may be, by default: a quarter covers a card on a lagging partition, a
/// late clearing or refund, and a short backfill, at a bounded size of counters per member.
const DEFAULT_LATENESS_DAYS: u32 = 92;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RulesFile {
    /// Identifies this rule set in every ledger event and alert.
    version: String,
    /// Event time from which this version scores transactions (RFC 3339); from the start of
    /// time when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    effective_from: Option<time::OffsetDateTime>,
    /// Programmes by `program_id`.
    programs: BTreeMap<String, ProgramFile>,
    /// Fraud rules; none when absent.
    #[serde(default)]
    fraud: FraudFile,
    /// Rates at which members may exchange points between programmes.
    #[serde(default)]
    exchange: Vec<ExchangeFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeFile {
    from: String,
    to: String,
    /// Points of `to` per point of `from` (rounded down).
    rate: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramFile {
    /// ISO 4217 code the earning rate is expressed in.
    base_currency: String,
    /// Points per unit of base currency, as a decimal string.
    points_per_unit: Decimal,
    /// floor | ceil | half_up | half_even.
    #[serde(default = "default_rounding")]
    rounding: String,
    /// Tier given to new members; must be one of `tiers`.
    default_tier: String,
    /// Multiplier per tier, as decimal strings.
    tiers: BTreeMap<String, Decimal>,
    /// Units of base currency per unit of other accepted currencies.
    #[serde(default)]
    fx: BTreeMap<String, Decimal>,
    /// Whether reversals may push the balance below zero.
    #[serde(default)]
    allow_negative_balance: bool,
    /// This programme's own fraud rules, replacing the file's `[fraud]` for its transactions.
    #[serde(default)]
    fraud: Option<FraudFile>,
    /// Special rates, exclusions, campaigns, caps and tier qualification.
    #[serde(default)]
    earning: EarningFile,
    /// When earned points expire; never when absent.
    expiry: Option<earning_file::ExpiryFile>,
    /// Most points one transfer between members may move; no limit when absent.
    max_transfer_points: Option<i64>,
    /// Days a sale, refund or clearing may be dated before the member's latest event and
    /// still be scored; caps, campaigns and tiers keep their counters that long. 92 when absent.
    lateness_days: Option<u32>,
    /// Days a single-message sale's points stay pending before they post; none when absent.
    settlement_days: Option<u32>,
    /// Points for what members do besides buying (member-events); none when absent.
    #[serde(default)]
    bonuses: BonusesFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BonusesFile {
    /// On enrolment, once.
    enrolment: i64,
    /// On sign-in, at most once a day.
    sign_in: i64,
    survey: i64,
    review: i64,
    /// To the referrer, when the referred member's first purchase posts.
    referral: i64,
}

fn default_rounding() -> String {
    "floor".to_owned()
}

fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

impl RulesFile {
    pub(super) fn validate(self) -> Result<RuleSet, RulesError> {
        if self.version.trim().is_empty() {
            return Err(invalid("version", "must not be empty"));
        }
        if self.programs.is_empty() {
            return Err(invalid("programs", "at least one programme is required"));
        }
        let programs: BTreeMap<String, Program> = self
            .programs
            .into_iter()
            .map(|(id, program)| Ok((id.clone(), program.validate(id)?)))
            .collect::<Result<_, RulesError>>()?;
        let mut exchange = BTreeMap::new();
        for (index, rate) in self.exchange.into_iter().enumerate() {
            let field = |name: &str| format!("exchange[{index}].{name}");
            for (name, program) in [("from", &rate.from), ("to", &rate.to)] {
                if !programs.contains_key(program) {
                    return Err(invalid(
                        field(name),
                        format!("`{program}` is not a programme"),
                    ));
                }
            }
            if rate.from == rate.to || rate.rate <= Decimal::ZERO {
                return Err(invalid(
                    field("rate"),
                    "needs two programmes and a positive rate",
                ));
            }
            exchange.insert((rate.from, rate.to), rate.rate);
        }
        Ok(RuleSet {
            version: self.version,
            effective_from: self.effective_from,
            programs,
            fraud: self.fraud.validate()?,
            exchange,
        })
    }
}

impl ProgramFile {
    fn validate(self, id: String) -> Result<Program, RulesError> {
        let field = |name: &str| format!("programs.{id}.{name}");
        if !is_currency_code(&self.base_currency) {
            return Err(invalid(
                field("base_currency"),
                "must be a three-letter ISO 4217 code",
            ));
        }
        if self.points_per_unit.is_sign_negative() {
            return Err(invalid(field("points_per_unit"), "must not be negative"));
        }
        let rounding = match self.rounding.as_str() {
            "floor" => Rounding::Floor,
            "ceil" => Rounding::Ceil,
            "half_up" => Rounding::HalfUp,
            "half_even" => Rounding::HalfEven,
            other => {
                return Err(invalid(
                    field("rounding"),
                    format!("`{other}` is not one of floor, ceil, half_up, half_even"),
                ))
            }
        };
        if self.tiers.is_empty() {
            return Err(invalid(field("tiers"), "at least one tier is required"));
        }
        if let Some((tier, _)) = self.tiers.iter().find(|(_, m)| m.is_sign_negative()) {
            return Err(invalid(
                field(&format!("tiers.{tier}")),
                "multiplier must not be negative",
            ));
        }
        if !self.tiers.contains_key(&self.default_tier) {
            return Err(invalid(
                field("default_tier"),
                format!(
                    "`{}` is not one of the programme's tiers",
                    self.default_tier
                ),
            ));
        }
        let mut fx = self.fx;
        for (code, rate) in &fx {
            if !is_currency_code(code) {
                return Err(invalid(
                    field(&format!("fx.{code}")),
                    "not a three-letter ISO 4217 code",
                ));
            }
            if *rate <= Decimal::ZERO {
                return Err(invalid(
                    field(&format!("fx.{code}")),
                    "rate must be positive",
                ));
            }
        }
        fx.insert(self.base_currency.clone(), Decimal::ONE);
        let fraud = self
            .fraud
            .map(|fraud| {
                fraud.validate().map_err(|error| match error {
                    RulesError::Invalid {
                        field: inner,
                        reason,
                    } => invalid(field(&inner), reason),
                    other => other,
                })
            })
            .transpose()?;
        let tiers = self.tiers.keys().map(String::as_str).collect();
        let earning_field = |name: &str| field(&format!("earning.{name}"));
        let earning =
            earning_file::validate(self.earning, &earning_field, &tiers, &self.default_tier)?;
        let expiry = self
            .expiry
            .map(|expiry| earning_file::validate_expiry(expiry, &field))
            .transpose()?;
        let (expiry, expiry_notice) = (expiry.map(|(e, _)| e), expiry.and_then(|(_, n)| n));
        let bonuses = {
            let b = self.bonuses;
            for (name, points) in [
                ("enrolment", b.enrolment),
                ("sign_in", b.sign_in),
                ("survey", b.survey),
                ("review", b.review),
                ("referral", b.referral),
            ] {
                if !(0..=MAX_EVENT_POINTS).contains(&points) {
                    return Err(invalid(
                        field(&format!("bonuses.{name}")),
                        format!("must be from 0 to {MAX_EVENT_POINTS}"),
                    ));
                }
            }
            super::Bonuses {
                enrolment: b.enrolment,
                sign_in: b.sign_in,
                survey: b.survey,
                review: b.review,
                referral: b.referral,
            }
        };
        let settlement_window = match self.settlement_days {
            Some(days) => Some(time::Duration::days(
                super::at_most(field("settlement_days"), days, super::MAX_RULE_DAYS, "days")?
                    .into(),
            )),
            None => None,
        };
        let lateness = time::Duration::days(
            super::at_most(
                field("lateness_days"),
                self.lateness_days.unwrap_or(DEFAULT_LATENESS_DAYS),
                super::MAX_RULE_DAYS,
                "days",
            )?
            .into(),
        );
        Ok(Program {
            id,
            base_currency: self.base_currency,
            points_per_unit: self.points_per_unit,
            rounding,
            default_tier: self.default_tier,
            tiers: self.tiers,
            fx,
            allow_negative_balance: self.allow_negative_balance,
            fraud,
            earning,
            expiry,
            expiry_notice,
            max_transfer_points: self.max_transfer_points,
            lateness,
            settlement_window,
            bonuses,
        })
    }
}
