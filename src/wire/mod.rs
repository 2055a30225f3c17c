//! The wire edge: raw Kafka payloads in, validated domain types out, and the dead-letter
//! record for everything that cannot be processed.
//!
//! - [`decode`]: JSON transaction to [`crate::domain::Transaction`], with errors naming the field.
//! - [`pan`]: finding and masking card numbers that must never travel in clear.
//! - [`dlq`]: the dead-letter record and the reasons a message ends up there.

pub mod decode;
pub mod dlq;
pub mod pan;

pub use decode::{decode_transaction, InputError};
pub use dlq::{DlqRecord, SourcePosition};
