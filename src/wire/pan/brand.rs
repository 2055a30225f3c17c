//! Card brands: which leading digits (IIN ranges) and lengths make a card number, the Luhn
//! check, and the test numbers the brands and their processors publish.

/// A brand's IIN range: numbers whose first `width` digits are within `low..=high`, with one
/// of `lengths`.
struct Range {
    low: u32,
    high: u32,
    width: usize,
    lengths: &'static [usize],
}

const fn range(low: u32, high: u32, width: usize, lengths: &'static [usize]) -> Range {
    Range {
        low,
        high,
        width,
        lengths,
    }
}

const SIXTEEN_TO_NINETEEN: &[usize] = &[16, 17, 18, 19];
const FOURTEEN_TO_NINETEEN: &[usize] = &[14, 15, 16, 17, 18, 19];
const THIRTEEN_TO_NINETEEN: &[usize] = &[13, 14, 15, 16, 17, 18, 19];

/// The ranges of Visa, Mastercard (with the 2-series), American Express, Discover, JCB,
/// UnionPay, Maestro, Diners Club, Mir and RuPay.
const RANGES: &[Range] = &[
    range(4, 4, 1, &[13, 16, 19]),              // Visa
    range(51, 55, 2, &[16]),                    // Mastercard
    range(2221, 2720, 4, &[16]),                // Mastercard 2-series
    range(34, 34, 2, &[15]),                    // American Express
    range(37, 37, 2, &[15]),                    // American Express
    range(6011, 6011, 4, SIXTEEN_TO_NINETEEN),  // Discover
    range(644, 649, 3, SIXTEEN_TO_NINETEEN),    // Discover
    range(65, 65, 2, SIXTEEN_TO_NINETEEN),      // Discover, RuPay
    range(3528, 3589, 4, SIXTEEN_TO_NINETEEN),  // JCB
    range(62, 62, 2, SIXTEEN_TO_NINETEEN),      // UnionPay
    range(81, 82, 2, SIXTEEN_TO_NINETEEN),      // UnionPay, RuPay
    range(50, 50, 2, THIRTEEN_TO_NINETEEN),     // Maestro
    range(56, 69, 2, THIRTEEN_TO_NINETEEN),     // Maestro
    range(300, 305, 3, FOURTEEN_TO_NINETEEN),   // Diners Club
    range(3095, 3095, 4, FOURTEEN_TO_NINETEEN), // Diners Club
    range(36, 36, 2, FOURTEEN_TO_NINETEEN),     // Diners Club
    range(38, 39, 2, FOURTEEN_TO_NINETEEN),     // Diners Club
    range(2200, 2204, 4, SIXTEEN_TO_NINETEEN),  // Mir
];

/// Test card numbers the brands and large processors publish for integration testing. They
/// are the first numbers anyone tries, and a production feed carrying one is misrouted test
/// traffic, so they are refused even where numeric identifiers are otherwise accepted.
const PUBLISHED_TEST_NUMBERS: &[&str] = &[
    // Visa
    "4111111111111111",
    "4012888888881881",
    "4222222222222",
    "4242424242424242",
    "4000056655665556",
    "4005519200000004",
    "4009348888881881",
    "4012000033330026",
    "4012000077777777",
    "4217651111111119",
    "4500600000000061",
    "4988438843884305",
    "4444333322221111",
    "4917610000000000",
    "4000000000000002",
    "4263970000005262",
    // Mastercard
    "5555555555554444",
    "5105105105105100",
    "5200828282828210",
    "5454545454545454",
    "5425233430109903",
    "5500000000000004",
    "5101180000000007",
    "2223003122003222",
    "2221000000000009",
    "2223000048410010",
    "2222400070000005",
    // American Express
    "378282246310005",
    "371449635398431",
    "378734493671000",
    "370000000000002",
    "340000000000009",
    // Discover
    "6011111111111117",
    "6011000990139424",
    "6011000000000004",
    "6011601160116611",
    "6445644564456445",
    // JCB
    "3530111333300000",
    "3566002020360505",
    "3566111111111113",
    "3528000000000007",
    // UnionPay
    "6200000000000005",
    "6200000000000047",
    "6205500000000000004",
    "6250941006528599",
    // Maestro
    "6759649826438453",
    "6799990100000000019",
    "6304000000000000",
    "5018000000000009",
    "6771798021000008",
    // Diners Club
    "30569309025904",
    "38520000023237",
    "36227206271667",
    "36148900647913",
];

/// Whether `digits` (ASCII) is a card number: a brand's range and length, and the Luhn check.
pub fn is_card_number(digits: &[u8]) -> bool {
    in_brand_range(digits) && luhn_valid(digits)
}

/// Whether `digits` is one of [`PUBLISHED_TEST_NUMBERS`].
pub fn is_published_test(digits: &[u8]) -> bool {
    PUBLISHED_TEST_NUMBERS
        .iter()
        .any(|number| number.as_bytes() == digits)
}

fn in_brand_range(digits: &[u8]) -> bool {
    RANGES.iter().any(|range| {
        range.lengths.contains(&digits.len())
            && digits.get(..range.width).is_some_and(|prefix| {
                let prefix = prefix
                    .iter()
                    .fold(0_u32, |value, digit| value * 10 + u32::from(digit - b'0'));
                (range.low..=range.high).contains(&prefix)
            })
    })
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, digit)| {
            let value = u32::from(digit - b'0');
            match (position % 2 == 1, value * 2) {
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
                (false, _) => value,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_published_test_number_is_a_card_number_of_its_brand() {
        for number in PUBLISHED_TEST_NUMBERS {
            assert!(is_card_number(number.as_bytes()), "{number}");
        }
    }

    #[test]
    fn brand_ranges_and_lengths_decide_before_luhn() {
        // Luhn-valid, but no brand issues these.
        for number in ["1234567812345670", "9999999999999995", "7000000000000005"] {
            assert!(luhn_valid(number.as_bytes()), "{number} should pass Luhn");
            assert!(!is_card_number(number.as_bytes()), "{number}");
        }
        // American Express is 15 digits, never 16.
        assert!(!is_card_number(b"3782822463100056"));
        assert!(!is_card_number(b"4111111111111112"), "fails Luhn");
    }
}
