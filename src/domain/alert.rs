//! Fraud alerts: what a risk analyst reads, scored and explained.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How urgent an alert is, derived from its score by configured thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Whether a rule's alerts act or are only observed while the rule is trialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Enforce,
    Shadow,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
}

/// What the service does about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Publish the alert for review; points are unaffected.
    Flag,
    /// Publish the alert and hold the transaction's points as pending until a review on the
    /// `reviews` topic approves (posts) or rejects (drops) them.
    HoldPoints,
    /// Nothing: the alert is a shadow observation.
    None,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Flag => "flag",
            Action::HoldPoints => "hold_points",
            Action::None => "none",
        }
    }
}

/// One rule that tripped, with the numbers that tripped it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertReason {
    pub rule: String,
    pub description: String,
    /// This rule's contribution to the alert score, 0..1.
    pub score: f64,
}

/// An alert as published on the alerts topic (key: card_token, or member_id for an alert
/// about a command).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic: the same transaction always yields the same id.
    pub alert_id: String,
    pub txn_id: String,
    /// The card of the transaction; absent for an alert about a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_token: Option<String>,
    pub member_id: Option<String>,
    /// The programme the transaction earns in (reviews name it).
    pub program_id: String,
    /// Combined score 0..1: the chance at least one tripped rule is right, treating them as
    /// independent (1 - product of (1 - rule score)).
    pub score: f64,
    pub severity: Severity,
    pub action: Action,
    pub reasons: Vec<AlertReason>,
    pub rules_version: String,
    pub mode: Mode,
    /// The spend arrived later than the lateness bound behind the card's newest spend, so it
    /// was assessed against the card's current state rather than at its own event time.
    pub late: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
}
