//! The dead-letter record: a message that could not be processed, where it came from and why,
//! with enough of the original to replay it once the cause is fixed.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::pan::mask_pans;

/// Where a message was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePosition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A rejected message as published on the dead-letter topic (key: the source message's key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlqRecord {
    /// The original payload, card numbers masked: text when it was UTF-8, else base64.
    pub original: String,
    /// `utf8` or `base64`.
    pub original_encoding: String,
    /// Whether `original` holds only the first `max_original_bytes` of the masked payload.
    pub truncated: bool,
    pub original_size: usize,
    pub source: SourcePosition,
    /// Stable, low-cardinality reason class (also a metric label).
    pub error_kind: String,
    /// A sentence naming what is wrong, and where.
    pub reason: String,
}

impl DlqRecord {
    /// A record for `payload`, keeping at most `max_original_bytes` of it, card numbers masked.
    pub fn new(
        payload: &[u8],
        max_original_bytes: usize,
        source: SourcePosition,
        error_kind: &str,
        reason: String,
    ) -> DlqRecord {
        // Mask the whole payload before cutting it, so no card number straddles the cut.
        let masked = mask_pans(payload);
        let (original, original_encoding, truncated) = match String::from_utf8(masked) {
            Ok(mut text) => {
                let cut = text.floor_char_boundary(max_original_bytes);
                let truncated = cut < text.len();
                text.truncate(cut);
                (text, "utf8", truncated)
            }
            Err(not_text) => {
                let bytes = not_text.as_bytes();
                let kept = &bytes[..bytes.len().min(max_original_bytes)];
                (
                    base64::engine::general_purpose::STANDARD.encode(kept),
                    "base64",
                    kept.len() < bytes.len(),
                )
            }
        };
        DlqRecord {
            original,
            original_encoding: original_encoding.to_owned(),
            truncated,
            original_size: payload.len(),
            source,
            error_kind: error_kind.to_owned(),
            reason,
        }
    }

    /// The original payload as its sender produced it, when the record holds all of it: not
    /// when it was cut to `max_original_bytes`, nor when its base64 does not decode. (Card
    /// numbers are masked in every record, so one that carried some, `raw_pan`, holds a copy
    /// with them masked.)
    pub fn original_payload(&self) -> Option<Vec<u8>> {
        if self.truncated {
            return None;
        }
        let payload = match self.original_encoding.as_str() {
            "utf8" => self.original.clone().into_bytes(),
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(&self.original)
                .ok()?,
            _ => return None,
        };
        (payload.len() == self.original_size).then_some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_of(payload: &[u8], max_original_bytes: usize) -> DlqRecord {
        let source = SourcePosition {
            topic: "transactions".into(),
            partition: 0,
            offset: 7,
        };
        let record = DlqRecord::new(payload, max_original_bytes, source, "kind", "why".into());
        let stored = serde_json::to_string(&record).expect("serialises");
        serde_json::from_str(&stored).expect("reads back")
    }

    #[test]
    fn a_whole_original_reads_back_as_it_was_sent_text_or_not() {
        let text = r#"{"txn_id":"T-1","merchant":{"name":"Caf\u00e9 é"}}"#.as_bytes();
        assert_eq!(
            record_of(text, 1024).original_payload().as_deref(),
            Some(text)
        );
        let binary = [0xff, 0x00, 0x7b, 0xc3];
        let record = record_of(&binary, 1024);
        assert_eq!(record.original_encoding, "base64");
        assert_eq!(record.original_payload().as_deref(), Some(&binary[..]));
    }

    #[test]
    fn a_cut_or_damaged_original_is_not_given_back() {
        assert_eq!(record_of(b"0123456789", 4).original_payload(), None);
        assert_eq!(record_of(&[0xff; 10], 4).original_payload(), None);
        let mut record = record_of(b"0123456789", 1024);
        record.original.pop();
        assert_eq!(record.original_payload(), None, "shorter than its size");
        record.original_encoding = "base64".into();
        record.original = "not base64!".into();
        assert_eq!(record.original_payload(), None);
    }
}
