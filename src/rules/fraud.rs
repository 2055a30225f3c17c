//! Validated fraud rules: each rule type's thresholds, and how findings become alerts.

use crate::domain::alert::{Action, Mode};
use crate::domain::Severity;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use time::Duration;

/// What every rule has: its id (named in reasons and metrics), its score contribution (0..1)
/// and whether it acts or is being trialled in shadow.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleMeta {
    pub id: String,
    pub score: f64,
    pub mode: Mode,
}

/// More than `max_count` spends, or more than `max_amount` spent, on one card within `window`.
#[derive(Debug, Clone, PartialEq)]
pub struct VelocityRule {
    pub meta: RuleMeta,
    pub max_count: Option<usize>,
    pub max_amount: Option<Decimal>,
    pub window: Duration,
}

/// A spend far above the card's own baseline, once the baseline has seen `warmup` spends.
#[derive(Debug, Clone, PartialEq)]
pub struct AmountAnomalyRule {
    pub meta: RuleMeta,
    pub warmup: u64,
    /// Standard deviations above the mean that trip the rule.
    pub z_threshold: f64,
    /// Spends below this never trip it, whatever the baseline.
    pub min_amount: Decimal,
}

/// Consecutive card-present spends further apart than a traveller could go in the time between.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpossibleTravelRule {
    pub meta: RuleMeta,
    pub max_speed_kmh: f64,
    /// Shorter hops (neighbouring towns, GPS noise) never trip it.
    pub min_distance_km: f64,
}

/// A merchant in a category on the high-risk list.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskyCategoryRule {
    pub meta: RuleMeta,
    pub mccs: Vec<String>,
}

/// The first spend at a merchant (and in a category) never seen for the card, once the card
/// has `warmup` spends of history.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMerchantRule {
    pub meta: RuleMeta,
    pub warmup: u64,
}

/// A spend in a country other than the card's home (its first card-present country).
#[derive(Debug, Clone, PartialEq)]
pub struct CrossBorderRule {
    pub meta: RuleMeta,
    /// Spends below this are not flagged.
    pub min_amount: Decimal,
}

/// A card-not-present spend above `min_amount`.
#[derive(Debug, Clone, PartialEq)]
pub struct CardNotPresentRule {
    pub meta: RuleMeta,
    pub min_amount: Decimal,
}

/// The same card, merchant and amount again within `window` under a different txn_id.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateRule {
    pub meta: RuleMeta,
    pub window: Duration,
}

/// At least `min_small` spends of at most `small_amount` within `window`, then one of at least
/// `large_amount`: a stolen card being tested before it is used.
#[derive(Debug, Clone, PartialEq)]
pub struct CardTestingRule {
    pub meta: RuleMeta,
    pub small_amount: Decimal,
    pub min_small: usize,
    pub large_amount: Decimal,
    pub window: Duration,
}

/// Score thresholds from which an alert is at least this severe.
#[derive(Debug, Clone, PartialEq)]
pub struct SeverityThresholds {
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

impl SeverityThresholds {
    pub fn classify(&self, score: f64) -> Severity {
        if score >= self.critical {
            Severity::Critical
        } else if score >= self.high {
            Severity::High
        } else if score >= self.medium {
            Severity::Medium
        } else {
            Severity::Low
        }
    }
}

/// Fraud rules: the rules file's `[fraud]`, or a programme's own `[programs.<id>.fraud]`.
/// Amounts are in the programme's base currency.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FraudRules {
    pub velocity: Vec<VelocityRule>,
    pub amount_anomaly: Option<AmountAnomalyRule>,
    pub impossible_travel: Option<ImpossibleTravelRule>,
    pub risky_category: Option<RiskyCategoryRule>,
    pub new_merchant: Option<NewMerchantRule>,
    pub cross_border: Option<CrossBorderRule>,
    pub card_not_present: Option<CardNotPresentRule>,
    pub duplicate: Option<DuplicateRule>,
    pub card_testing: Option<CardTestingRule>,
    pub severity: SeverityThresholds,
    /// Action per severity for enforced alerts.
    pub actions: BTreeMap<Severity, Action>,
    /// Most spends remembered per card, whatever the windows say.
    pub history_limit: usize,
    /// Weight of the newest spend in the card's amount baseline.
    pub baseline_alpha: f64,
    /// How late (behind the card's newest spend) a spend may be and still be assessed at its
    /// own event time.
    pub lateness: Duration,
    /// Points-abuse rules on the member's account.
    pub abuse: super::abuse::AbuseRules,
}

impl Default for SeverityThresholds {
    fn default() -> Self {
        SeverityThresholds {
            medium: 0.4,
            high: 0.7,
            critical: 0.9,
        }
    }
}

impl FraudRules {
    /// How far back card history must reach for the longest window any rule uses.
    pub fn history_span(&self) -> Duration {
        let windows = self.velocity.iter().map(|rule| rule.window);
        let duplicate = self.duplicate.iter().map(|rule| rule.window);
        let testing = self.card_testing.iter().map(|rule| rule.window);
        windows
            .chain(duplicate)
            .chain(testing)
            .max()
            .unwrap_or(Duration::ZERO)
    }
}
