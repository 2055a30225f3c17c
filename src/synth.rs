//! A deterministic synthetic transaction stream: many cards and members, merchants at home and
//! abroad, several currencies, authorizations with their clearings, refunds and reversals, a
//! few fraud bursts and a sprinkling of bad messages. The same spec always gives the same bytes.

use rust_decimal::Decimal;
use serde_json::json;
use std::collections::VecDeque;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// What to generate.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub seed: u64,
    /// Transaction ids are `<prefix>-<sequence>`.
    pub txn_prefix: String,
    pub transactions: usize,
    pub cards: usize,
    /// The first card's number: streams with cards of their own (and so members of their own)
    /// start apart by at least the other's `cards`.
    pub first_card: usize,
    /// One message in this many is malformed in some way (0: none).
    pub bad_every: usize,
    /// One burst of rapid spending on a single card per this many transactions (0: none).
    pub burst_every: usize,
    pub start: OffsetDateTime,
}

impl Default for StreamSpec {
    fn default() -> Self {
        StreamSpec {
            seed: 7,
            txn_prefix: "T".into(),
            transactions: 10_000,
            cards: 500,
            first_card: 0,
            bad_every: 100,
            burst_every: 1_000,
            start: time::macros::datetime!(2026-11-22 00:00 UTC),
        }
    }
}

/// One message for the transactions topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticMessage {
    /// The card token (the partitioning key).
    pub key: String,
    pub payload: Vec<u8>,
}

struct Merchant {
    id: &'static str,
    name: &'static str,
    mcc: &'static str,
    country: &'static str,
    city: &'static str,
    currency: &'static str,
    lat: f64,
    lon: f64,
}

const MERCHANTS: &[Merchant] = &[
    Merchant {
        id: "MER-5521",
        name: "Fresh Mart",
        mcc: "5411",
        country: "CN",
        city: "Shanghai",
        currency: "CNY",
        lat: 31.2304,
        lon: 121.4737,
    },
    Merchant {
        id: "MER-1002",
        name: "Jade Garden",
        mcc: "5812",
        country: "CN",
        city: "Beijing",
        currency: "CNY",
        lat: 39.9042,
        lon: 116.4074,
    },
    Merchant {
        id: "MER-2210",
        name: "Metro Fuel",
        mcc: "5541",
        country: "CN",
        city: "Shenzhen",
        currency: "CNY",
        lat: 22.5431,
        lon: 114.0579,
    },
    Merchant {
        id: "MER-3307",
        name: "Pearl Electronics",
        mcc: "5732",
        country: "CN",
        city: "Guangzhou",
        currency: "CNY",
        lat: 23.1291,
        lon: 113.2644,
    },
    Merchant {
        id: "MER-4410",
        name: "Book Corner",
        mcc: "5942",
        country: "CN",
        city: "Hangzhou",
        currency: "CNY",
        lat: 30.2741,
        lon: 120.1551,
    },
    Merchant {
        id: "MER-7011",
        name: "Harbour Hotel",
        mcc: "7011",
        country: "HK",
        city: "Hong Kong",
        currency: "HKD",
        lat: 22.3193,
        lon: 114.1694,
    },
    Merchant {
        id: "MER-8801",
        name: "Skyline Air",
        mcc: "4511",
        country: "SG",
        city: "Singapore",
        currency: "SGD",
        lat: 1.3521,
        lon: 103.8198,
    },
    Merchant {
        id: "MER-9120",
        name: "Ginza Select",
        mcc: "5311",
        country: "JP",
        city: "Tokyo",
        currency: "JPY",
        lat: 35.6762,
        lon: 139.6503,
    },
    Merchant {
        id: "MER-6630",
        name: "Cloud Apps",
        mcc: "5818",
        country: "US",
        city: "Seattle",
        currency: "USD",
        lat: 47.6062,
        lon: -122.3321,
    },
    Merchant {
        id: "MER-6631",
        name: "Rive Gauche",
        mcc: "5651",
        country: "FR",
        city: "Paris",
        currency: "EUR",
        lat: 48.8566,
        lon: 2.3522,
    },
];

/// SplitMix64: small, fast and stable across versions, which a seeded fixture needs.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A spend that a later message may clear, refund or reverse.
struct Open {
    txn_id: String,
    card: usize,
    amount_minor: u64,
    merchant: usize,
    is_authorization: bool,
}

/// Generates the stream described by `spec`.
pub fn generate(spec: &StreamSpec) -> Vec<SyntheticMessage> {
    let mut random = Random(spec.seed);
    let mut clock = spec.start;
    let mut open: VecDeque<Open> = VecDeque::new();
    let mut messages = Vec::with_capacity(spec.transactions);
    let mut burst: Option<(usize, usize)> = None;

    for sequence in 0..spec.transactions {
        let txn_id = format!("{}-{:08}", spec.txn_prefix, sequence + 1);
        clock += Duration::milliseconds(200 + random.below(4_000) as i64);

        if spec.bad_every > 0 && sequence % spec.bad_every == spec.bad_every / 2 {
            let card = spec.first_card + random.below(spec.cards);
            messages.push(bad_message(&mut random, &txn_id, card, clock));
            continue;
        }
        if spec.burst_every > 0 && sequence % spec.burst_every == 0 && sequence > 0 {
            burst = Some((spec.first_card + random.below(spec.cards), 8));
        }
        let message = if let Some((card, remaining)) = burst {
            burst = (remaining > 1).then_some((card, remaining - 1));
            clock += Duration::seconds(20);
            spend(&mut random, &txn_id, card, 0, false, clock, &mut open)
        } else {
            let roll = random.below(100);
            match (roll, open.is_empty()) {
                (0..=6, false) => follow_up(&mut random, &txn_id, clock, &mut open),
                (7..=13, _) => {
                    let card = spec.first_card + random.below(spec.cards);
                    spend(&mut random, &txn_id, card, card % 5, true, clock, &mut open)
                }
                _ => {
                    let card = spec.first_card + random.below(spec.cards);
                    // Cards mostly stay in their home city; now and then they travel.
                    let merchant = if random.chance(92) {
                        card % 5
                    } else {
                        random.below(MERCHANTS.len())
                    };
                    spend(
                        &mut random,
                        &txn_id,
                        card,
                        merchant,
                        false,
                        clock,
                        &mut open,
                    )
                }
            }
        };
        messages.push(message);
        while open.len() > 2_000 {
            open.pop_front();
        }
    }
    messages
}

