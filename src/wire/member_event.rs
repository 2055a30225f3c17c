//! Decoding member-event messages: `{"event_id","type","member_id","program_id","timestamp",...}`
//! with `type` one of enrolled, signed_in, survey_completed, review_completed, referred
//! (+ `referrer_id`), tier_override (+ `tier`, absent to clear), frozen, unfrozen,
//! card_linked (+ `card_token`, optional `pool`).

use super::fields::{json_object, Fields, InputError};
use crate::domain::member_event::{MemberEvent, MemberEventKind};

pub fn decode_member_event(payload: &[u8], max_bytes: usize) -> Result<MemberEvent, InputError> {
    let object = json_object(payload, max_bytes)?;
    let fields = Fields::new(&object, "");
    let kind = match fields.str("type")? {
        "enrolled" => MemberEventKind::Enrolled,
        "signed_in" => MemberEventKind::SignedIn,
        "survey_completed" => MemberEventKind::SurveyCompleted,
        "review_completed" => MemberEventKind::ReviewCompleted,
        "referred" => MemberEventKind::Referred {
            referrer_id: fields.id("referrer_id")?,
        },
        "tier_override" => MemberEventKind::TierOverride {
            tier: fields.optional_id("tier")?,
        },
        "frozen" => MemberEventKind::Frozen,
        "unfrozen" => MemberEventKind::Unfrozen,
        "card_linked" => MemberEventKind::CardLinked {
            card_token: fields.id("card_token")?,
            pool: fields.optional_bool("pool")?.unwrap_or(false),
        },
        other => {
            return Err(fields.invalid(
                "type",
                format!(
                    "`{other}` is not one of enrolled, signed_in, survey_completed, \\
                     review_completed, referred, tier_override, frozen, unfrozen, card_linked"
                ),
            ))
        }
    };
    Ok(MemberEvent {
        event_id: fields.id("event_id")?,
        member_id: fields.id("member_id")?,
        program_id: fields
            .optional_id("program_id")?
            .unwrap_or_else(|| "default".to_owned()),
        kind,
        timestamp: fields.timestamp("timestamp")?,
    })
}
