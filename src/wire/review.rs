//! Decoding a review message:
//! `{"review_id","txn_id","member_id","program_id","decision":"approve"|"reject","reviewer","timestamp"}`.

use super::fields::{json_object, Fields, InputError};
use crate::domain::review::{Review, Verdict};

pub fn decode_review(payload: &[u8], max_bytes: usize) -> Result<Review, InputError> {
    let object = json_object(payload, max_bytes)?;
    let fields = Fields::new(&object, "");
    let verdict = match fields.str("decision")? {
        "approve" => Verdict::Approve,
        "reject" => Verdict::Reject,
        other => {
            return Err(fields.invalid(
                "decision",
                format!("`{other}` is not one of approve, reject"),
            ))
        }
    };
    Ok(Review {
        review_id: fields.id("review_id")?,
        txn_id: fields.id("txn_id")?,
        member_id: fields.id("member_id")?,
        program_id: fields
            .optional_id("program_id")?
            .unwrap_or_else(|| "default".to_owned()),
        verdict,
        reviewer: fields.optional_id("reviewer")?,
        timestamp: fields.timestamp("timestamp")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_decodes_and_errors_name_the_field() {
        let review = decode_review(
            br#"{"review_id":"RV-1","txn_id":"T-1","member_id":"M-1","decision":"reject",
                "reviewer":"analyst-7","timestamp":"2026-11-22T12:00:00Z"}"#,
            1024,
        )
        .unwrap();
        assert_eq!(review.verdict, Verdict::Reject);
        assert_eq!(review.program_id, "default");
        let error = decode_review(
            br#"{"review_id":"RV-1","txn_id":"T-1","member_id":"M-1","decision":"maybe","timestamp":"2026-11-22T12:00:00Z"}"#,
            1024,
        )
        .unwrap_err();
        assert_eq!(error.kind(), "invalid_field");
        assert!(error.to_string().contains("`decision`"), "{error}");
        let error = decode_review(br#"{"review_id":"RV-1"}"#, 1024).unwrap_err();
        assert_eq!(error.to_string(), "required field `decision` is missing");
    }
}
