//! Fraud rules and how their findings become alerts.
//!
//! Each rule is a type implementing [`FraudRule`]: it looks at a spend and the card's state as
//! it was before that spend, and may report a [`Finding`]. Findings of enforced rules combine
//! into one alert; findings of shadow rules into a separate shadow alert that takes no action,
//! so a rule can be trialled on live traffic. After assessment the spend is recorded in the
//! card's bounded state.
//!
//! - [`velocity`]: too many spends, or too much spent, within a sliding window.
//! - [`anomaly`]: an amount far above the card's own baseline.
//! - [`travel`]: consecutive in-person spends too far apart for the time between them.
//! - [`merchant`]: risky categories, new merchants, cross-border and card-not-present spends.
//! - [`duplicate`]: the same spend again under another id.
//! - [`card_testing`]: small probing spends followed by a large one.
//! - [`abuse`]: points abuse on the member's account: refund churn, split purchases, transfer
//!   rings, redemptions right after a burst of earning.
//! - [`alerts`]: findings into alerts, scored and classified.

pub mod abuse;
pub mod alerts;
mod anomaly;
mod card_testing;
mod duplicate;
mod merchant;
mod travel;
mod velocity;

use crate::domain::alert::Mode;
use crate::domain::card::{millis, Sighting, Spend};
use crate::domain::{Alert, CardState, Transaction};
use crate::rules::fraud::{FraudRules, RuleMeta};
use crate::rules::RuleSet;
pub use alerts::{combined_score, Subject};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// A rule that tripped.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: String,
    /// A sentence a risk analyst reads, with the numbers that tripped the rule.
    pub description: String,
    pub score: f64,
    pub mode: Mode,
}

impl RuleMeta {
    fn finding(&self, description: String) -> Finding {
        Finding {
            rule: self.id.clone(),
            description,
            score: self.score,
            mode: self.mode,
        }
    }
}

/// The spend being assessed.
pub struct SpendContext<'a> {
    pub txn: &'a Transaction,
    /// The amount in the programme's base currency.
    pub amount: Decimal,
    pub currency: &'a str,
}

/// One fraud rule. Implementations are pure: same spend and card state, same finding.
pub trait FraudRule {
    /// The rule's id, score and mode.
    fn meta(&self) -> &RuleMeta;

    fn evaluate(&self, spend: &SpendContext<'_>, card: &CardState) -> Option<Finding>;
}

/// Every configured rule, in a fixed order (so reasons are listed deterministically).
pub fn configured(fraud: &FraudRules) -> impl Iterator<Item = &dyn FraudRule> {
    let optional: [Option<&dyn FraudRule>; 8] = [
        fraud
            .amount_anomaly
            .as_ref()
            .map(|rule| rule as &dyn FraudRule),
        fraud
            .impossible_travel
            .as_ref()
            .map(|rule| rule as &dyn FraudRule),
        fraud
            .risky_category
            .as_ref()
            .map(|rule| rule as &dyn FraudRule),
        fraud
            .new_merchant
            .as_ref()
            .map(|rule| rule as &dyn FraudRule),
        fraud
            .cross_border
            .as_ref()
            .map(|rule| rule as &dyn FraudRule),
        fraud
            .card_not_present
            .as_ref()
            .map(|rule| rule as &dyn FraudRule),
        fraud.duplicate.as_ref().map(|rule| rule as &dyn FraudRule),
        fraud
            .card_testing
            .as_ref()
            .map(|rule| rule as &dyn FraudRule),
    ];
    fraud
        .velocity
        .iter()
        .map(|rule| rule as &dyn FraudRule)
        .chain(optional.into_iter().flatten())
}

/// Assesses a spend against the card's state, records it there, and returns the alerts it
/// raises with the `extra` findings (points-abuse rules on the member): at most one enforced
/// and one shadow alert. Other transaction kinds raise alerts from `extra` alone.
///
/// A spend later than the programme's lateness bound behind the card's newest one is assessed
/// as if it happened at that newest time (against the state as it is) and its alerts are
/// marked late; it is still recorded at its own event time.
pub fn assess(
    spend: &SpendContext<'_>,
    member_id: Option<&str>,
    card: &mut CardState,
    rules: &RuleSet,
    extra: Vec<Finding>,
) -> Vec<Alert> {
    let txn = spend.txn;
    let fraud = rules.fraud_for(&txn.program_id);
    let (mut findings, late) = if txn.kind.is_spend() {
        let late = late_behind(txn, card, fraud);
        let findings = match late {
            None => evaluate(fraud, spend, card),
            Some(newest) => {
                let as_of_now = Transaction {
                    timestamp: newest,
                    ..txn.clone()
                };
                let context = SpendContext {
                    txn: &as_of_now,
                    ..*spend
                };
                evaluate(fraud, &context, card)
            }
        };
        record(spend, card, fraud);
        (findings, late.is_some())
    } else {
        (Vec::new(), false)
    };
    findings.extend(extra);
    let subject = Subject {
        id: &txn.txn_id,
        card_token: Some(&txn.card_token),
        member_id,
        program_id: &txn.program_id,
        at: txn.timestamp,
        late,
    };
    alerts::raise(&findings, &subject, fraud, &rules.version)
}

/// The card's newest spend time, when `txn` is further behind it than the lateness bound.
pub fn late_behind(
    txn: &Transaction,
    card: &CardState,
    fraud: &FraudRules,
) -> Option<time::OffsetDateTime> {
    let newest = card.recent.back().map(Spend::at)?;
    (txn.timestamp < newest - fraud.lateness).then_some(newest)
}

fn evaluate(fraud: &FraudRules, spend: &SpendContext<'_>, card: &CardState) -> Vec<Finding> {
    configured(fraud)
        .filter_map(|rule| rule.evaluate(spend, card))
        .collect()
}

/// Adds the spend to the card's memory: its history, baseline, last sighting, home country,
/// merchants and categories.
fn record(spend: &SpendContext<'_>, card: &mut CardState, fraud: &FraudRules) {
    let txn = spend.txn;
    card.record_spend(
        Spend {
            at_ms: millis(txn.timestamp),
            amount: spend.amount,
            merchant: txn.merchant.id.clone(),
            card_present: txn.card_present,
        },
        fraud.history_span(),
        fraud.history_limit,
    );
    card.baseline
        .update(spend.amount.to_f64().unwrap_or(0.0), fraud.baseline_alpha);
    if txn.card_present {
        if let (Some(lat), Some(lon)) = (txn.merchant.lat, txn.merchant.lon) {
            let newer = card
                .last_present
                .as_ref()
                .is_none_or(|last| last.at <= txn.timestamp);
            if newer {
                card.last_present = Some(Sighting {
                    at: txn.timestamp,
                    lat,
                    lon,
                    city: txn.merchant.city.clone(),
                });
            }
        }
        card.home_country
            .get_or_insert_with(|| txn.merchant.country.clone());
    }
    card.remember(&txn.merchant.id, &txn.merchant.mcc);
}

#[cfg(test)]
mod tests;
