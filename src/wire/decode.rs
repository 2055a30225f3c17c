//! Decoding a transaction message: bytes to a validated [`Transaction`], or an [`InputError`]
//! that names the field at fault.

use super::fields::{invalid, json_object, Fields, InputError, MAX_AMOUNT, MAX_AMOUNT_SCALE};
use super::json::Json;
use crate::domain::{Merchant, Transaction, TxnKind};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Decodes and validates one transaction message of at most `max_bytes` bytes.
pub fn decode_transaction(payload: &[u8], max_bytes: usize) -> Result<Transaction, InputError> {
    let object = json_object(payload, max_bytes)?;
    let fields = Fields::new(&object, "");

    let kind = parse_kind(&fields)?;
    let original_txn_id = fields.optional_id("original_txn_id")?;
    if kind.needs_original() && original_txn_id.is_none() {
        return Err(InputError::MissingField("original_txn_id".into()));
    }
    let merchant = match object.get("merchant") {
        Some(Json::Object(merchant)) => parse_merchant(&Fields::new(merchant, "merchant."))?,
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
        card_product: fields.optional_id("card_product")?,
        card_present: fields.optional_bool("card_present")?.unwrap_or(false),
        merchant,
        original_txn_id,
        timestamp: fields.timestamp("timestamp")?,
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
        Json::String(text) => text.as_ref(),
        Json::Number(_) => {
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
    if text.starts_with('-') {
        return Err(invalid(
            "amount",
            format!("`{text}` is negative; refunds are their own type"),
        ));
    }
    if !plain_decimal(text) {
        return Err(invalid(
            "amount",
            format!("`{text}` is not a plain decimal number such as 12.50 (digits, and a point followed by digits)"),
        ));
    }
    let amount = Decimal::from_str(text)
        .map_err(|_| invalid("amount", format!("`{text}` is not a decimal number")))?;
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

/// Digits with an optional point and more digits: no sign, exponent, separators or spaces,
/// which some decimal parsers accept and others read differently.
fn plain_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
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

#[cfg(test)]
mod tests;
