//! The `[fraud]` section of the rules file as written, and its validation into [`FraudRules`].
//! Every rule is optional; thresholds are data.

use super::abuse_file::{
    self, AbuseFiles, RedemptionBurstFile, RefundChurnFile, SplitPurchasesFile, TransferRingFile,
};
use super::fraud::*;
use super::{invalid, RulesError};
use crate::domain::alert::{Action, Mode};
use crate::domain::Severity;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct FraudFile {
    /// Most spends remembered per card.
    history_limit: usize,
    /// Weight of the newest spend in each card's amount baseline (0..1).
    baseline_alpha: f64,
    /// How far behind the card's newest spend a transaction may arrive and still be assessed
    /// at its own event time; later ones are assessed against current state and marked late.
    lateness_minutes: u32,
    /// Score thresholds for medium, high and critical severity.
    severity: SeverityFile,
    /// Action per severity for enforced alerts; flag where not given.
    actions: BTreeMap<Severity, Action>,
    velocity: Vec<VelocityFile>,
    amount_anomaly: Option<AmountAnomalyFile>,
    impossible_travel: Option<ImpossibleTravelFile>,
    risky_category: Option<RiskyCategoryFile>,
    new_merchant: Option<NewMerchantFile>,
    cross_border: Option<CrossBorderFile>,
    card_not_present: Option<CardNotPresentFile>,
    duplicate: Option<DuplicateFile>,
    card_testing: Option<CardTestingFile>,
    refund_churn: Option<RefundChurnFile>,
    split_purchases: Option<SplitPurchasesFile>,
    transfer_ring: Option<TransferRingFile>,
    redemption_after_burst: Option<RedemptionBurstFile>,
}

impl Default for FraudFile {
    fn default() -> Self {
        FraudFile {
            history_limit: 256,
            baseline_alpha: 0.1,
            lateness_minutes: 1440,
            severity: SeverityFile::default(),
            actions: BTreeMap::new(),
            velocity: Vec::new(),
            amount_anomaly: None,
            impossible_travel: None,
            risky_category: None,
            new_merchant: None,
            cross_border: None,
            card_not_present: None,
            duplicate: None,
            card_testing: None,
            refund_churn: None,
            split_purchases: None,
            transfer_ring: None,
            redemption_after_burst: None,
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
        let defaults = SeverityThresholds::default();
        SeverityFile {
            medium: defaults.medium,
            high: defaults.high,
            critical: defaults.critical,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VelocityFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    /// More spends than this within the window trips the rule.
    max_count: Option<usize>,
    /// More than this spent (base currency) within the window trips the rule.
    max_amount: Option<Decimal>,
    window_minutes: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AmountAnomalyFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    warmup: u64,
    z_threshold: f64,
    #[serde(default)]
    min_amount: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpossibleTravelFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    max_speed_kmh: f64,
    #[serde(default)]
    min_distance_km: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskyCategoryFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    mccs: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMerchantFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    warmup: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrossBorderFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    min_amount: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardNotPresentFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    min_amount: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DuplicateFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    window_seconds: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardTestingFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    small_amount: Decimal,
    min_small: usize,
    large_amount: Decimal,
    window_minutes: u32,
}

/// Checks shared by every rule: a unique id, a score in 0..1.
/// Checks rule ids are unique across all fraud rules.
pub(super) struct Checker {
    ids: BTreeSet<String>,
}

impl Checker {
    pub(super) fn meta(
        &mut self,
        field: &str,
        id: String,
        score: f64,
        mode: Mode,
    ) -> Result<RuleMeta, RulesError> {
        if id.is_empty() || !self.ids.insert(id.clone()) {
            return Err(invalid(
                format!("{field}.id"),
                "must be present and unique across fraud rules",
            ));
        }
        Ok(RuleMeta {
            id,
            score: unit_interval(&format!("{field}.score"), score)?,
            mode,
        })
    }
}

fn unit_interval(field: &str, value: f64) -> Result<f64, RulesError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            field,
            format!("must be between 0 and 1, got {value}"),
        ))
    }
}

fn positive(field: &str, value: f64) -> Result<f64, RulesError> {
    if value > 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(invalid(
            field,
            format!("must be a positive number, got {value}"),
        ))
    }
}

fn not_negative(field: &str, value: Decimal) -> Result<Decimal, RulesError> {
    if value.is_sign_negative() && !value.is_zero() {
        Err(invalid(field, "must not be negative"))
    } else {
        Ok(value)
    }
}

fn minutes(field: &str, value: u32) -> Result<Duration, RulesError> {
    if value == 0 {
        return Err(invalid(field, "must be at least 1"));
    }
    Ok(Duration::minutes(value.into()))
}

