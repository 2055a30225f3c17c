//! Test fixtures shared by the scoring tests: a card-present purchase in Shanghai.

use crate::domain::{Merchant, Transaction, TxnKind};
use crate::rules::RuleSet;
use time::macros::datetime;
use time::OffsetDateTime;

/// Event time of [`purchase`].
pub const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

/// A chip purchase of `amount` CNY by member M-1 on card tok_1 at a Shanghai grocer at [`T0`].
pub fn purchase(id: &str, amount: &str) -> Transaction {
    Transaction {
        txn_id: id.into(),
        kind: TxnKind::Purchase,
        card_token: "tok_1".into(),
        member_id: Some("M-1".into()),
        program_id: "default".into(),
        amount: amount.parse().unwrap(),
        currency: "CNY".into(),
        channel: "chip".into(),
        card_product: None,
        card_present: true,
        merchant: Merchant {
            id: "MER-1".into(),
            name: "Fresh Mart".into(),
            mcc: "5411".into(),
            country: "CN".into(),
            city: Some("Shanghai".into()),
            lat: Some(31.2304),
            lon: Some(121.4737),
        },
        original_txn_id: None,
        timestamp: T0,
    }
}

/// A rules file with one programme, `default`: 1 point per CNY and a single `standard` tier,
/// followed by `extra` (more keys of the programme first, then any tables).
pub fn programme_toml(extra: &str) -> String {
    format!(
        "version = \"test-1\"\n[programs.default]\nbase_currency = \"CNY\"\npoints_per_unit = \"1\"\n\
         default_tier = \"standard\"\ntiers = {{ standard = \"1\" }}\n{extra}"
    )
}

/// The rules of [`programme_toml`].
pub fn programme(extra: &str) -> RuleSet {
    RuleSet::from_toml(&programme_toml(extra)).expect("test rules are valid")
}
