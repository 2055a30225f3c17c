//! The points-abuse sections of `[fraud]` as written, and their validation.

use super::abuse::*;
use super::fraud_file::Checker;
use super::{invalid, RulesError};
use crate::domain::alert::Mode;
use rust_decimal::Decimal;
use serde::Deserialize;
use time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RefundChurnFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    min_refunds: usize,
    window_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SplitPurchasesFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    threshold: Decimal,
    margin: Decimal,
    min_count: usize,
    window_minutes: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransferRingFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    min_senders: usize,
    window_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RedemptionBurstFile {
    id: String,
    score: f64,
    #[serde(default)]
    mode: Mode,
    min_points: i64,
    window_hours: u32,
}

/// The four optional sections, as read.
pub(super) struct AbuseFiles {
    pub refund_churn: Option<RefundChurnFile>,
    pub split_purchases: Option<SplitPurchasesFile>,
    pub transfer_ring: Option<TransferRingFile>,
    pub redemption_after_burst: Option<RedemptionBurstFile>,
}

fn at_least(field: &str, value: u64, least: u64) -> Result<(), RulesError> {
    if value < least {
        return Err(invalid(field, format!("must be at least {least}")));
    }
    Ok(())
}

pub(super) fn validate(files: AbuseFiles, check: &mut Checker) -> Result<AbuseRules, RulesError> {
    let refund_churn = files
        .refund_churn
        .map(|rule| {
            let field = "fraud.refund_churn";
            at_least(&format!("{field}.min_refunds"), rule.min_refunds as u64, 2)?;
            at_least(&format!("{field}.window_days"), rule.window_days.into(), 1)?;
            Ok::<_, RulesError>(RefundChurnRule {
                meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                min_refunds: rule.min_refunds,
                window: Duration::days(rule.window_days.into()),
            })
        })
        .transpose()?;
    let split_purchases = files
        .split_purchases
        .map(|rule| {
            let field = "fraud.split_purchases";
            if rule.threshold <= Decimal::ZERO {
                return Err(invalid(format!("{field}.threshold"), "must be positive"));
            }
            if !(Decimal::ZERO < rule.margin && rule.margin < Decimal::ONE) {
                return Err(invalid(
                    format!("{field}.margin"),
                    "must be a fraction between 0 and 1",
                ));
            }
            at_least(&format!("{field}.min_count"), rule.min_count as u64, 2)?;
            at_least(
                &format!("{field}.window_minutes"),
                rule.window_minutes.into(),
                1,
            )?;
            Ok(SplitPurchasesRule {
                meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                threshold: rule.threshold,
                margin: rule.margin,
                min_count: rule.min_count,
                window: Duration::minutes(rule.window_minutes.into()),
            })
        })
        .transpose()?;
    let transfer_ring = files
        .transfer_ring
        .map(|rule| {
            let field = "fraud.transfer_ring";
            at_least(&format!("{field}.min_senders"), rule.min_senders as u64, 2)?;
            at_least(&format!("{field}.window_days"), rule.window_days.into(), 1)?;
            Ok::<_, RulesError>(TransferRingRule {
                meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                min_senders: rule.min_senders,
                window: Duration::days(rule.window_days.into()),
            })
        })
        .transpose()?;
    let redemption_after_burst = files
        .redemption_after_burst
        .map(|rule| {
            let field = "fraud.redemption_after_burst";
            at_least(
                &format!("{field}.min_points"),
                rule.min_points.max(0) as u64,
                1,
            )?;
            at_least(
                &format!("{field}.window_hours"),
                rule.window_hours.into(),
                1,
            )?;
            Ok::<_, RulesError>(RedemptionBurstRule {
                meta: check.meta(field, rule.id, rule.score, rule.mode)?,
                min_points: rule.min_points,
                window: Duration::hours(rule.window_hours.into()),
            })
        })
        .transpose()?;
    Ok(AbuseRules {
        refund_churn,
        split_purchases,
        transfer_ring,
        redemption_after_burst,
    })
}
