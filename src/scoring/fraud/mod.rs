//! Fraud rules and how their findings become alerts.
//!
//! Each rule is a type implementing [`FraudRule`]: it looks at a transaction and the card's
//! state (already updated with this transaction) and may report a [`Finding`]. Findings of
//! enforced rules combine into one alert; findings of shadow rules into a separate shadow alert
//! that takes no action, so a rule can be trialled on live traffic.
//!
//! - [`velocity`]: too many spends on a card within a sliding window.

mod velocity;

use crate::domain::alert::{Action, Mode};
use crate::domain::{Alert, AlertReason, CardState, Transaction};
use crate::rules::RuleSet;

/// A rule that tripped.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: String,
    /// A sentence a risk analyst reads, with the numbers that tripped the rule.
    pub description: String,
    pub score: f64,
    pub mode: Mode,
}

/// One fraud rule. Implementations are pure: same transaction and card state, same finding.
pub trait FraudRule {
    fn evaluate(&self, txn: &Transaction, card: &CardState) -> Option<Finding>;
}

/// Updates the card's risk state with `txn` and returns the alerts it raises (at most one
/// enforced and one shadow alert).
pub fn assess(
    txn: &Transaction,
    member_id: Option<&str>,
    card: &mut CardState,
    rules: &RuleSet,
) -> Vec<Alert> {
    if !txn.kind.is_spend() {
        return Vec::new();
    }
    let fraud = &rules.fraud;
    card.record_spend(txn.timestamp, fraud.history_span(), fraud.history_limit);

    let findings: Vec<Finding> = fraud
        .velocity
        .iter()
        .filter_map(|rule| rule.evaluate(txn, card))
        .collect();
    [Mode::Enforce, Mode::Shadow]
        .into_iter()
        .filter_map(|mode| {
            let reasons: Vec<AlertReason> = findings
                .iter()
                .filter(|finding| finding.mode == mode)
                .map(|finding| AlertReason {
                    rule: finding.rule.clone(),
                    description: finding.description.clone(),
                    score: finding.score,
                })
                .collect();
            (!reasons.is_empty()).then(|| build_alert(txn, member_id, reasons, mode, rules))
        })
        .collect()
}

fn build_alert(
    txn: &Transaction,
    member_id: Option<&str>,
    reasons: Vec<AlertReason>,
    mode: Mode,
    rules: &RuleSet,
) -> Alert {
    let score = combined_score(reasons.iter().map(|reason| reason.score));
    let severity = rules.fraud.severity.classify(score);
    let (action, suffix) = match mode {
        Mode::Enforce => (rules.fraud.actions[&severity], "alert"),
        Mode::Shadow => (Action::None, "shadow-alert"),
    };
    Alert {
        alert_id: format!("{}/{suffix}", txn.txn_id),
        txn_id: txn.txn_id.clone(),
        card_token: txn.card_token.clone(),
        member_id: member_id.map(str::to_owned),
        score,
        severity,
        action,
        reasons,
        rules_version: rules.version.clone(),
        mode,
        occurred_at: txn.timestamp,
    }
}

/// The chance that at least one rule is right, treating rules as independent, rounded to four
/// places so the published figure is stable.
pub fn combined_score(scores: impl Iterator<Item = f64>) -> f64 {
    let all_wrong: f64 = scores.map(|score| 1.0 - score).product();
    ((1.0 - all_wrong) * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::combined_score;

    #[test]
    fn combined_score_is_noisy_or() {
        assert_eq!(combined_score([0.6].into_iter()), 0.6);
        assert_eq!(combined_score([0.6, 0.5].into_iter()), 0.8);
        assert_eq!(combined_score(std::iter::empty()), 0.0);
    }
}
