//! Findings into alerts: the tripped enforced rules make one alert, the shadow ones another
//! that takes no action; the score combines the rules as independent evidence.

use super::Finding;
use crate::domain::alert::{Action, Mode};
use crate::domain::{Alert, AlertReason};
use crate::rules::FraudRules;
use time::OffsetDateTime;

/// What alerts are about: a transaction (with its card) or a command (member only).
pub struct Subject<'a> {
    /// The transaction or command id the alert ids derive from.
    pub id: &'a str,
    pub card_token: Option<&'a str>,
    pub member_id: Option<&'a str>,
    pub program_id: &'a str,
    pub at: OffsetDateTime,
    pub late: bool,
}

/// The alerts `findings` raise about `subject`: at most one enforced and one shadow.
pub fn raise(
    findings: &[Finding],
    subject: &Subject<'_>,
    fraud: &FraudRules,
    rules_version: &str,
) -> Vec<Alert> {
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
            (!reasons.is_empty()).then(|| build(reasons, subject, mode, fraud, rules_version))
        })
        .collect()
}

fn build(
    reasons: Vec<AlertReason>,
    subject: &Subject<'_>,
    mode: Mode,
    fraud: &FraudRules,
    rules_version: &str,
) -> Alert {
    let score = combined_score(reasons.iter().map(|reason| reason.score));
    let severity = fraud.severity.classify(score);
    let (action, suffix) = match mode {
        // Only a sale has points to hold; elsewhere a hold is a flag.
        Mode::Enforce => match fraud.actions[&severity] {
            Action::HoldPoints if subject.card_token.is_none() => (Action::Flag, "alert"),
            action => (action, "alert"),
        },
        Mode::Shadow => (Action::None, "shadow-alert"),
    };
    Alert {
        alert_id: format!("{}/{suffix}", subject.id),
        txn_id: subject.id.to_owned(),
        card_token: subject.card_token.map(str::to_owned),
        member_id: subject.member_id.map(str::to_owned),
        program_id: subject.program_id.to_owned(),
        score,
        severity,
        action,
        reasons,
        rules_version: rules_version.to_owned(),
        mode,
        late: subject.late,
        occurred_at: subject.at,
    }
}

/// The chance that at least one rule is right, treating rules as independent, rounded to four
/// places so the published figure is stable.
pub fn combined_score(scores: impl Iterator<Item = f64>) -> f64 {
    let all_wrong: f64 = scores.map(|score| 1.0 - score).product();
    ((1.0 - all_wrong) * 10_000.0).round() / 10_000.0
}
