//! A member's recent account activity, for the points-abuse rules: bounded by the longest
//! window those rules use, like a card's spends are for the card rules.

use super::MemberState;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Duration;

/// Most activity entries remembered per member, whatever the windows say.
const MAX_ACTIVITY: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Purchase,
    Refund,
    TransferIn,
}

/// One entry. Busy members keep hundreds, read and written with every transaction, so the
/// stored field names are one letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Event time, Unix milliseconds.
    #[serde(rename = "t")]
    pub at_ms: i64,
    #[serde(rename = "k")]
    pub kind: ActivityKind,
    #[serde(rename = "p")]
    pub points: i64,
    /// Amount in the programme's base currency (purchases and refunds).
    #[serde(rename = "a", default, skip_serializing_if = "Decimal::is_zero")]
    pub amount: Decimal,
    /// The merchant of a purchase or refund, the sender of a transfer.
    #[serde(rename = "m")]
    pub party: String,
}

impl MemberState {
    /// Remembers `entry` in event-time order, forgetting what is older than `keep` before the
    /// newest entry.
    pub fn record_activity(&mut self, entry: Activity, keep: Duration) {
        let position = self.activity.partition_point(|a| a.at_ms <= entry.at_ms);
        self.activity.insert(position, entry);
        let newest = self.activity.back().map_or(0, |a| a.at_ms);
        let keep_ms = keep.whole_milliseconds() as i64;
        while self
            .activity
            .front()
            .is_some_and(|a| newest - a.at_ms > keep_ms)
            || self.activity.len() > MAX_ACTIVITY
        {
            self.activity.pop_front();
        }
    }

    /// Entries of `kind` in the window `(at_ms - window, at_ms]`.
    pub fn activity_within(
        &self,
        kind: ActivityKind,
        at_ms: i64,
        window: Duration,
    ) -> impl Iterator<Item = &Activity> {
        let window_ms = i64::try_from(window.whole_milliseconds()).unwrap_or(i64::MAX);
        let start = at_ms.saturating_sub(window_ms);
        self.activity
            .iter()
            .filter(move |a| a.kind == kind && start < a.at_ms && a.at_ms <= at_ms)
    }
}
