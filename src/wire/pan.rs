//! Primary account numbers (card numbers): finding them wherever they hide in a message, and
//! masking them.
//!
//! A card number is 13 to 19 digits that pass the Luhn check and fall in a card brand's IIN
//! range with one of that brand's lengths (see [`brand`]), written as one run of digits or in
//! card groups (`4-4-4-4`, `4-4-4-4-1..3`, `4-6-5`, `4-6-4`) separated by single spaces or
//! dashes. Other digits right beside it, or a decimal point with digits, make it part of a
//! larger number, which is not a card.
//!
//! The payload is read once, as JSON where it is JSON and as text where it is not. Strings are
//! read as decoded, so `\u0034` and fullwidth digits count as digits; every decoded character
//! keeps the span of raw bytes it came from, so masking replaces exactly what was found.
//! Where a number stands decides how it is judged:
//!
//! - in keys, free text and any field that is not an identifier, a card number counts wherever
//!   it stands, glued to letters or not (`tok_4111111111111111`);
//! - in identifier fields ([`is_identifier_key`]: `merchant.id`, `terminal_id`, `rrn`, ...),
//!   numeric ids are the norm and random ones pass the brand and Luhn checks about one time in
//!   two hundred, so a bare run there counts only when it is one of the brands' published test
//!   numbers; written in card groups it always counts.

mod brand;

use std::ops::Range;

/// A card number found in a payload: the raw byte span of each of its digits, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pan {
    pub digits: Vec<Range<usize>>,
}

impl Pan {
    /// The raw bytes from its first digit to its last.
    pub fn span(&self) -> Range<usize> {
        let start = self.digits.first().map_or(0, |digit| digit.start);
        let end = self.digits.last().map_or(0, |digit| digit.end);
        start..end
    }

    /// Raw spans of the digits to hide: all but the last four.
    fn hidden(&self) -> &[Range<usize>] {
        &self.digits[..self.digits.len().saturating_sub(4)]
    }
}

/// The bytes that end a bare token: JSON's structural characters and the quote.
const STRUCTURAL: &[u8] = b"\"{}[]:,";

/// How a value is judged, from the key it stands under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Text,
    Identifier,
}

/// Every card number in `bytes` (JSON or not, UTF-8 or not).
pub fn find_pans(bytes: &[u8]) -> Vec<Pan> {
    if !may_hold_a_pan(bytes) {
        return Vec::new();
    }
    read_pans(bytes)
}

/// Whether `bytes` could hold a card number at all, from one pass over the raw bytes: every
/// input goes through [`find_pans`], and nearly none holds one.
///
/// In plain ASCII without escapes every character is the byte it was written as, so a card
/// number is at least 13 digits in a row, each group after the first following a single
/// space or dash. With none such, there is none; anything else (an escape, a byte that is not
/// ASCII and so could be a fullwidth digit) is left to the full reading.
fn may_hold_a_pan(bytes: &[u8]) -> bool {
    let mut digits = 0;
    let mut after_separator = false;
    for &byte in bytes {
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                if digits >= 13 {
                    return true;
                }
                after_separator = false;
            }
            b' ' | b'-' if digits > 0 && !after_separator => after_separator = true,
            b'\\' | 0x80..=0xff => return true,
            _ => {
                digits = 0;
                after_separator = false;
            }
        }
    }
    false
}

