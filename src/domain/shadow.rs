//! What a candidate rules version would have done to a transaction, beside what the live one
//! did: published on the shadow topic so a programme manager sees the cost of a change
//! before switching it on. Nothing of it is credited.

use super::BreakdownLine;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowComparison {
    pub txn_id: String,
    pub member_id: String,
    pub program_id: String,
    pub live_version: String,
    pub candidate_version: String,
    /// Points (posted and pending) the live rules moved.
    pub live_points: i64,
    /// Points the candidate would have moved; absent when it refused the transaction.
    pub candidate_points: Option<i64>,
    /// candidate - live.
    pub difference: Option<i64>,
    /// Why the candidate refused the transaction, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_error: Option<String>,
    /// The candidate's lines, across its ledger events.
    pub candidate_breakdown: Vec<BreakdownLine>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
}
