//! The per-transaction record: proof that a transaction was applied, the outputs it produced
//! (so a replay re-emits them byte for byte), and what it earned (so a refund can take it back).

use super::counters::Counted;
use super::lots::LotUse;
use super::TxnKind;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which downstream topic an output goes to; names resolve through configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputTopic {
    Ledger,
    Alerts,
    /// Commands txscore issues itself (a transfer's credit).
    Commands,
    /// Shadow ruleset comparisons.
    Shadow,
}

/// One message to publish, already encoded: stored as-is so replays are byte-identical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputMessage {
    pub topic: OutputTopic,
    pub key: String,
    pub payload: String,
}

/// Points a transaction put on the account, and how much of them later messages took back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earning {
    pub kind: TxnKind,
    pub program_id: String,
    pub amount: Decimal,
    pub currency: String,
    /// Points the transaction earned.
    pub points: i64,
    /// Whether they are still pending (an authorization not yet cleared, or a sale held for
    /// review) rather than posted.
    pub held: bool,
    /// Whether they are pending because a fraud alert held them for a review.
    #[serde(default)]
    pub under_review: bool,
    /// Points taken back so far by refunds, reversals and chargebacks (or replaced by a
    /// clearing), never more than `points`.
    pub reversed_points: i64,
    /// Amount refunded so far, in `currency`.
    pub reversed_amount: Decimal,
    /// What the earning counted toward caps, campaigns and tiers, for refunds to roll back.
    #[serde(default)]
    pub counted: Counted,
    /// The lots its points went (or will go, once posted) to, one per funder, for take-backs
    /// to prefer.
    #[serde(default)]
    pub lots: Vec<LotUse>,
    /// For a sale held by the settlement window: when its points post.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub posts_at: Option<time::OffsetDateTime>,
}

/// What the store keeps per applied transaction id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnRecord {
    pub outputs: Vec<OutputMessage>,
    /// Present when the transaction earned or held points that a later message may reverse.
    pub earning: Option<Earning>,
    /// Present for a redemption or transfer: what it took, and from which lots.
    #[serde(default)]
    pub debit: Option<super::command::Debit>,
    /// What it drew from (or gave back to) campaign budgets, settled again on a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetDraws>,
    /// For a transaction: [`Transaction::fingerprint`](super::Transaction::fingerprint) of
    /// what was applied, so a different transaction re-using the id is told from a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<u64>,
}

/// Points a transaction drew from (positive) or gave back to (negative) the budgets its
/// programme's campaigns share among all members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetDraws {
    pub program_id: String,
    pub campaigns: BTreeMap<String, i64>,
}
