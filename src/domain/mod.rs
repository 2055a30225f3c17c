//! Domain types: what a transaction, a member, a card and the outputs they produce *are*,
//! independent of how they travel (wire) or rest (store).
//!
//! - [`transaction`]: a validated card transaction.
//! - [`member`] and [`card`]: the state scoring reads and writes; [`counters`]: what earning
//!   has counted toward caps, campaigns and tiers; [`lots`]: posted points by earning month;
//!   [`activity`]: recent account activity for the points-abuse rules.
//! - [`ledger`] and [`alert`]: what scoring publishes.
//! - [`record`]: what is kept per transaction so a replay re-emits identical outputs.
//! - [`review`]: a risk reviewer's decision on held points; [`command`]: redemptions and
//!   transfers; [`member_event`]: what member administration reports.
//! - [`bounds`]: the ranges points stay inside, so sums cannot wrap.
//! - [`shadow`]: a candidate rules version's result beside the live one's.

pub mod activity;
pub mod alert;
pub mod bounds;
pub mod card;
pub mod command;
pub mod counters;
pub mod ledger;
pub mod lots;
pub mod member;
pub mod member_event;
pub mod record;
pub mod review;
pub mod shadow;
pub mod transaction;

pub use alert::{Alert, AlertReason, Severity};
pub use card::{CardLink, CardState};
pub use ledger::{BreakdownLine, LedgerEvent, LedgerEventType};
pub use member::MemberState;
pub use record::{Earning, TxnRecord};
pub use transaction::{Merchant, Transaction, TxnKind};
