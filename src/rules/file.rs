//! The rules file as written by people: a strict serde shape, then validation into [`RuleSet`].

use super::{
    invalid, FraudRules, Program, Rounding, RuleSet, RulesError, SeverityThresholds, VelocityRule,
};
use crate::domain::alert::{Action, Mode};
use crate::domain::Severity;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RulesFile {
    /// Identifies this rule set in every ledger event and alert.
    version: String,
    /// Programmes by `program_id`.
    programs: BTreeMap<String, ProgramFile>,
    /// Fraud rules; none when absent.
    #[serde(default)]
    fraud: FraudFile,
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FraudFile {
    /// Most spends remembered per card.
    #[serde(default = "default_history_limit")]
    history_limit: usize,
    /// Score thresholds for medium, high and critical severity.
    #[serde(default)]
    severity: SeverityFile,
    /// Action per severity for enforced alerts (flag); default flag for all.
    #[serde(default)]
    actions: BTreeMap<Severity, Action>,
    /// Velocity rules.
    #[serde(default)]
    velocity: Vec<VelocityFile>,
}

impl Default for FraudFile {
    fn default() -> Self {
        FraudFile {
            history_limit: default_history_limit(),
            severity: SeverityFile::default(),
            actions: BTreeMap::new(),
            velocity: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeverityFile {
    medium: f64,
    high: f64,
    critical: f64,
}

impl Default for SeverityFile {
    fn default() -> Self {
        SeverityFile {
            medium: 0.4,
            high: 0.7,
            critical: 0.9,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VelocityFile {
    /// Rule id, named in alert reasons and metrics.
    id: String,
    /// More spends than this within the window trips the rule.
    max_count: usize,
    window_minutes: u32,
    /// Contribution to the alert score, 0..1.
    score: f64,
    #[serde(default)]
    mode: Mode,
}

fn default_rounding() -> String {
    "floor".to_owned()
}

fn default_history_limit() -> usize {
    256
}

fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn unit_interval(field: String, value: f64) -> Result<f64, RulesError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            field,
            format!("must be between 0 and 1, got {value}"),
        ))
    }
}

impl RulesFile {
    pub(super) fn validate(self) -> Result<RuleSet, RulesError> {
        if self.version.trim().is_empty() {
            return Err(invalid("version", "must not be empty"));
        }
        if self.programs.is_empty() {
            return Err(invalid("programs", "at least one programme is required"));
        }
        let programs = self
            .programs
            .into_iter()
            .map(|(id, program)| Ok((id.clone(), program.validate(id)?)))
            .collect::<Result<_, RulesError>>()?;
        Ok(RuleSet {
            version: self.version,
            programs,
            fraud: self.fraud.validate()?,
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
        Ok(Program {
            id,
            base_currency: self.base_currency,
            points_per_unit: self.points_per_unit,
            rounding,
            default_tier: self.default_tier,
            tiers: self.tiers,
            fx,
            allow_negative_balance: self.allow_negative_balance,
        })
    }
}

impl FraudFile {
    fn validate(self) -> Result<FraudRules, RulesError> {
        if self.history_limit == 0 {
            return Err(invalid("fraud.history_limit", "must be at least 1"));
        }
        let severity = SeverityThresholds {
            medium: unit_interval("fraud.severity.medium".into(), self.severity.medium)?,
            high: unit_interval("fraud.severity.high".into(), self.severity.high)?,
            critical: unit_interval("fraud.severity.critical".into(), self.severity.critical)?,
        };
        if !(severity.medium <= severity.high && severity.high <= severity.critical) {
            return Err(invalid(
                "fraud.severity",
                "thresholds must rise: medium <= high <= critical",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut velocity = Vec::with_capacity(self.velocity.len());
        for (index, rule) in self.velocity.into_iter().enumerate() {
            let field = |name: &str| format!("fraud.velocity[{index}].{name}");
            if rule.id.is_empty() || !seen.insert(rule.id.clone()) {
                return Err(invalid(field("id"), "must be present and unique"));
            }
            if rule.window_minutes == 0 {
                return Err(invalid(field("window_minutes"), "must be at least 1"));
            }
            if rule.max_count >= self.history_limit {
                return Err(invalid(
                    field("max_count"),
                    format!("must be below fraud.history_limit ({})", self.history_limit),
                ));
            }
            velocity.push(VelocityRule {
                score: unit_interval(field("score"), rule.score)?,
                id: rule.id,
                max_count: rule.max_count,
                window: time::Duration::minutes(rule.window_minutes.into()),
                mode: rule.mode,
            });
        }
        let mut actions = self.actions;
        for severity in [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            actions.entry(severity).or_insert(Action::Flag);
        }
        Ok(FraudRules {
            velocity,
            severity,
            actions,
            history_limit: self.history_limit,
        })
    }
}
