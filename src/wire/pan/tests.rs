use super::*;

fn masked(text: &str) -> String {
    String::from_utf8(mask_pans(text.as_bytes())).unwrap()
}

fn found(text: &str) -> usize {
    find_pans(text.as_bytes()).len()
}

#[test]
fn finds_and_masks_plain_and_grouped_pans() {
    let text =
        r#"{"card_token":"4111111111111111","note":"4012-8888-8888-1881 or 5555 5555 5555 4444"}"#;
    assert_eq!(found(text), 3);
    let masked = masked(text);
    assert!(masked.contains("************1111"));
    assert!(masked.contains("****-****-****-1881"));
    assert!(masked.contains("**** **** **** 4444"));
}

#[test]
fn every_brand_is_found_plain_escaped_grouped_and_embedded_in_free_fields() {
    for number in [
        "4111111111111111",    // Visa
        "5555555555554444",    // Mastercard
        "2223003122003222",    // Mastercard 2-series
        "378282246310005",     // American Express
        "6011111111111117",    // Discover
        "3530111333300000",    // JCB
        "6200000000000005",    // UnionPay
        "6759649826438453",    // Maestro
        "30569309025904",      // Diners Club
        "6799990100000000019", // 19 digits
    ] {
        let escaped: String = number
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 3 == 0 {
                    format!("\\u003{c}")
                } else {
                    c.to_string()
                }
            })
            .collect();
        let grouped = match number.len() {
            15 => format!("{} {} {}", &number[..4], &number[4..10], &number[10..]),
            14 => format!("{} {} {}", &number[..4], &number[4..10], &number[10..]),
            _ => number
                .as_bytes()
                .chunks(4)
                .map(|chunk| std::str::from_utf8(chunk).unwrap())
                .collect::<Vec<_>>()
                .join("-"),
        };
        for payload in [
            format!(r#"{{"card_token":"{number}"}}"#),
            format!(r#"{{"card_token":"tok_{number}"}}"#),
            format!(r#"{{"card_token":"{escaped}"}}"#),
            format!(r#"{{"merchant":{{"name":"Shop {escaped} Ltd"}}}}"#),
            format!(r#"{{"merchant":{{"city":"{grouped}"}}}}"#),
            format!(r#"{{"extra":[{{"pan":{number}}}]}}"#),
            format!(r#"{{"{number}":1}}"#),
            format!("not json at all: {grouped}"),
        ] {
            assert_eq!(found(&payload), 1, "{payload}");
            let masked = masked(&payload);
            assert_eq!(found(&masked), 0, "{payload} masked as {masked}");
            assert!(masked.contains("****"), "{masked}");
        }
    }
}

#[test]
fn published_test_numbers_are_found_even_in_identifier_fields() {
    for payload in [
        r#"{"merchant":{"id":"4111111111111111"}}"#,
        r#"{"txn_id":"T-5555555555554444"}"#,
        r#"{"member_id":"\u0036200000000000005"}"#,
        r#"{"terminal_id":4242424242424242}"#,
    ] {
        assert_eq!(found(payload), 1, "{payload}");
    }
}

#[test]
fn numeric_identifiers_are_ids_unless_written_as_a_card() {
    // Luhn-valid and in a brand's range, but standing as ids.
    for payload in [
        r#"{"merchant":{"id":"MER-3527213246127876953"}}"#,
        r#"{"merchant":{"id":"4556737586899855"}}"#,
        r#"{"terminal_id":"4556737586899855","rrn":"5105105105105100999"}"#,
        r#"{"acquirerReferenceNumber":"4556737586899855"}"#,
    ] {
        assert_eq!(found(payload), 0, "{payload}");
    }
    assert_eq!(found(r#"{"merchant":{"id":"4556 7375 8689 9855"}}"#), 1);
    // A card word in the key makes it free text whatever its last word.
    assert_eq!(found(r#"{"card_number":"4556737586899855"}"#), 1);
    assert_eq!(found(r#"{"account_id":"4556737586899855"}"#), 1);
}

#[test]
fn ignores_dates_amounts_coordinates_longer_runs_and_non_luhn_numbers() {
    for text in [
        r#"{"txn_id":"T-20261122-000001","timestamp":"2026-11-22T10:15:30Z"}"#,
        r#"{"amount":"4111111111111111.50"}"#,
        r#"{"note":"0.4111111111111111"}"#,
        r#"{"note":"41111111111111110"}"#,
        r#"{"n":"4111111111111112"}"#,
        r#"{"lat":31.2304,"lon":121.4737}"#,
        "1234 5678 9012 3456",
        "4111 1111-1111 1111",
    ] {
        assert_eq!(found(text), 0, "false positive in {text}");
    }
}

#[test]
fn masks_inside_bytes_that_are_not_utf8() {
    let masked = mask_pans(b"\xff\xfe4111111111111111\xff");
    assert_eq!(&masked[2..18], b"************1111");
}

#[test]
fn an_escaped_pan_is_masked_escape_and_all_and_stays_json() {
    let payload = r#"{"card_token":"\u0034111111111111111"}"#;
    let masked = masked(payload);
    assert_eq!(masked, r#"{"card_token":"************1111"}"#);
    let pan = &find_pans(payload.as_bytes())[0];
    assert_eq!(masked_span(payload.as_bytes(), pan), "************1111");
}

#[test]
fn fullwidth_digits_are_digits() {
    let payload = "{\"note\":\"４１１１１１１１１１１１１１１１\"}";
    assert_eq!(found(payload), 1);
    assert!(masked(payload).contains("************１１１１"));
}

#[test]
fn key_words_split_at_case_and_punctuation() {
    assert!(is_identifier_key("merchantId"));
    assert!(is_identifier_key("terminal_id"));
    assert!(is_identifier_key("reference-number"));
    assert!(!is_identifier_key("company_name"));
    assert!(!is_identifier_key("cardId"));
    assert!(
        !is_identifier_key("company"),
        "`pan` inside a word is not a word"
    );
}

#[test]
fn long_runs_of_short_groups_are_scanned_in_linear_time() {
    let text = "1 ".repeat(40_000);
    assert_eq!(found(&text), 0);
}

/// The decoded digits of each card number found in `payload`.
fn found_digits(payload: &str) -> Vec<String> {
    let escaped_digit = |raw: &str| match raw.strip_prefix("\\u00") {
        Some(hex) => char::from(u8::from_str_radix(hex, 16).unwrap()).to_string(),
        None => raw.to_owned(),
    };
    find_pans(payload.as_bytes())
        .iter()
        .map(|pan| {
            pan.digits
                .iter()
                .map(|span| escaped_digit(&payload[span.clone()]))
                .collect()
        })
        .collect()
}

proptest::proptest! {
    /// Plain ASCII strings are read straight from the raw bytes; the same text with every
    /// character escaped goes through the decoding path. Both must find the same numbers.
    #[test]
    fn plain_text_and_its_escaped_form_hold_the_same_card_numbers(
        text in "[0-9 .a-]{0,60}(4111[ -]?1111[ -]?1111[ -]?1111)?[0-9 .a-]{0,20}"
    ) {
        let escaped: String = text.chars().map(|c| format!("\\u{:04x}", u32::from(c))).collect();
        let plain = found_digits(&format!(r#"{{"note":"{text}"}}"#));
        let decoded = found_digits(&format!(r#"{{"note":"{escaped}"}}"#));
        proptest::prop_assert_eq!(plain, decoded);
    }

    /// The shortcut that passes over payloads without a long enough run of digits never
    /// passes over one the full reading finds a card number in: near misses (runs of 12,
    /// double separators, decimals, digits split by quotes) stand beside whole numbers.
    #[test]
    fn the_shortcut_never_hides_a_card_number(
        text in r#"([0-9]{1,7}|[ -]{1,2}|["{}:,\[\]._a]|4111111111111111|5555 5555 5555 4444|4012-8888-8888-1881|378282246310005){0,24}"#
    ) {
        proptest::prop_assert_eq!(find_pans(text.as_bytes()), read_pans(text.as_bytes()));
    }
}

#[test]
fn the_shortcut_reads_only_what_cannot_hold_a_card_number() {
    assert!(!may_hold_a_pan(
        br#"{"amount":"123456.789012","at":"2026-11-23T10:00:00Z"}"#
    ));
    assert!(!may_hold_a_pan(b"41111111111 1 x 4111111111"));
    assert!(!may_hold_a_pan(b"4111-1111-1111--1111"));
    assert!(may_hold_a_pan(b"4111-1111-1111-1"));
    assert!(may_hold_a_pan(b"tok_4111111111111111"));
    assert!(may_hold_a_pan(br#"{"note":"\u0034"}"#));
    assert!(may_hold_a_pan("\u{ff14}".as_bytes()));
}

#[test]
fn key_words_are_the_letters_and_digits_between_separators_and_case_changes() {
    let words = |key: &str| -> Vec<String> {
        key_words(key.as_bytes())
            .map(|word| String::from_utf8(word.to_vec()).unwrap())
            .collect()
    };
    assert_eq!(words("merchantId"), ["merchant", "Id"]);
    assert_eq!(words("__terminal--ID9x__"), ["terminal", "ID9x"]);
    assert_eq!(words("track2Data"), ["track2", "Data"]);
    assert_eq!(words("URLPath"), ["URLPath"]);
    assert!(words("_-_").is_empty());
}
