//! Primary account numbers (card numbers): detection and masking.
//!
//! A PAN is 13 to 19 digits that pass the Luhn check, written either as one run of digits or
//! in groups of four separated by single spaces or dashes. Runs glued to other digits, letters
//! or decimal points do not count, so ids, timestamps and amounts are not mistaken for cards.

use std::ops::Range;

/// Byte ranges of every PAN in `bytes` (any encoding that writes digits as ASCII).
pub fn find_pans(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        if bytes[start].is_ascii_digit() && at_boundary(bytes, start.wrapping_sub(1)) {
            if let Some(end) = pan_at(bytes, start) {
                found.push(start..end);
                start = end;
                continue;
            }
        }
        start += 1;
    }
    found
}

/// `bytes` with every digit of each PAN but the last four replaced by `*`.
pub fn mask_pans(bytes: &[u8]) -> Vec<u8> {
    let mut masked = bytes.to_vec();
    for range in find_pans(bytes) {
        let digit_positions: Vec<usize> = range.filter(|&i| masked[i].is_ascii_digit()).collect();
        for &i in &digit_positions[..digit_positions.len() - 4] {
            masked[i] = b'*';
        }
    }
    masked
}

/// The end of a PAN starting at `start`, if there is one.
fn pan_at(bytes: &[u8], start: usize) -> Option<usize> {
    let run = bytes[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if (13..=19).contains(&run) && at_boundary(bytes, start + run) {
        return luhn_valid(&bytes[start..start + run]).then_some(start + run);
    }
    grouped_pan_at(bytes, start)
}

/// A PAN written as `dddd dddd dddd dddd` (or with dashes), optionally with a fifth group of 1-3.
fn grouped_pan_at(bytes: &[u8], start: usize) -> Option<usize> {
    let mut digits = Vec::with_capacity(19);
    let mut at = start;
    let mut separator = None;
    loop {
        let group = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let full_group = group == 4;
        let last_group = digits.len() == 16 && (1..=3).contains(&group);
        if !(full_group || last_group) {
            return None;
        }
        digits.extend_from_slice(&bytes[at..at + group]);
        at += group;
        let next = bytes.get(at).copied();
        let continues = digits.len() < 19
            && matches!(next, Some(b' ' | b'-'))
            && separator.is_none_or(|s| Some(s) == next)
            && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
        if last_group || !continues {
            break;
        }
        separator = next;
        at += 1;
    }
    ((13..=19).contains(&digits.len()) && at_boundary(bytes, at) && luhn_valid(&digits))
        .then_some(at)
}

/// Whether the byte at `index` (or past either end) does not extend a number.
fn at_boundary(bytes: &[u8], index: usize) -> bool {
    bytes
        .get(index)
        .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'.' || *b == b'_'))
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_masks_plain_and_grouped_pans() {
        let text = r#"{"card_token":"4111111111111111","note":"4012-8888-8888-1881 or 5555 5555 5555 4444"}"#;
        assert_eq!(find_pans(text.as_bytes()).len(), 3);
        let masked = String::from_utf8(mask_pans(text.as_bytes())).unwrap();
        assert!(masked.contains("************1111"));
        assert!(masked.contains("****-****-****-1881"));
        assert!(masked.contains("**** **** **** 4444"));
    }

    #[test]
    fn ignores_ids_dates_amounts_and_non_luhn_runs() {
        for text in [
            r#"{"txn_id":"T-20261122-000001","timestamp":"2026-11-22T10:15:30Z"}"#,
            r#"{"amount":"4111111111111111.50"}"#,
            r#"{"id":"X4111111111111111"}"#,
            r#"{"n":"4111111111111112"}"#,
            r#"{"lat":31.2304,"lon":121.4737}"#,
            "1234 5678 9012 3456",
        ] {
            assert!(
                find_pans(text.as_bytes()).is_empty(),
                "false positive in {text}"
            );
        }
    }

    #[test]
    fn mixed_separators_do_not_make_a_pan() {
        assert!(find_pans(b"4111 1111-1111 1111").is_empty());
    }

    #[test]
    fn masks_inside_bytes_that_are_not_utf8() {
        let masked = mask_pans(b"\xff\xfe4111111111111111\xff");
        assert_eq!(&masked[2..18], b"************1111");
    }
}
