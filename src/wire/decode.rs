//! Decoding a transaction message: bytes to a validated [`Transaction`], or an [`InputError`]
//! that names the field at fault.

use super::pan::{find_pans, mask_pans};
use crate::domain::{Merchant, Transaction, TxnKind};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Longest accepted id (txn_id, card_token, member_id, ...): they become store keys.
const MAX_ID_LEN: usize = 128;
/// Largest accepted amount, in any currency.
const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0); // 1e15
/// Most decimal places an amount may carry (minor units of any ISO 4217 currency fit).
const MAX_AMOUNT_SCALE: u32 = 4;

/// Why a message is not a valid transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("message is {size} bytes, over the {limit}-byte limit")]
    Oversized { size: usize, limit: usize },
    #[error("message is not UTF-8 text")]
    NotUtf8,
    #[error("message is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("message is JSON but not an object")]
    NotAnObject,
    #[error("required field `{0}` is missing")]
    MissingField(String),
    #[error("field `{field}` {reason}")]
    InvalidField { field: String, reason: String },
    #[error("message carries a raw card number ({masked}); send a card_token instead")]
    RawPan { masked: String },
}

impl InputError {
    /// Stable, low-cardinality name for metrics and DLQ records.
    pub fn kind(&self) -> &'static str {
        match self {
            InputError::Oversized { .. } => "oversized",
            InputError::NotUtf8 => "not_utf8",
            InputError::MalformedJson(_) => "malformed_json",
            InputError::NotAnObject => "not_an_object",
            InputError::MissingField(_) => "missing_field",
            InputError::InvalidField { .. } => "invalid_field",
            InputError::RawPan { .. } => "raw_pan",
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> InputError {
    InputError::InvalidField {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Decodes and validates one transaction message of at most `max_bytes` bytes.
pub fn decode_transaction(payload: &[u8], max_bytes: usize) -> Result<Transaction, InputError> {
    if payload.len() > max_bytes {
        return Err(InputError::Oversized {
            size: payload.len(),
            limit: max_bytes,
        });
    }
    if let Some(range) = find_pans(payload).into_iter().next() {
        let masked = String::from_utf8_lossy(&mask_pans(&payload[range])).into_owned();
        return Err(InputError::RawPan { masked });
    }
    let text = std::str::from_utf8(payload).map_err(|_| InputError::NotUtf8)?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| InputError::MalformedJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(InputError::NotAnObject);
    };
    let fields = Fields::new(&object, "");

    let kind = parse_kind(&fields)?;
    let original_txn_id = fields.optional_id("original_txn_id")?;
    if kind.needs_original() && original_txn_id.is_none() {
        return Err(InputError::MissingField("original_txn_id".into()));
    }
    let merchant = match object.get("merchant") {
        Some(Value::Object(merchant)) => parse_merchant(&Fields::new(merchant, "merchant."))?,
        Some(_) => return Err(invalid("merchant", "must be an object")),
        None => return Err(InputError::MissingField("merchant".into())),
    };
    Ok(Transaction {
        txn_id: fields.id("txn_id")?,
        kind,
        card_token: fields.id("card_token")?,
        member_id: fields.optional_id("member_id")?,
        program_id: fields
            .optional_id("program_id")?
            .unwrap_or_else(|| "default".to_owned()),
        amount: parse_amount(&fields)?,
        currency: parse_code(&fields, "currency", 3)?,
        channel: fields
            .optional_str("channel")?
            .unwrap_or("unknown")
            .to_owned(),
        card_present: fields.optional_bool("card_present")?.unwrap_or(false),
        merchant,
        original_txn_id,
        timestamp: parse_timestamp(&fields)?,
    })
}

fn parse_kind(fields: &Fields) -> Result<TxnKind, InputError> {
    match fields.str("type")? {
        "purchase" => Ok(TxnKind::Purchase),
        "authorization" => Ok(TxnKind::Authorization),
        "clearing" => Ok(TxnKind::Clearing),
        "refund" => Ok(TxnKind::Refund),
        "reversal" => Ok(TxnKind::Reversal),
        "chargeback" => Ok(TxnKind::Chargeback),
        other => Err(invalid(
            "type",
            format!("`{other}` is not one of purchase, authorization, clearing, refund, reversal, chargeback"),
        )),
    }
}

fn parse_amount(fields: &Fields) -> Result<Decimal, InputError> {
    let text = match fields.get("amount")? {
        Value::String(text) => text,
        Value::Number(_) => {
            return Err(invalid(
                "amount",
                "must be a decimal string such as \"12.50\", not a JSON number",
            ))
        }
        _ => {
            return Err(invalid(
                "amount",
                "must be a decimal string such as \"12.50\"",
            ))
        }
    };
    let amount = Decimal::from_str(text)
        .map_err(|_| invalid("amount", format!("`{text}` is not a decimal number")))?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(invalid(
            "amount",
            format!("`{text}` is negative; refunds are their own type"),
        ));
    }
    if amount.scale() > MAX_AMOUNT_SCALE {
        return Err(invalid(
            "amount",
            format!("`{text}` has more than {MAX_AMOUNT_SCALE} decimal places"),
        ));
    }
    if amount > MAX_AMOUNT {
        return Err(invalid(
            "amount",
            format!("`{text}` is larger than {MAX_AMOUNT}"),
        ));
    }
    Ok(amount)
}

fn parse_code(fields: &Fields, name: &str, len: usize) -> Result<String, InputError> {
    let code = fields.str(name)?;
    if code.len() == len && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code.to_owned())
    } else {
        Err(fields.invalid(
            name,
            format!("`{code}` is not a {len}-letter upper-case code"),
        ))
    }
}

