//! Per-card risk state: a compact, bounded memory of recent spending for the fraud rules.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use time::OffsetDateTime;

/// What the fraud rules remember about one card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    /// Event times of recent spending, oldest first, trimmed to the longest window the rules use.
    #[serde(with = "event_times")]
    pub recent_spend: VecDeque<OffsetDateTime>,
    /// Spending transactions ever seen on this card.
    pub spend_count: u64,
}

impl CardState {
    /// Records a spend at `at`, keeping `recent_spend` sorted by event time (late arrivals are
    /// inserted in place), then forgets entries older than `keep` before the newest and caps the
    /// length at `max_len` so a card's state never grows without bound.
    pub fn record_spend(&mut self, at: OffsetDateTime, keep: time::Duration, max_len: usize) {
        let position = self.recent_spend.partition_point(|t| *t <= at);
        self.recent_spend.insert(position, at);
        self.spend_count += 1;
        if let Some(&newest) = self.recent_spend.back() {
            while self
                .recent_spend
                .front()
                .is_some_and(|t| newest - *t > keep)
            {
                self.recent_spend.pop_front();
            }
        }
        while self.recent_spend.len() > max_len {
            self.recent_spend.pop_front();
        }
    }

    /// Number of recorded spends in the window `(at - window, at]`.
    pub fn spends_within(&self, at: OffsetDateTime, window: time::Duration) -> usize {
        let start = self.recent_spend.partition_point(|t| *t <= at - window);
        let end = self.recent_spend.partition_point(|t| *t <= at);
        end.saturating_sub(start)
    }
}

/// RFC 3339 for a deque of times, so `redis-cli` shows dates a person can read.
mod event_times {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::VecDeque;
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(
        times: &VecDeque<OffsetDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let texts: Result<Vec<String>, _> = times.iter().map(|t| t.format(&Rfc3339)).collect();
        texts
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<VecDeque<OffsetDateTime>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| OffsetDateTime::parse(text, &Rfc3339).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    #[test]
    fn window_is_half_open_at_its_start() {
        let mut card = CardState::default();
        let t0 = datetime!(2026-11-22 10:00 UTC);
        for minutes in [0, 5, 10] {
            card.record_spend(t0 + Duration::minutes(minutes), Duration::hours(1), 100);
        }
        // (10:00, 10:10] excludes the spend at exactly 10:00.
        assert_eq!(
            card.spends_within(t0 + Duration::minutes(10), Duration::minutes(10)),
            2
        );
        assert_eq!(
            card.spends_within(t0 + Duration::minutes(10), Duration::minutes(11)),
            3
        );
    }

    #[test]
    fn late_spend_is_inserted_in_event_time_order_and_old_ones_trimmed() {
        let mut card = CardState::default();
        let t0 = datetime!(2026-11-22 10:00 UTC);
        card.record_spend(t0 + Duration::minutes(30), Duration::minutes(20), 100);
        card.record_spend(t0 + Duration::minutes(20), Duration::minutes(20), 100);
        card.record_spend(t0, Duration::minutes(20), 100);
        let kept: Vec<_> = card.recent_spend.iter().copied().collect();
        assert_eq!(
            kept,
            vec![t0 + Duration::minutes(20), t0 + Duration::minutes(30)]
        );
        assert_eq!(card.spend_count, 3);
    }

    #[test]
    fn length_is_capped() {
        let mut card = CardState::default();
        let t0 = datetime!(2026-11-22 10:00 UTC);
        for seconds in 0..50 {
            card.record_spend(t0 + Duration::seconds(seconds), Duration::hours(1), 8);
        }
        assert_eq!(card.recent_spend.len(), 8);
        assert_eq!(
            card.recent_spend.back(),
            Some(&(t0 + Duration::seconds(49)))
        );
    }
}
