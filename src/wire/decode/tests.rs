use super::*;
use serde_json::Value;
use time::UtcOffset;

const VALID: &str = r#"{"txn_id":"T-1","type":"purchase","card_token":"tok_1","member_id":"M-1",
 "program_id":"default","amount":"256.80","currency":"CNY","channel":"chip","card_present":true,
 "merchant":{"id":"MER-1","name":"Fresh Mart","mcc":"5411","country":"CN","city":"Shanghai",
             "lat":31.2304,"lon":121.4737},
 "timestamp":"2026-11-22T18:15:30+08:00"}"#;

fn with(field: &str, value: &str) -> String {
    let mut object: Value = serde_json::from_str(VALID).unwrap();
    let target = match field.split_once('.') {
        Some((outer, inner)) => &mut object[outer][inner],
        None => &mut object[field],
    };
    *target = serde_json::from_str(value).unwrap();
    object.to_string()
}

fn without(field: &str) -> String {
    let mut object: Value = serde_json::from_str(VALID).unwrap();
    object.as_object_mut().unwrap().remove(field);
    object.to_string()
}

fn error_of(text: &str) -> InputError {
    decode_transaction(text.as_bytes(), 4096).unwrap_err()
}

#[test]
fn decodes_the_contract_example_and_normalises_time_to_utc() {
    let txn = decode_transaction(VALID.as_bytes(), 4096).unwrap();
    assert_eq!(txn.kind, TxnKind::Purchase);
    assert_eq!(txn.amount, Decimal::new(25680, 2));
    assert_eq!(txn.merchant.mcc, "5411");
    assert_eq!(
        txn.timestamp,
        time::macros::datetime!(2026-11-22 10:15:30 UTC)
    );
    assert_eq!(txn.timestamp.offset(), UtcOffset::UTC);
}

#[test]
fn optional_fields_take_their_defaults() {
    let txn = decode_transaction(without("program_id").as_bytes(), 4096).unwrap();
    assert_eq!(txn.program_id, "default");
    let txn = decode_transaction(without("member_id").as_bytes(), 4096).unwrap();
    assert_eq!(txn.member_id, None);
}

#[test]
fn amounts_must_be_non_negative_decimal_strings() {
    for (value, reason) in [
        (r#""-5.00""#, "negative"),
        (r#""abc""#, "not a plain decimal"),
        (r#""1_000.00""#, "not a plain decimal"),
        (r#""1e3""#, "not a plain decimal"),
        (r#""+5.00""#, "not a plain decimal"),
        (r#"" 5.00""#, "not a plain decimal"),
        (r#"".5""#, "not a plain decimal"),
        (r#""5.""#, "not a plain decimal"),
        ("12.5", "not a JSON number"),
        (r#""1.23456""#, "decimal places"),
        (r#""1000000000000000.01""#, "larger than"),
    ] {
        match error_of(&with("amount", value)) {
            InputError::InvalidField {
                field,
                reason: text,
            } => {
                assert_eq!(field, "amount");
                assert!(text.contains(reason), "{text} should mention {reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn errors_name_the_field() {
    assert_eq!(
        error_of(&without("txn_id")),
        InputError::MissingField("txn_id".into())
    );
    assert!(matches!(error_of(&with("merchant.mcc", r#""54A1""#)),
        InputError::InvalidField { field, .. } if field == "merchant.mcc"));
    assert!(matches!(error_of(&with("currency", r#""cny""#)),
        InputError::InvalidField { field, .. } if field == "currency"));
    assert!(matches!(error_of(&with("timestamp", r#""yesterday""#)),
        InputError::InvalidField { field, .. } if field == "timestamp"));
    assert!(matches!(error_of(&with("type", r#""gift""#)),
        InputError::InvalidField { field, .. } if field == "type"));
    assert!(matches!(error_of(&with("merchant.lat", "95.0")),
        InputError::InvalidField { field, .. } if field == "merchant.lat"));
}

#[test]
fn refunds_must_name_their_original() {
    assert_eq!(
        error_of(&with("type", r#""refund""#)),
        InputError::MissingField("original_txn_id".into())
    );
}

#[test]
fn structural_errors_have_their_own_kinds() {
    assert_eq!(error_of("{not json").kind(), "malformed_json");
    assert_eq!(error_of("[1,2]").kind(), "not_an_object");
    assert_eq!(
        decode_transaction(&[0xff, 0xfe], 4096).unwrap_err().kind(),
        "not_utf8"
    );
    assert_eq!(
        decode_transaction(VALID.as_bytes(), 100).unwrap_err(),
        InputError::Oversized {
            size: VALID.len(),
            limit: 100
        }
    );
}

#[test]
fn raw_card_numbers_are_rejected_and_masked() {
    match error_of(&with("card_token", r#""4111111111111111""#)) {
        InputError::RawPan { masked } => assert_eq!(masked, "************1111"),
        other => panic!("unexpected {other:?}"),
    }
}