/// [`find_pans`] without the shortcut: the payload read as JSON where it is JSON.
fn read_pans(bytes: &[u8]) -> Vec<Pan> {
    let mut found = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut text = Decoded::default();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                at = text.read_string(bytes, at + 1);
                match frames.last_mut() {
                    Some(frame) if frame.expects_key => {
                        scan(&text, Class::Text, &mut found);
                        frame.value_class = classify_key(&text.chars);
                    }
                    _ => scan(&text, class_of(&frames), &mut found),
                }
            }
            b'{' => {
                frames.push(Frame {
                    expects_key: true,
                    object: true,
                    value_class: Class::Text,
                });
                at += 1;
            }
            b'[' => {
                let inherited = class_of(&frames);
                frames.push(Frame {
                    expects_key: false,
                    object: false,
                    value_class: inherited,
                });
                at += 1;
            }
            b'}' | b']' => {
                frames.pop();
                at += 1;
            }
            b':' => {
                if let Some(frame) = frames.last_mut() {
                    frame.expects_key = false;
                }
                at += 1;
            }
            b',' => {
                if let Some(frame) = frames.last_mut() {
                    frame.expects_key = frame.object;
                }
                at += 1;
            }
            _ => {
                // Outside strings: numbers and literals in JSON, anything at all in text.
                at = text.read_bare(bytes, at);
                scan(&text, class_of(&frames), &mut found);
            }
        }
    }
    found
}

/// `bytes` with every digit of each card number but the last four replaced by `*` (an escape
/// sequence or a multi-byte digit becomes one `*`).
pub fn mask_pans(bytes: &[u8]) -> Vec<u8> {
    let pans = find_pans(bytes);
    let mut hidden: Vec<&Range<usize>> = pans.iter().flat_map(Pan::hidden).collect();
    hidden.sort_by_key(|range| range.start);
    masked(bytes, 0..bytes.len(), hidden)
}

/// The raw text of `pan` as found in `bytes`, masked, for an error message.
pub fn masked_span(bytes: &[u8], pan: &Pan) -> String {
    String::from_utf8_lossy(&masked(bytes, pan.span(), pan.hidden())).into_owned()
}

/// `bytes[span]` with each of the `hidden` ranges (in order, inside `span`) replaced by `*`.
fn masked<'a>(
    bytes: &[u8],
    span: Range<usize>,
    hidden: impl IntoIterator<Item = &'a Range<usize>>,
) -> Vec<u8> {
    let mut masked = Vec::with_capacity(span.len());
    let mut copied = span.start;
    for range in hidden {
        masked.extend_from_slice(&bytes[copied..range.start]);
        masked.push(b'*');
        copied = range.end;
    }
    masked.extend_from_slice(&bytes[copied..span.end]);
    masked
}

/// Whether values under `key` are identifiers: its last word names an id or reference, and no
/// word of it names a card or account.
pub fn is_identifier_key(key: &str) -> bool {
    classify_key(key.as_bytes()) == Class::Identifier
}

fn classify_key(key: &[u8]) -> Class {
    const CARD_WORDS: [&str; 8] = [
        "card", "pan", "acct", "account", "track", "track1", "track2", "cc",
    ];
    const ID_WORDS: [&str; 11] = [
        "id",
        "ids",
        "ref",
        "reference",
        "rrn",
        "arn",
        "stan",
        "number",
        "num",
        "no",
        "code",
    ];
    let is_one_of = |word: &[u8], list: &[&str]| {
        list.iter()
            .any(|listed| word.eq_ignore_ascii_case(listed.as_bytes()))
    };
    let mut last = None;
    for word in key_words(key) {
        if is_one_of(word, &CARD_WORDS) {
            return Class::Text;
        }
        last = Some(word);
    }
    match last {
        Some(last) if is_one_of(last, &ID_WORDS) => Class::Identifier,
        _ => Class::Text,
    }
}

/// A key's words, as slices of it: split at anything not a letter or digit and where a
/// lower-case letter meets an upper-case one (`merchantId` is `merchant`, `Id`). Compared
/// without regard to case, and without allocating: every key of every message passes here.
fn key_words(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < key.len() && !key[at].is_ascii_alphanumeric() {
            at += 1;
        }
        if at == key.len() {
            return None;
        }
        let start = at;
        at += 1;
        while at < key.len() && key[at].is_ascii_alphanumeric() {
            let previous_lower = key[at - 1].is_ascii_lowercase() || key[at - 1].is_ascii_digit();
            if key[at].is_ascii_uppercase() && previous_lower {
                break;
            }
            at += 1;
        }
        Some(&key[start..at])
    })
}