impl FraudFile {
    pub(super) fn validate(self) -> Result<FraudRules, RulesError> {
        if self.history_limit == 0 {
            return Err(invalid("fraud.history_limit", "must be at least 1"));
        }
        let baseline_alpha = unit_interval("fraud.baseline_alpha", self.baseline_alpha)?;
        let severity = SeverityThresholds {
            medium: unit_interval("fraud.severity.medium", self.severity.medium)?,
            high: unit_interval("fraud.severity.high", self.severity.high)?,
            critical: unit_interval("fraud.severity.critical", self.severity.critical)?,
        };
        if !(severity.medium <= severity.high && severity.high <= severity.critical) {
            return Err(invalid(
                "fraud.severity",
                "thresholds must rise: medium <= high <= critical",
            ));
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
        let mut check = Checker {
            ids: BTreeSet::new(),
        };
        let history_limit = self.history_limit;

        let velocity = self
            .velocity
            .into_iter()
            .enumerate()
            .map(|(index, rule)| {
                let field = format!("fraud.velocity[{index}]");
                if rule.max_count.is_none() && rule.max_amount.is_none() {
                    return Err(invalid(&field, "needs max_count, max_amount or both"));
                }
                if rule.max_count.is_some_and(|count| count >= history_limit) {
                    return Err(invalid(
                        format!("{field}.max_count"),
                        format!("must be below fraud.history_limit ({history_limit})"),
                    ));
                }
                Ok(VelocityRule {
                    meta: check.meta(&field, rule.id, rule.score, rule.mode)?,
                    max_count: rule.max_count,
                    max_amount: rule
                        .max_amount
                        .map(|amount| not_negative(&format!("{field}.max_amount"), amount))
                        .transpose()?,
                    window: minutes(&format!("{field}.window_minutes"), rule.window_minutes)?,
                })
            })
            .collect::<Result<_, _>>()?;

        let amount_anomaly = self
            .amount_anomaly
            .map(|rule| {
                let field = "fraud.amount_anomaly";
                Ok::<_, RulesError>(AmountAnomalyRule {
                    meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                    warmup: rule.warmup.max(2),
                    z_threshold: positive(&format!("{field}.z_threshold"), rule.z_threshold)?,
                    min_amount: not_negative(&format!("{field}.min_amount"), rule.min_amount)?,
                })
            })
            .transpose()?;
        let impossible_travel = self
            .impossible_travel
            .map(|rule| {
                let field = "fraud.impossible_travel";
                Ok::<_, RulesError>(ImpossibleTravelRule {
                    meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                    max_speed_kmh: positive(&format!("{field}.max_speed_kmh"), rule.max_speed_kmh)?,
                    min_distance_km: rule.min_distance_km.max(0.0),
                })
            })
            .transpose()?;
        let risky_category = self
            .risky_category
            .map(|rule| {
                let field = "fraud.risky_category";
                if let Some(bad) = rule
                    .mccs
                    .iter()
                    .find(|mcc| mcc.len() != 4 || !mcc.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(invalid(
                        format!("{field}.mccs"),
                        format!("`{bad}` is not a four-digit MCC"),
                    ));
                }
                Ok(RiskyCategoryRule {
                    meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                    mccs: rule.mccs,
                })
            })
            .transpose()?;
        let new_merchant = self
            .new_merchant
            .map(|rule| {
                Ok::<_, RulesError>(NewMerchantRule {
                    meta: check.meta("fraud.new_merchant", rule.id, rule.score, rule.mode)?,
                    warmup: rule.warmup,
                })
            })
            .transpose()?;
        let cross_border = self
            .cross_border
            .map(|rule| {
                let field = "fraud.cross_border";
                Ok::<_, RulesError>(CrossBorderRule {
                    meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                    min_amount: not_negative(&format!("{field}.min_amount"), rule.min_amount)?,
                })
            })
            .transpose()?;
        let card_not_present = self
            .card_not_present
            .map(|rule| {
                let field = "fraud.card_not_present";
                Ok::<_, RulesError>(CardNotPresentRule {
                    meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                    min_amount: not_negative(&format!("{field}.min_amount"), rule.min_amount)?,
                })
            })
            .transpose()?;
        let duplicate = self
            .duplicate
            .map(|rule| {
                let field = "fraud.duplicate";
                if rule.window_seconds == 0 {
                    return Err(invalid(
                        format!("{field}.window_seconds"),
                        "must be at least 1",
                    ));
                }
                Ok(DuplicateRule {
                    meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                    window: Duration::seconds(rule.window_seconds.into()),
                })
            })
            .transpose()?;
        let card_testing = self
            .card_testing
            .map(|rule| {
                let field = "fraud.card_testing";
                if rule.large_amount <= rule.small_amount {
                    return Err(invalid(
                        format!("{field}.large_amount"),
                        "must be above small_amount",
                    ));
                }
                if rule.min_small == 0 || rule.min_small >= history_limit {
                    return Err(invalid(
                        format!("{field}.min_small"),
                        format!("must be between 1 and fraud.history_limit ({history_limit})"),
                    ));
                }
                Ok(CardTestingRule {
                    meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                    small_amount: not_negative(
                        &format!("{field}.small_amount"),
                        rule.small_amount,
                    )?,
                    min_small: rule.min_small,
                    large_amount: rule.large_amount,
                    window: minutes(&format!("{field}.window_minutes"), rule.window_minutes)?,
                })
            })
            .transpose()?;

        let abuse = abuse_file::validate(
            AbuseFiles {
                refund_churn: self.refund_churn,
                split_purchases: self.split_purchases,
                transfer_ring: self.transfer_ring,
                redemption_after_burst: self.redemption_after_burst,
            },
            &mut check,
        )?;
        Ok(FraudRules {
            abuse,
            velocity,
            amount_anomaly,
            impossible_travel,
            risky_category,
            new_merchant,
            cross_border,
            card_not_present,
            duplicate,
            card_testing,
            severity,
            actions,
            history_limit,
            baseline_alpha,
            lateness: minutes("fraud.lateness_minutes", self.lateness_minutes)?,
        })
    }
}
