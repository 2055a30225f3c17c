//! A risk reviewer's decision on a transaction whose points were held by a fraud alert.

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The transaction is genuine: the held points are posted.
    Approve,
    /// The transaction is fraud: the held points are never credited.
    Reject,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
        }
    }
}

/// A validated review message (topic `reviews`, key: member_id).
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// Unique per decision; a redelivered review is recognised by it.
    pub review_id: String,
    /// The transaction whose points are held.
    pub txn_id: String,
    pub member_id: String,
    pub program_id: String,
    pub verdict: Verdict,
    /// Who decided, for the ledger's breakdown.
    pub reviewer: Option<String>,
    /// When the decision was made: the event time of the ledger event it causes.
    pub timestamp: OffsetDateTime,
}
