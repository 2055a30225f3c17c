//! What every input message shares: the envelope checks (size, card numbers, UTF-8, a JSON
//! object), typed field access whose errors name the field, and [`InputError`].

use super::json::{self, Json, Object, StrictJsonError};
use super::pan::{find_pans, masked_span};
use rust_decimal::Decimal;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};

/// Longest accepted id (txn_id, card_token, member_id, ...): they become store keys.
pub const MAX_ID_LEN: usize = 128;
/// Punctuation an identifier may hold besides ASCII letters and digits (`/` joins the ids
/// txscore derives, such as `C-3/credit`). Everything else (`:`, `{`, `}`, `*`, spaces, ...)
/// is refused, so an id can never reach into another's store key.
pub const ID_PUNCTUATION: &str = "-_.@#+=~/";

/// Whether `c` may appear in an identifier.
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ID_PUNCTUATION.contains(c)
}

/// Largest accepted amount, in any currency.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0); // 1e15
/// Most decimal places an amount may carry (minor units of any ISO 4217 currency fit).
pub const MAX_AMOUNT_SCALE: u32 = 4;
/// Earliest accepted event time.
pub const EARLIEST_EVENT_TIME: OffsetDateTime = datetime!(1970-01-01 00:00 UTC);
/// Event times must be before this. With rule durations bounded too (a century at most),
/// every date the rules derive from an event time stays far inside what can be represented.
pub const EVENT_TIME_LIMIT: OffsetDateTime = datetime!(2100-01-01 00:00 UTC);

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

pub fn invalid(field: &str, reason: impl Into<String>) -> InputError {
    InputError::InvalidField {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The JSON object in `payload`, after the checks every message gets: at most `max_bytes`,
/// no card number anywhere (masked in the error; see [`super::pan`]), UTF-8, strict JSON (no
/// key twice in one object), an object.
pub fn json_object(payload: &[u8], max_bytes: usize) -> Result<Object<'_>, InputError> {
    if payload.len() > max_bytes {
        return Err(InputError::Oversized {
            size: payload.len(),
            limit: max_bytes,
        });
    }
    if let Some(pan) = find_pans(payload).first() {
        return Err(InputError::RawPan {
            masked: masked_span(payload, pan),
        });
    }
    let text = std::str::from_utf8(payload).map_err(|_| InputError::NotUtf8)?;
    match json::parse(text) {
        Ok(Json::Object(object)) => Ok(object),
        Ok(_) => Err(InputError::NotAnObject),
        Err(StrictJsonError::DuplicateKey(field)) => Err(invalid(
            &field,
            "appears more than once; which value is meant is ambiguous",
        )),
        Err(StrictJsonError::Malformed(reason)) => Err(InputError::MalformedJson(reason)),
    }
}

/// Typed access to a JSON object's fields, with errors that name the full field path.
pub struct Fields<'a> {
    object: &'a Object<'a>,
    prefix: &'static str,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Object<'a>, prefix: &'static str) -> Self {
        Fields { object, prefix }
    }

    pub fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn invalid(&self, name: &str, reason: impl Into<String>) -> InputError {
        invalid(&self.path(name), reason)
    }

    pub fn get(&self, name: &str) -> Result<&'a Json<'a>, InputError> {
        match self.object.get(name) {
            None | Some(Json::Null) => Err(InputError::MissingField(self.path(name))),
            Some(value) => Ok(value),
        }
    }

    pub fn str(&self, name: &str) -> Result<&'a str, InputError> {
        self.get(name)?
            .as_str()
            .ok_or_else(|| self.invalid(name, "must be a string"))
    }

    pub fn optional_str(&self, name: &str) -> Result<Option<&'a str>, InputError> {
        match self.object.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(_) => self.str(name).map(Some),
        }
    }

    /// An identifier: 1 to [`MAX_ID_LEN`] characters from [`is_id_char`]. Ids become store
    /// keys and event ids, so characters that separate or pattern-match their parts are refused.
    pub fn id(&self, name: &str) -> Result<String, InputError> {
        let id = self.str(name)?;
        if id.is_empty() || id.len() > MAX_ID_LEN || !id.chars().all(is_id_char) {
            return Err(self.invalid(
                name,
                format!(
                    "must be 1 to {MAX_ID_LEN} characters, each a letter, a digit or one of \
                     {ID_PUNCTUATION}"
                ),
            ));
        }
        Ok(id.to_owned())
    }

    pub fn optional_id(&self, name: &str) -> Result<Option<String>, InputError> {
        match self.object.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(_) => self.id(name).map(Some),
        }
    }

    pub fn optional_bool(&self, name: &str) -> Result<Option<bool>, InputError> {
        match self.object.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(self.invalid(name, "must be true or false")),
        }
    }

    pub fn optional_coordinate(&self, name: &str, limit: f64) -> Result<Option<f64>, InputError> {
        match self.object.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Number(number)) => match number.as_f64() {
                Some(degrees) if degrees.abs() <= limit => Ok(Some(degrees)),
                _ => {
                    Err(self.invalid(name, format!("must be a number of degrees within ±{limit}")))
                }
            },
            Some(_) => Err(self.invalid(name, "must be a number of degrees")),
        }
    }

    /// An RFC 3339 time, normalised to UTC, from [`EARLIEST_EVENT_TIME`] up to (not including)
    /// [`EVENT_TIME_LIMIT`].
    pub fn timestamp(&self, name: &str) -> Result<OffsetDateTime, InputError> {
        let text = self.str(name)?;
        let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            self.invalid(
                name,
                format!("`{text}` is not an RFC 3339 time such as 2026-11-22T10:15:30Z"),
            )
        })?;
        parsed
            .checked_to_offset(UtcOffset::UTC)
            .filter(|utc| (EARLIEST_EVENT_TIME..EVENT_TIME_LIMIT).contains(utc))
            .ok_or_else(|| {
                self.invalid(
                    name,
                    format!(
                        "`{text}` is outside the accepted range, {EARLIEST_EVENT_TIME} up to \
                         {EVENT_TIME_LIMIT}"
                    ),
                )
            })
    }
}