fn card_token(card: usize) -> String {
    format!("tok_{card:06x}")
}

/// Every fifth card has no member link in its messages; the rest belong to two cards a member.
fn member_of(card: usize) -> Option<String> {
    (card % 5 != 4).then(|| format!("M-{:05}", card / 2))
}

fn money(minor: u64) -> String {
    Decimal::new(minor as i64, 2).to_string()
}

fn spend(
    random: &mut Random,
    txn_id: &str,
    card: usize,
    merchant: usize,
    is_authorization: bool,
    at: OffsetDateTime,
    open: &mut VecDeque<Open>,
) -> SyntheticMessage {
    let amount_minor = 500 + random.below(60_000) as u64;
    open.push_back(Open {
        txn_id: txn_id.to_owned(),
        card,
        amount_minor,
        merchant,
        is_authorization,
    });
    let kind = if is_authorization {
        "authorization"
    } else {
        "purchase"
    };
    message(
        txn_id,
        kind,
        card,
        merchant,
        amount_minor,
        None,
        at,
        random.chance(70),
    )
}

/// A clearing or reversal of an open authorization, or a refund of an earlier purchase.
fn follow_up(
    random: &mut Random,
    txn_id: &str,
    at: OffsetDateTime,
    open: &mut VecDeque<Open>,
) -> SyntheticMessage {
    let index = random.below(open.len());
    let original = open.remove(index).expect("index is in range");
    let (kind, amount_minor) = if original.is_authorization {
        if random.chance(85) {
            // Final amounts differ a little from authorized ones (tips, currency rounding).
            ("clearing", original.amount_minor + random.below(500) as u64)
        } else {
            ("reversal", original.amount_minor)
        }
    } else if random.chance(50) {
        ("refund", original.amount_minor)
    } else {
        (
            "refund",
            100 + random.below(original.amount_minor as usize - 100) as u64,
        )
    };
    message(
        txn_id,
        kind,
        original.card,
        original.merchant,
        amount_minor,
        Some(&original.txn_id),
        at,
        true,
    )
}

#[allow(clippy::too_many_arguments)]
fn message(
    txn_id: &str,
    kind: &str,
    card: usize,
    merchant_index: usize,
    amount_minor: u64,
    original: Option<&str>,
    at: OffsetDateTime,
    card_present: bool,
) -> SyntheticMessage {
    let merchant = &MERCHANTS[merchant_index];
    let mut body = json!({
        "txn_id": txn_id,
        "type": kind,
        "card_token": card_token(card),
        "program_id": "default",
        "amount": money(amount_minor),
        "currency": merchant.currency,
        "channel": if card_present { "chip" } else { "online" },
        "card_present": card_present,
        "merchant": {
            "id": merchant.id, "name": merchant.name, "mcc": merchant.mcc,
            "country": merchant.country, "city": merchant.city,
            "lat": merchant.lat, "lon": merchant.lon,
        },
        "timestamp": at.format(&Rfc3339).expect("times format"),
    });
    if let Some(member) = member_of(card) {
        body["member_id"] = member.into();
    }
    if let Some(original) = original {
        body["original_txn_id"] = original.into();
    }
    SyntheticMessage {
        key: card_token(card),
        payload: body.to_string().into_bytes(),
    }
}

/// A message that must end up in the dead-letter topic, one kind of fault after another.
fn bad_message(
    random: &mut Random,
    txn_id: &str,
    card: usize,
    at: OffsetDateTime,
) -> SyntheticMessage {
    let good = message(txn_id, "purchase", card, 0, 1_000, None, at, true);
    let text = String::from_utf8(good.payload.clone()).expect("generated JSON is UTF-8");
    let payload = match random.below(6) {
        0 => text[..text.len() / 2].to_owned(),
        1 => text.replace("\"amount\":\"10.00\"", "\"amount\":\"-10.00\""),
        2 => text.replace(&card_token(card), "4111111111111111"),
        3 => text.replace("\"currency\":\"CNY\"", "\"currency\":\"XTS\""),
        4 => text.replace(&format!("\"txn_id\":\"{txn_id}\","), ""),
        _ => format!("{{\"padding\":\"{}\"}}", "x".repeat(70 * 1024)),
    };
    SyntheticMessage {
        key: good.key,
        payload: payload.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::decode_transaction;

    #[test]
    fn same_spec_same_stream() {
        let spec = StreamSpec {
            transactions: 500,
            ..StreamSpec::default()
        };
        assert_eq!(generate(&spec), generate(&spec));
    }

    #[test]
    fn bad_messages_are_exactly_the_undecodable_ones() {
        let spec = StreamSpec {
            transactions: 2_000,
            ..StreamSpec::default()
        };
        let undecodable = generate(&spec)
            .iter()
            .filter(|m| decode_transaction(&m.payload, 64 * 1024).is_err())
            .count();
        // Every bad message but the unknown currency (which only the rules can reject).
        let bad = 2_000 / spec.bad_every;
        assert!(
            undecodable < bad && undecodable >= bad * 2 / 3,
            "{undecodable} of {bad}"
        );
    }
}
