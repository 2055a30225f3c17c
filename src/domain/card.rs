//! Per-card risk state: a compact, bounded memory of recent spending for the fraud rules.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use time::{Duration, OffsetDateTime};

/// Which member a card's member-less transactions belong to (written by `card_linked`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardLink {
    pub member_id: String,
    /// The member is a pool the card earns into whatever member its transactions name.
    #[serde(default)]
    pub pool: bool,
}

/// Most distinct merchants and categories remembered per card.
const MAX_REMEMBERED: usize = 64;

/// One spend, as the fraud rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    /// Event time, Unix milliseconds (compact: a busy card keeps hundreds of these).
    pub at_ms: i64,
    /// Amount in the programme's base currency.
    pub amount: Decimal,
    pub merchant: String,
    pub card_present: bool,
}

impl Spend {
    pub fn at(&self) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH.saturating_add(Duration::milliseconds(self.at_ms))
    }
}

/// Where and when the card was last used in person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub lat: f64,
    pub lon: f64,
    pub city: Option<String>,
}

/// Running mean and variance of spend amounts (exponentially weighted), for anomaly checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Spends folded in so far.
    pub count: u64,
    pub mean: f64,
    pub variance: f64,
}

impl Baseline {
    /// Folds in `amount` with weight `alpha` for the newest value (plain mean for the first).
    pub fn update(&mut self, amount: f64, alpha: f64) {
        if self.count == 0 {
            self.mean = amount;
            self.variance = 0.0;
        } else {
            let difference = amount - self.mean;
            let increment = alpha * difference;
            self.mean += increment;
            self.variance = (1.0 - alpha) * (self.variance + difference * increment);
        }
        self.count += 1;
    }
}

/// What the fraud rules remember about one card. Every part is bounded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CardState {
    /// Recent spends, oldest first by event time, trimmed to the longest window the rules use.
    pub recent: VecDeque<Spend>,
    /// Spending transactions ever seen on this card.
    pub spend_count: u64,
    pub baseline: Baseline,
    pub last_present: Option<Sighting>,
    /// Country of the card's first card-present spend: its presumed home.
    pub home_country: Option<String>,
    /// Distinct merchants seen, most recent last.
    pub merchants: VecDeque<String>,
    /// Distinct merchant categories seen, most recent last.
    pub categories: VecDeque<String>,
}

impl CardState {
    /// Records a spend, keeping `recent` sorted by event time (late arrivals are inserted in
    /// place), then forgets spends older than `keep` before the newest and caps the length at
    /// `max_len`.
    pub fn record_spend(&mut self, spend: Spend, keep: Duration, max_len: usize) {
        let position = self.recent.partition_point(|s| s.at_ms <= spend.at_ms);
        self.recent.insert(position, spend);
        self.spend_count += 1;
        if let Some(newest) = self.recent.back().map(|s| s.at_ms) {
            let keep_ms = keep.whole_milliseconds() as i64;
            while self
                .recent
                .front()
                .is_some_and(|s| newest - s.at_ms > keep_ms)
            {
                self.recent.pop_front();
            }
        }
        while self.recent.len() > max_len {
            self.recent.pop_front();
        }
    }

    /// Spends recorded in the window `(at - window, at]`.
    pub fn spends_within(
        &self,
        at: OffsetDateTime,
        window: Duration,
    ) -> impl Iterator<Item = &Spend> {
        let end_ms = millis(at);
        let start_ms = millis(at.saturating_sub(window));
        let start = self.recent.partition_point(|s| s.at_ms <= start_ms);
        let end = self.recent.partition_point(|s| s.at_ms <= end_ms);
        self.recent.range(start..end)
    }

    pub fn knows_merchant(&self, merchant: &str) -> bool {
        self.merchants.iter().any(|m| m == merchant)
    }

    pub fn knows_category(&self, mcc: &str) -> bool {
        self.categories.iter().any(|c| c == mcc)
    }

    /// Remembers a merchant and category, forgetting the least recent beyond the bound.
    pub fn remember(&mut self, merchant: &str, mcc: &str) {
        remember(&mut self.merchants, merchant);
        remember(&mut self.categories, mcc);
    }
}

fn remember(seen: &mut VecDeque<String>, value: &str) {
    if let Some(position) = seen.iter().position(|v| v == value) {
        seen.remove(position);
    }
    seen.push_back(value.to_owned());
    while seen.len() > MAX_REMEMBERED {
        seen.pop_front();
    }
}

/// Unix milliseconds of an event time.
pub fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn spend(at: OffsetDateTime) -> Spend {
        Spend {
            at_ms: millis(at),
            amount: Decimal::ONE,
            merchant: "MER-1".into(),
            card_present: true,
        }
    }

    #[test]
    fn window_is_half_open_at_its_start() {
        let mut card = CardState::default();
        let t0 = datetime!(2026-11-22 10:00 UTC);
        for minutes in [0, 5, 10] {
            card.record_spend(
                spend(t0 + Duration::minutes(minutes)),
                Duration::hours(1),
                100,
            );
        }
        let at = t0 + Duration::minutes(10);
        // (10:00, 10:10] excludes the spend at exactly 10:00.
        assert_eq!(card.spends_within(at, Duration::minutes(10)).count(), 2);
        assert_eq!(card.spends_within(at, Duration::minutes(11)).count(), 3);
    }

    #[test]
    fn late_spend_is_inserted_in_event_time_order_and_old_ones_trimmed() {
        let mut card = CardState::default();
        let t0 = datetime!(2026-11-22 10:00 UTC);
        for minutes in [30, 20, 0] {
            card.record_spend(
                spend(t0 + Duration::minutes(minutes)),
                Duration::minutes(20),
                100,
            );
        }
        let kept: Vec<_> = card.recent.iter().map(Spend::at).collect();
        assert_eq!(
            kept,
            vec![t0 + Duration::minutes(20), t0 + Duration::minutes(30)]
        );
        assert_eq!(card.spend_count, 3);
    }

    #[test]
    fn memory_is_bounded() {
        let mut card = CardState::default();
        let t0 = datetime!(2026-11-22 10:00 UTC);
        for seconds in 0..200 {
            card.record_spend(
                spend(t0 + Duration::seconds(seconds)),
                Duration::hours(1),
                8,
            );
            card.remember(&format!("MER-{seconds}"), &format!("{:04}", seconds % 100));
        }
        assert_eq!(card.recent.len(), 8);
        assert_eq!(
            card.recent.back().map(Spend::at),
            Some(t0 + Duration::seconds(199))
        );
        assert_eq!(card.merchants.len(), MAX_REMEMBERED);
        assert!(card.knows_merchant("MER-199") && !card.knows_merchant("MER-0"));
    }

    #[test]
    fn baseline_tracks_mean_and_spread() {
        let mut baseline = Baseline::default();
        for amount in [100.0, 100.0, 100.0, 100.0] {
            baseline.update(amount, 0.2);
        }
        assert_eq!(
            (baseline.mean, baseline.variance, baseline.count),
            (100.0, 0.0, 4)
        );
        baseline.update(200.0, 0.2);
        assert!((baseline.mean - 120.0).abs() < 1e-9);
        assert!(baseline.variance > 0.0);
    }
}
