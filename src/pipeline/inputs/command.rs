//! Redemptions, transfers, exchanges and the commands txscore issues itself (a transfer's
//! credit, a referral bonus): owned by the member, acting on the member's account, the
//! account an exchange converts into, and the record a cancellation or credit refers to.

use super::{Applies, InputKind, ItemKeys, Rules, Working};
use crate::domain::command::{Command, CommandAction};
use crate::scoring::{self, Decision, Rejection};
use crate::store::{Keyspace, Owner};
use time::OffsetDateTime;

impl Applies for Command {
    fn kind(&self) -> InputKind {
        InputKind::Command
    }

    fn owner(&self) -> Owner {
        Owner::Member(self.member_id.clone())
    }

    fn event_time(&self) -> OffsetDateTime {
        self.timestamp
    }

    fn keys(&self, keys: &Keyspace, owner: &Owner) -> ItemKeys {
        let original = match &self.action {
            CommandAction::CancelRedemption { redemption_id } => {
                Some(keys.command(owner, redemption_id))
            }
            // The sender's record lives under the sender's tag: read, never written.
            CommandAction::TransferCredit {
                transfer_id,
                from_member_id,
                ..
            } => Some(keys.command(&Owner::Member(from_member_id.clone()), transfer_id)),
            CommandAction::ReferralBonus {
                referred_member_id,
                txn_id,
            } => Some(keys.txn(&Owner::Member(referred_member_id.clone()), txn_id)),
            CommandAction::Redeem { .. }
            | CommandAction::Transfer { .. }
            | CommandAction::Exchange { .. } => None,
        };
        let counter_account = match &self.action {
            CommandAction::Exchange { to_program_id, .. } => {
                Some(keys.account(owner, to_program_id))
            }
            _ => None,
        };
        ItemKeys {
            record: keys.command(owner, &self.command_id),
            card: None,
            account: Some(keys.account(owner, &self.program_id)),
            original,
            link: None,
            counter_account,
        }
    }

    fn apply(&self, working: Working<'_>, rules: Rules<'_>) -> Result<Decision, Rejection> {
        let earlier = working.original.cloned();
        scoring::commands::apply(self, working.member, earlier, working.counter, rules.live)
    }
}
