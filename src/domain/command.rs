//! Commands from the redemption service (topic `commands`, key: member_id): spend points on a
//! reward, cancel such a redemption, move points to another member. A transfer's credit to the
//! receiver is itself a command that txscore publishes once the debit is applied.

use super::lots::LotUse;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandAction {
    /// Spend `points` on `reward` (or as payment offset).
    Redeem { points: i64, reward: String },
    /// Give back the points of redemption `redemption_id`, to the lots they came from.
    CancelRedemption { redemption_id: String },
    /// Move `points` to member `to_member_id` in the same programme.
    Transfer { to_member_id: String, points: i64 },
    /// The receiving side of transfer `transfer_id`, published by txscore after the debit.
    TransferCredit {
        transfer_id: String,
        from_member_id: String,
        points: i64,
    },
    /// Convert `points` of this programme into points of `to_program_id` at the configured
    /// rate, both accounts changed together.
    Exchange { to_program_id: String, points: i64 },
    /// The referral bonus for referring `referred_member_id`, published by txscore with that
    /// member's first posted purchase `txn_id`.
    ReferralBonus {
        referred_member_id: String,
        txn_id: String,
    },
}

/// A validated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub command_id: String,
    pub member_id: String,
    pub program_id: String,
    pub action: CommandAction,
    /// When it was issued: the event time of the ledger events it causes.
    pub timestamp: OffsetDateTime,
}

/// What a redemption or transfer took from the member, kept in its record so a cancellation
/// can give it back and a transfer's credit can be checked against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debit {
    /// The programme debited (absent in records written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_id: Option<String>,
    pub points: i64,
    pub lots: Vec<LotUse>,
    /// For a transfer: who receives the points.
    pub to_member_id: Option<String>,
    /// For a redemption: whether it has been cancelled.
    pub cancelled: bool,
}
