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
    /// Written into the record as a string holding the JSON; read back from that or from the
    /// JSON object itself (see [`payload_text`]).
    #[serde(deserialize_with = "payload_text::deserialize")]
    pub payload: String,
}

/// How a record's output payload reads back. Records hold it as a string today; storing the
/// JSON object itself makes a record smaller and spares the escaping both ways, so this reads
/// either form to the same text, byte for byte. Reading comes first: a version that writes
/// objects can then roll out instance by instance, and back, without one instance failing on
/// records another wrote.
mod payload_text {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};
    use serde_json::value::RawValue;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if raw.get().starts_with('{') {
            return Ok(raw.get().to_owned());
        }
        serde_json::from_str(raw.get()).map_err(D::Error::custom)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn output(payload: &str) -> OutputMessage {
        OutputMessage {
            topic: OutputTopic::Ledger,
            key: "M-1".into(),
            payload: payload.into(),
        }
    }

    fn read(stored_payload: &str) -> Result<OutputMessage, serde_json::Error> {
        serde_json::from_str(&format!(
            r#"{{"topic":"ledger","key":"M-1","payload":{stored_payload}}}"#
        ))
    }

    #[test]
    fn a_payload_stored_as_a_string_reads_back_byte_for_byte() {
        for payload in [
            r#"{"points":247,"detail":"247.33 CNY x \"1\"","nested":{"a":[1,2]}}"#,
            "not json at all",
            r#""a JSON string""#,
            " {\"padded\":1} ",
            "",
        ] {
            let message = output(payload);
            let stored = serde_json::to_string(&message).expect("serialises");
            let read: OutputMessage = serde_json::from_str(&stored).expect("reads back");
            assert_eq!(read, message, "stored as {stored}");
        }
    }

    #[test]
    fn a_payload_stored_as_the_object_itself_reads_back_byte_for_byte() {
        let payload = r#"{"event_id":"T-1/points_earned","points":5,"breakdown":[{"rule":"base_rate","detail":"a \"b\""}]}"#;
        assert_eq!(read(payload).expect("reads").payload, payload);
        assert_eq!(
            read(&serde_json::to_string(payload).expect("a string serialises"))
                .expect("reads")
                .payload,
            payload,
            "the same text stored as a string reads back the same"
        );
    }

    #[test]
    fn a_payload_neither_string_nor_object_is_refused() {
        for stored in ["[1,2]", "5", "null", "true"] {
            assert!(read(stored).is_err(), "{stored} read as a payload");
        }
    }
}
