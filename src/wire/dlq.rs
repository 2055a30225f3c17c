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
}