fn parse_timestamp(fields: &Fields) -> Result<OffsetDateTime, InputError> {
    let text = fields.str("timestamp")?;
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|_| {
            invalid(
                "timestamp",
                format!("`{text}` is not an RFC 3339 time such as 2026-11-22T10:15:30Z"),
            )
        })
}

fn parse_merchant(fields: &Fields) -> Result<Merchant, InputError> {
    let mcc = fields.str("mcc")?;
    if mcc.len() != 4 || !mcc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fields.invalid(
            "mcc",
            format!("`{mcc}` is not a four-digit merchant category code"),
        ));
    }
    Ok(Merchant {
        id: fields.id("id")?,
        name: fields.optional_str("name")?.unwrap_or_default().to_owned(),
        mcc: mcc.to_owned(),
        country: parse_code(fields, "country", 2)?,
        city: fields.optional_str("city")?.map(str::to_owned),
        lat: fields.optional_coordinate("lat", 90.0)?,
        lon: fields.optional_coordinate("lon", 180.0)?,
    })
}

/// Typed access to a JSON object's fields, with errors that name the full field path.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: &'static str,
}

impl<'a> Fields<'a> {
    fn new(object: &'a Map<String, Value>, prefix: &'static str) -> Self {
        Fields { object, prefix }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn invalid(&self, name: &str, reason: impl Into<String>) -> InputError {
        invalid(&self.path(name), reason)
    }

    fn get(&self, name: &str) -> Result<&'a Value, InputError> {
        match self.object.get(name) {
            None | Some(Value::Null) => Err(InputError::MissingField(self.path(name))),
            Some(value) => Ok(value),
        }
    }

    fn str(&self, name: &str) -> Result<&'a str, InputError> {
        self.get(name)?
            .as_str()
            .ok_or_else(|| self.invalid(name, "must be a string"))
    }

    fn optional_str(&self, name: &str) -> Result<Option<&'a str>, InputError> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.str(name).map(Some),
        }
    }

    fn id(&self, name: &str) -> Result<String, InputError> {
        let id = self.str(name)?;
        if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
            return Err(self.invalid(
                name,
                format!("must be 1 to {MAX_ID_LEN} printable characters"),
            ));
        }
        Ok(id.to_owned())
    }

    fn optional_id(&self, name: &str) -> Result<Option<String>, InputError> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.id(name).map(Some),
        }
    }

    fn optional_bool(&self, name: &str) -> Result<Option<bool>, InputError> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(self.invalid(name, "must be true or false")),
        }
    }

    fn optional_coordinate(&self, name: &str, limit: f64) -> Result<Option<f64>, InputError> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => match number.as_f64() {
                Some(degrees) if degrees.abs() <= limit => Ok(Some(degrees)),
                _ => {
                    Err(self.invalid(name, format!("must be a number of degrees within ±{limit}")))
                }
            },
            Some(_) => Err(self.invalid(name, "must be a number of degrees")),
        }
    }
}

#[cfg(test)]
mod tests;
