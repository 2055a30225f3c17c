//! The per-transaction record: proof that a transaction was applied, the outputs it produced
//! (so a replay re-emits them byte for byte), and what it earned (so a refund can take it back).

use super::counters::Counted;
use super::lots::LotUse;
use super::TxnKind;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
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
    pub payload: Payload,
}

/// An output's JSON text, exactly as published.
///
/// One is made by encoding a value, so it is JSON by construction, and a record holds it as
/// that JSON itself: no escaping when written, no unescaping when read, and smaller. Records
/// written before held it as a string of the JSON; those read back as the same text, byte
/// for byte, and are written back in the form they came in.
#[derive(Debug, Clone)]
pub enum Payload {
    /// Encoded here, or read from a record holding the JSON itself.
    Json(Box<RawValue>),
    /// Read from a record holding the JSON as a string.
    Text(String),
}

impl Payload {
    /// `value` encoded as JSON.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Payload {
        Payload::Json(
            serde_json::value::to_raw_value(value).expect("outputs encode: string keys only"),
        )
    }

    /// The text to publish.
    pub fn text(&self) -> &str {
        match self {
            Payload::Json(json) => json.get(),
            Payload::Text(text) => text,
        }
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.text() == other.text()
    }
}

impl Eq for Payload {}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Payload::Json(json) => json.serialize(serializer),
            Payload::Text(text) => text.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Payload, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if raw.get().starts_with('{') {
            return Ok(Payload::Json(raw));
        }
        serde_json::from_str(raw.get())
            .map(Payload::Text)
            .map_err(D::Error::custom)
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

    fn output(payload: Payload) -> OutputMessage {
        OutputMessage {
            topic: OutputTopic::Ledger,
            key: "M-1".into(),
            payload,
        }
    }

    fn read(stored_payload: &str) -> Result<OutputMessage, serde_json::Error> {
        serde_json::from_str(&format!(
            r#"{{"topic":"ledger","key":"M-1","payload":{stored_payload}}}"#
        ))
    }

    const EVENT: &str = r#"{"event_id":"T-1/points_earned","points":5,"breakdown":[{"rule":"base_rate","detail":"247.33 CNY x \"1\""}],"nested":{"a":[1,2]}}"#;

    #[test]
    fn an_encoded_payload_is_stored_as_the_json_itself_and_reads_back_byte_for_byte() {
        let value: serde_json::Value = serde_json::from_str(EVENT).expect("valid JSON");
        let message = output(Payload::encode(&value));
        assert_eq!(message.payload.text(), value.to_string());
        let stored = serde_json::to_string(&message).expect("serialises");
        assert_eq!(
            stored,
            format!(r#"{{"topic":"ledger","key":"M-1","payload":{}}}"#, value),
            "the payload is nested as an object, not escaped into a string"
        );
        let read: OutputMessage = serde_json::from_str(&stored).expect("reads back");
        assert_eq!(read.payload.text(), message.payload.text());
        assert!(matches!(read.payload, Payload::Json(_)));
    }

    #[test]
    fn a_payload_stored_as_a_string_reads_back_and_is_written_back_as_it_came() {
        for payload in [
            EVENT,
            "not json at all",
            r#""a JSON string""#,
            " {\"padded\":1} ",
            "",
        ] {
            let stored = format!(
                r#"{{"topic":"ledger","key":"M-1","payload":{}}}"#,
                serde_json::to_string(payload).expect("a string serialises")
            );
            let read: OutputMessage = serde_json::from_str(&stored).expect("reads");
            assert_eq!(read.payload.text(), payload);
            assert_eq!(
                serde_json::to_string(&read).expect("serialises"),
                stored,
                "written back in the form it came in"
            );
        }
    }

    #[test]
    fn the_same_text_in_either_form_is_the_same_payload() {
        let as_object = read(EVENT).expect("reads");
        let as_string = read(&serde_json::to_string(EVENT).expect("serialises")).expect("reads");
        assert_eq!(as_object.payload.text(), EVENT);
        assert_eq!(as_object, as_string);
        assert_ne!(
            as_object,
            read(r#"{"event_id":"T-2"}"#).expect("reads"),
            "different text, different payload"
        );
    }

    #[test]
    fn a_payload_neither_string_nor_object_is_refused() {
        for stored in ["[1,2]", "5", "null", "true"] {
            assert!(read(stored).is_err(), "{stored} read as a payload");
        }
    }
}
