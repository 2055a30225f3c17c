//! The wire edge: raw Kafka payloads in, validated domain types out, and the dead-letter
//! record for everything that cannot be processed.
//!
//! - [`fields`]: what every input shares: envelope checks, typed fields, [`InputError`].
//! - [`decode`]: JSON transaction to [`crate::domain::Transaction`], with errors naming the field.
//! - [`review`]: a risk reviewer's decision on held points.
//! - [`command`]: redemptions, their cancellation and transfers, in and out.
//! - [`member_event`]: enrolment, engagement, referrals, tier overrides, freezes, card links.
//! - [`json`]: strict JSON parsing, refusing a key given twice.
//! - [`pan`]: finding and masking card numbers that must never travel in clear.
//! - [`dlq`]: the dead-letter record and the reasons a message ends up there.

pub mod command;
pub mod decode;
pub mod dlq;
pub mod fields;
pub mod json;
pub mod member_event;
pub mod pan;
pub mod review;

pub use command::{decode_command, encode_command};
pub use decode::decode_transaction;
pub use dlq::{DlqRecord, SourcePosition};
pub use fields::InputError;
pub use member_event::decode_member_event;
pub use review::decode_review;