/// One open object or array while reading.
struct Frame {
    object: bool,
    expects_key: bool,
    /// How the values of the latest key (or of the array's elements) are judged.
    value_class: Class,
}

fn class_of(frames: &[Frame]) -> Class {
    frames.last().map_or(Class::Text, |frame| frame.value_class)
}

/// Decoded characters, digits as ASCII and anything else that is not ASCII as `x`, each with
/// the raw bytes it came from.
#[derive(Default)]
struct Decoded {
    chars: Vec<u8>,
    spans: Vec<Range<usize>>,
    /// Set when the text was plain ASCII with no escape, read straight from this raw offset:
    /// each character is then the one byte at its position, and `spans` stays empty.
    plain_from: Option<usize>,
}

impl Decoded {
    fn push(&mut self, char: u8, span: Range<usize>) {
        self.chars.push(char);
        self.spans.push(span);
    }

    /// The raw bytes the character at `index` came from.
    fn span(&self, index: usize) -> Range<usize> {
        match self.plain_from {
            Some(start) => start + index..start + index + 1,
            None => self.spans[index].clone(),
        }
    }

    fn clear(&mut self) {
        self.chars.clear();
        self.spans.clear();
        self.plain_from = None;
    }

    /// Takes `bytes[at..end]`, plain ASCII with no escape (nearly every string is), as it is:
    /// one copy instead of a decoding step and a span per character.
    fn take_plain(&mut self, bytes: &[u8], at: usize, end: usize) {
        self.chars.extend_from_slice(&bytes[at..end]);
        self.plain_from = Some(at);
    }

    /// Reads a JSON string whose content starts at `at`; returns where reading goes on.
    fn read_string(&mut self, bytes: &[u8], mut at: usize) -> usize {
        self.clear();
        let stop = bytes[at..]
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || !byte.is_ascii())
            .map(|offset| at + offset);
        if let Some(end) = stop.filter(|&end| bytes[end] == b'"') {
            self.take_plain(bytes, at, end);
            return end + 1;
        }
        while at < bytes.len() {
            match bytes[at] {
                b'"' => return at + 1,
                b'\\' => at = self.read_escape(bytes, at),
                _ => at = self.read_char(bytes, at),
            }
        }
        at
    }

    /// Reads what stands between JSON's structural characters, from `at`.
    fn read_bare(&mut self, bytes: &[u8], mut at: usize) -> usize {
        self.clear();
        let stop = bytes[at..]
            .iter()
            .position(|byte| STRUCTURAL.contains(byte) || !byte.is_ascii())
            .map_or(bytes.len(), |offset| at + offset);
        if bytes.get(stop).is_none_or(|byte| byte.is_ascii()) {
            self.take_plain(bytes, at, stop);
            return stop;
        }
        while at < bytes.len() && !STRUCTURAL.contains(&bytes[at]) {
            at = self.read_char(bytes, at);
        }
        at
    }

    fn read_escape(&mut self, bytes: &[u8], at: usize) -> usize {
        match bytes.get(at + 1) {
            Some(b'u') => {
                let code = bytes
                    .get(at + 2..at + 6)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok());
                match code {
                    Some(code) => {
                        self.push(normalise(code), at..at + 6);
                        at + 6
                    }
                    None => {
                        self.push(b'x', at..at + 2);
                        at + 2
                    }
                }
            }
            Some(b'n' | b't' | b'r' | b'b' | b'f') => {
                self.push(b'\n', at..at + 2);
                at + 2
            }
            Some(&escaped) => {
                self.push(escaped, at..at + 2);
                at + 2
            }
            None => at + 1,
        }
    }

    fn read_char(&mut self, bytes: &[u8], at: usize) -> usize {
        let width = match bytes[at] {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1,
        };
        let end = (at + width).min(bytes.len());
        let char = match std::str::from_utf8(&bytes[at..end]) {
            Ok(text) if width > 1 => text.chars().next().map_or(b'x', |c| normalise(c.into())),
            Ok(_) => bytes[at],
            Err(_) => {
                self.push(b'x', at..at + 1);
                return at + 1;
            }
        };
        self.push(char, at..end);
        end
    }
}

