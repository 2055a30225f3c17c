//! Decoding and encoding command messages:
//! `{"command_id","type","member_id","program_id","timestamp", ...}` where `type` is
//! `redeem` (+ `points`, `reward`), `cancel_redemption` (+ `redemption_id`), `transfer`
//! (+ `to_member_id`, `points`), `exchange` (+ `to_program_id`, `points`), `transfer_credit` (+ `transfer_id`, `from_member_id`,
//! `points`) or `referral_bonus` (+ `referred_member_id`, `txn_id`); the last two are
//! published by txscore itself.

use super::fields::{json_object, Fields, InputError};
use crate::domain::bounds::MAX_EVENT_POINTS;
use crate::domain::command::{Command, CommandAction};
use crate::domain::record::Payload;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

pub fn decode_command(payload: &[u8], max_bytes: usize) -> Result<Command, InputError> {
    let object = json_object(payload, max_bytes)?;
    let fields = Fields::new(&object, "");
    let points = || {
        let points = fields
            .get("points")?
            .as_i64()
            .ok_or_else(|| fields.invalid("points", "must be a whole number"))?;
        if !(1..=MAX_EVENT_POINTS).contains(&points) {
            return Err(fields.invalid("points", format!("must be from 1 to {MAX_EVENT_POINTS}")));
        }
        Ok(points)
    };
    let action = match fields.str("type")? {
        "redeem" => CommandAction::Redeem {
            points: points()?,
            reward: fields.id("reward")?,
        },
        "cancel_redemption" => CommandAction::CancelRedemption {
            redemption_id: fields.id("redemption_id")?,
        },
        "transfer" => CommandAction::Transfer {
            to_member_id: fields.id("to_member_id")?,
            points: points()?,
        },
        "transfer_credit" => CommandAction::TransferCredit {
            transfer_id: fields.id("transfer_id")?,
            from_member_id: fields.id("from_member_id")?,
            points: points()?,
        },
        "exchange" => CommandAction::Exchange {
            to_program_id: fields.id("to_program_id")?,
            points: points()?,
        },
        "referral_bonus" => CommandAction::ReferralBonus {
            referred_member_id: fields.id("referred_member_id")?,
            txn_id: fields.id("txn_id")?,
        },
        other => {
            return Err(fields.invalid(
                "type",
                format!(
                    "`{other}` is not one of redeem, cancel_redemption, transfer, transfer_credit"
                ),
            ))
        }
    };
    Ok(Command {
        command_id: fields.id("command_id")?,
        member_id: fields.id("member_id")?,
        program_id: fields
            .optional_id("program_id")?
            .unwrap_or_else(|| "default".to_owned()),
        action,
        timestamp: fields.timestamp("timestamp")?,
    })
}

/// The message `command` travels as; [`decode_command`] reads it back.
pub fn encode_command(command: &Command) -> Payload {
    let mut message = json!({
        "command_id": command.command_id,
        "member_id": command.member_id,
        "program_id": command.program_id,
        "timestamp": command.timestamp.format(&Rfc3339).expect("UTC times format"),
    });
    let extra = match &command.action {
        CommandAction::Redeem { points, reward } => {
            json!({"type": "redeem", "points": points, "reward": reward})
        }
        CommandAction::CancelRedemption { redemption_id } => {
            json!({"type": "cancel_redemption", "redemption_id": redemption_id})
        }
        CommandAction::Transfer {
            to_member_id,
            points,
        } => json!({"type": "transfer", "to_member_id": to_member_id, "points": points}),
        CommandAction::TransferCredit {
            transfer_id,
            from_member_id,
            points,
        } => json!({"type": "transfer_credit", "transfer_id": transfer_id,
                    "from_member_id": from_member_id, "points": points}),
        CommandAction::Exchange {
            to_program_id,
            points,
        } => json!({"type": "exchange", "to_program_id": to_program_id, "points": points}),
        CommandAction::ReferralBonus {
            referred_member_id,
            txn_id,
        } => json!({"type": "referral_bonus", "referred_member_id": referred_member_id,
                    "txn_id": txn_id}),
    };
    if let (Value::Object(message), Value::Object(extra)) = (&mut message, extra) {
        message.extend(extra);
    }
    Payload::encode(&message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_and_errors_name_the_field() {
        let text =
            br#"{"command_id":"C-1","type":"transfer","member_id":"M-1","to_member_id":"M-2",
            "points":250,"timestamp":"2026-11-22T12:00:00Z"}"#;
        let command = decode_command(text, 1024).unwrap();
        assert_eq!(
            command.action,
            CommandAction::Transfer {
                to_member_id: "M-2".into(),
                points: 250
            }
        );
        assert_eq!(
            decode_command(encode_command(&command).text().as_bytes(), 1024).unwrap(),
            command
        );
        let bad = br#"{"command_id":"C-1","type":"redeem","member_id":"M-1","points":-5,
            "reward":"r","timestamp":"2026-11-22T12:00:00Z"}"#;
        let error = decode_command(bad, 1024).unwrap_err();
        assert_eq!(
            error.to_string(),
            "field `points` must be from 1 to 1000000000000000"
        );
    }
}
