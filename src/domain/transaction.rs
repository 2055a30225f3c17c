//! A card transaction after validation: every field present and typed.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a transaction message does to a card account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnKind {
    /// A single-message sale: authorised and settled at once.
    Purchase,
    /// A hold on the card; its points are pending until a clearing posts them.
    Authorization,
    /// Settles an authorization, possibly for a different final amount.
    Clearing,
    /// Money returned to the card for an earlier sale, wholly or in part.
    Refund,
    /// Cancels an earlier message (typically an authorization) before settlement.
    Reversal,
    /// A disputed sale taken back by the issuer.
    Chargeback,
}

impl TxnKind {
    /// Whether this kind must name the transaction it acts on.
    pub fn needs_original(self) -> bool {
        !matches!(self, TxnKind::Purchase | TxnKind::Authorization)
    }

    /// Whether this kind spends money on the card (the fraud rules look at these).
    pub fn is_spend(self) -> bool {
        matches!(self, TxnKind::Purchase | TxnKind::Authorization)
    }

    /// The wire spelling, for messages and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            TxnKind::Purchase => "purchase",
            TxnKind::Authorization => "authorization",
            TxnKind::Clearing => "clearing",
            TxnKind::Refund => "refund",
            TxnKind::Reversal => "reversal",
            TxnKind::Chargeback => "chargeback",
        }
    }
}

/// Where the card was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merchant {
    pub id: String,
    pub name: String,
    /// ISO 18245 merchant category code, four digits.
    pub mcc: String,
    /// ISO 3166 alpha-2 country code.
    pub country: String,
    pub city: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A validated transaction. Built only by the wire decoder, so every instance is well formed.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub txn_id: String,
    pub kind: TxnKind,
    pub card_token: String,
    /// The member named by the message; when absent the card's link decides.
    pub member_id: Option<String>,
    pub program_id: String,
    /// Non-negative amount in `currency`.
    pub amount: Decimal,
    /// ISO 4217 code, upper case.
    pub currency: String,
    pub channel: String,
    /// The card product (e.g. "platinum_credit"), for product-specific earning rates.
    pub card_product: Option<String>,
    pub card_present: bool,
    pub merchant: Merchant,
    pub original_txn_id: Option<String>,
    /// Event time: when the network says it happened. Scoring never looks at the wall clock.
    pub timestamp: OffsetDateTime,
}

impl Transaction {
    /// A digest of what the transaction says (every field, amounts normalised, so `100` and
    /// `100.00` agree): a redelivery has the same, a different transaction re-using the id
    /// almost surely not. FNV-1a over the fields, each followed by a unit separator; fixed
    /// here so stored digests stay comparable across builds. Computed without allocating.
    pub fn fingerprint(&self) -> u64 {
        use std::fmt::Write;
        const ABSENT: &str = "\u{0}";
        let merchant = &self.merchant;
        let mut digest = Fnv1a(0xcbf2_9ce4_8422_2325);
        let mut field = |value: &dyn std::fmt::Display| {
            // Writing to the digest cannot fail.
            let _ = write!(digest, "{value}\u{1f}");
        };
        field(&self.txn_id);
        field(&self.kind.as_str());
        field(&self.card_token);
        field(&self.member_id.as_deref().unwrap_or(ABSENT));
        field(&self.program_id);
        field(&self.amount.normalize());
        field(&self.currency);
        field(&self.channel);
        field(&self.card_product.as_deref().unwrap_or(ABSENT));
        field(&if self.card_present {
            "present"
        } else {
            "absent"
        });
        field(&merchant.id);
        field(&merchant.name);
        field(&merchant.mcc);
        field(&merchant.country);
        field(&merchant.city.as_deref().unwrap_or(ABSENT));
        match merchant.lat {
            Some(lat) => field(&lat),
            None => field(&ABSENT),
        }
        match merchant.lon {
            Some(lon) => field(&lon),
            None => field(&ABSENT),
        }
        field(&self.original_txn_id.as_deref().unwrap_or(ABSENT));
        field(&self.timestamp.unix_timestamp_nanos());
        digest.0
    }
}

/// A running 64-bit FNV-1a hash, fed as text.
struct Fnv1a(u64);

impl std::fmt::Write for Fnv1a {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        for byte in text.bytes() {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::scoring::fixtures::purchase;

    #[test]
    fn the_fingerprint_is_stable_and_ignores_trailing_zeros() {
        let mut txn = purchase("T-1", "100.00");
        txn.merchant.lat = Some(31.23);
        // The value the first (allocating) implementation gave: stored digests must keep
        // meaning the same.
        const STORED: u64 = 16_956_338_066_094_799_782;
        assert_eq!(txn.fingerprint(), STORED);
        let mut same = txn.clone();
        same.amount = "100".parse().unwrap();
        assert_eq!(same.fingerprint(), STORED);
        let mut other = txn.clone();
        other.amount = "100.01".parse().unwrap();
        assert_ne!(other.fingerprint(), STORED);
    }
}