/// A code point as the scanner sees it: digits (ASCII or fullwidth) as ASCII digits, other ASCII
/// as itself, anything else as a letter.
fn normalise(code: u32) -> u8 {
    match code {
        0xff10..=0xff19 => b'0' + (code - 0xff10) as u8,
        0..=0x7f => code as u8,
        _ => b'x',
    }
}

/// Adds the card numbers in `text` to `found`.
fn scan(text: &Decoded, class: Class, found: &mut Vec<Pan>) {
    let chars = &text.chars;
    // Nearly every string has too few digits to hold a card number: skip it without allocating.
    if chars.iter().filter(|c| c.is_ascii_digit()).count() < 13 {
        return;
    }
    let runs = digit_runs(chars);
    let mut candidates: Vec<Vec<usize>> = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        if (13..=19).contains(&run.len()) && !in_decimal(chars, run) {
            candidates.push(run.clone().collect());
        }
        // Card groups starting at this run, each separated from the last by one separator.
        let mut groups = vec![run.clone()];
        // A card has at most five groups, so the walk is bounded whatever the text.
        for next in runs[index + 1..].iter().take(4) {
            let last = groups.last().map_or(0..0, Clone::clone);
            let Some(&separator) = chars.get(last.end) else {
                break;
            };
            let consistent = groups.len() < 2 || chars[groups[1].start - 1] == separator;
            if next.start != last.end + 1 || !matches!(separator, b' ' | b'-') || !consistent {
                break;
            }
            groups.push(next.clone());
            if card_grouping(&groups) {
                candidates.push(groups.iter().flat_map(Clone::clone).collect());
            }
        }
    }
    for positions in candidates {
        let digits: Vec<u8> = positions.iter().map(|&at| chars[at]).collect();
        let grouped = positions.len() != positions.last().map_or(0, |last| last + 1) - positions[0];
        let counts = match class {
            Class::Text => brand::is_card_number(&digits),
            Class::Identifier => {
                (grouped && brand::is_card_number(&digits)) || brand::is_published_test(&digits)
            }
        };
        let spans: Vec<Range<usize>> = positions.iter().map(|&at| text.span(at)).collect();
        let overlaps = found
            .iter()
            .any(|pan| pan.digits.iter().any(|digit| spans.contains(digit)));
        if counts && !overlaps {
            found.push(Pan { digits: spans });
        }
    }
}

/// Maximal runs of digits in `chars`.
fn digit_runs(chars: &[u8]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        if chars[at].is_ascii_digit() {
            let start = at;
            while at < chars.len() && chars[at].is_ascii_digit() {
                at += 1;
            }
            runs.push(start..at);
        } else {
            at += 1;
        }
    }
    runs
}

/// Whether the run is the whole or fractional part of a decimal number (`.` with digits).
fn in_decimal(chars: &[u8], run: &Range<usize>) -> bool {
    let digit_at = |at: usize| chars.get(at).is_some_and(u8::is_ascii_digit);
    let before = run.start >= 2 && chars[run.start - 1] == b'.' && digit_at(run.start - 2);
    let after = chars.get(run.end) == Some(&b'.') && digit_at(run.end + 1);
    before || after
}

/// Whether the group lengths are how cards are written: fours with a short last group, or
/// the 4-6-5 and 4-6-4 of Amex and Diners.
fn card_grouping(groups: &[Range<usize>]) -> bool {
    let lengths: Vec<usize> = groups.iter().map(ExactSizeIterator::len).collect();
    let total: usize = lengths.iter().sum();
    let fours = match lengths.split_last() {
        Some((last, rest)) => rest.iter().all(|&len| len == 4) && (1..=4).contains(last),
        None => false,
    };
    (13..=19).contains(&total) && (fours || lengths == [4, 6, 5] || lengths == [4, 6, 4])
}

#[cfg(test)]
mod tests;
