//! The inputs a batch holds: what each topic's messages decode to, whose hash tag each lives
//! under, and the keys of the documents each reads and writes.

use super::{Inbound, ProcessorSettings, Topics};
use crate::domain::command::{Command, CommandAction};
use crate::domain::member_event::{MemberEvent, MemberEventKind};
use crate::domain::review::Review;
use crate::domain::Transaction;
use crate::store::{Keyspace, Owner};
use crate::wire::{
    decode_command, decode_member_event, decode_review, decode_transaction, InputError,
};
use time::OffsetDateTime;

/// What an input message is, which its topic tells (or, on the owner log, its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Transaction,
    Review,
    Command,
    MemberEvent,
}

impl InputKind {
    const ALL: [InputKind; 4] = [
        InputKind::Transaction,
        InputKind::Review,
        InputKind::Command,
        InputKind::MemberEvent,
    ];

    /// Stable name, as written in the owner log.
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Transaction => "transaction",
            InputKind::Review => "review",
            InputKind::Command => "command",
            InputKind::MemberEvent => "member_event",
        }
    }

    /// Reads back what [`InputKind::as_str`] wrote.
    pub fn from_name(name: &str) -> Option<InputKind> {
        InputKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The kind of the messages on `topic`: transactions, unless it is the reviews, commands
    /// or member events topic.
    pub fn of_topic(topic: &str, topics: &Topics) -> InputKind {
        if topic == topics.reviews {
            InputKind::Review
        } else if topic == topics.commands {
            InputKind::Command
        } else if topic == topics.member_events {
            InputKind::MemberEvent
        } else {
            InputKind::Transaction
        }
    }
}

/// A decoded input message.
#[allow(
    clippy::large_enum_variant,
    reason = "transactions are nearly every input; boxing them would allocate per message"
)]
pub enum Input {
    Txn(Transaction),
    Review(Review),
    Command(Command),
    MemberEvent(MemberEvent),
}

/// Keys of the documents one input reads and writes, formatted once per batch.
pub struct ItemKeys {
    /// The record that this input was applied.
    pub record: String,
    /// The card's risk state; `None` for inputs that do not touch a card.
    pub card: Option<String>,
    /// The member's account; `None` for a card with no member.
    pub account: Option<String>,
    /// The record of the transaction the input acts on (`original_txn_id`, a review's txn).
    pub original: Option<String>,
    /// The card-to-member link a `card_linked` event writes.
    pub link: Option<String>,
    /// The member's account in the programme an exchange converts into.
    pub counter_account: Option<String>,
}

impl ItemKeys {
    /// The state documents, which live on from input to input and may be held in memory.
    pub fn state(&self) -> impl Iterator<Item = &String> {
        self.card
            .iter()
            .chain(&self.account)
            .chain(&self.link)
            .chain(&self.counter_account)
    }
}

/// Refuses an event time more than `lead` ahead of the time the broker recorded the message
/// at: a clock or a feed gone wrong, whose dates would expire points and pin accounts in the
/// future. Broker times at or before the epoch (unset by the producer) are not compared.
fn check_lead(
    event_time: OffsetDateTime,
    broker_ms: i64,
    lead: time::Duration,
) -> Result<(), InputError> {
    if broker_ms <= 0 {
        return Ok(());
    }
    let recorded =
        OffsetDateTime::UNIX_EPOCH.saturating_add(time::Duration::milliseconds(broker_ms));
    if event_time <= recorded.saturating_add(lead) {
        return Ok(());
    }
    Err(crate::wire::fields::invalid(
        "timestamp",
        format!(
            "`{event_time}` is {} s ahead of the time the broker recorded the message ({recorded}); \
             at most {} s is accepted (pipeline.max_event_lead_secs)",
            (event_time - recorded).whole_seconds(),
            lead.whole_seconds()
        ),
    ))
}

/// Which member a card's member-less transactions belong to (written by `card_linked`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CardLink {
    pub member_id: String,
    /// The member is a pool the card earns into whatever member its transactions name.
    #[serde(default)]
    pub pool: bool,
}

impl Input {
    /// Whose hash tag the input's state lives under.
    pub fn owner(&self) -> Owner {
        match self {
            Input::Txn(txn) => match &txn.member_id {
                Some(member) => Owner::Member(member.clone()),
                None => Owner::Card(txn.card_token.clone()),
            },
            Input::Review(review) => Owner::Member(review.member_id.clone()),
            Input::Command(command) => Owner::Member(command.member_id.clone()),
            Input::MemberEvent(event) => match &event.kind {
                MemberEventKind::CardLinked { card_token, .. } => Owner::Card(card_token.clone()),
                _ => Owner::Member(event.member_id.clone()),
            },
        }
    }

    pub fn kind(&self) -> InputKind {
        match self {
            Input::Txn(_) => InputKind::Transaction,
            Input::Review(_) => InputKind::Review,
            Input::Command(_) => InputKind::Command,
            Input::MemberEvent(_) => InputKind::MemberEvent,
        }
    }

    pub fn event_time(&self) -> OffsetDateTime {
        match self {
            Input::Txn(txn) => txn.timestamp,
            Input::Review(review) => review.timestamp,
            Input::Command(command) => command.timestamp,
            Input::MemberEvent(event) => event.timestamp,
        }
    }

    /// Decodes `message` as the input its source topic carries.
    pub fn decode(
        message: &Inbound<'_>,
        settings: &ProcessorSettings,
    ) -> Result<Input, InputError> {
        let limit = settings.max_message_bytes;
        let kind = match &message.routed {
            Some(routed) => routed.kind,
            None => InputKind::of_topic(&message.source.topic, &settings.topics),
        };
        let input = match kind {
            InputKind::Review => decode_review(message.payload, limit).map(Input::Review),
            InputKind::Command => decode_command(message.payload, limit).map(Input::Command),
            InputKind::MemberEvent => {
                decode_member_event(message.payload, limit).map(Input::MemberEvent)
            }
            InputKind::Transaction => decode_transaction(message.payload, limit).map(Input::Txn),
        }?;
        if let (Some(lead), Some(broker_ms)) =
            (settings.max_event_lead, message.broker_timestamp_ms)
        {
            check_lead(input.event_time(), broker_ms, lead)?;
        }
        Ok(input)
    }

    /// The keys of the documents this input reads and writes under `owner`.
    pub fn keys(&self, keys: &Keyspace, owner: &Owner) -> ItemKeys {
        let input = self;
        match input {
            Input::Txn(txn) => ItemKeys {
                record: keys.txn(owner, &txn.txn_id),
                card: Some(keys.card(owner, &txn.card_token)),
                account: matches!(owner, Owner::Member(_))
                    .then(|| keys.account(owner, &txn.program_id)),
                original: txn.original_txn_id.as_ref().map(|id| keys.txn(owner, id)),
                link: None,
                counter_account: None,
            },
            Input::Review(review) => ItemKeys {
                record: keys.review(owner, &review.review_id),
                card: None,
                account: Some(keys.account(owner, &review.program_id)),
                original: Some(keys.txn(owner, &review.txn_id)),
                link: None,
                counter_account: None,
            },
            Input::Command(command) => ItemKeys {
                record: keys.command(owner, &command.command_id),
                card: None,
                account: Some(keys.account(owner, &command.program_id)),
                original: match &command.action {
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
                },
                link: None,
                counter_account: match &command.action {
                    CommandAction::Exchange { to_program_id, .. } => {
                        Some(keys.account(owner, to_program_id))
                    }
                    _ => None,
                },
            },
            Input::MemberEvent(event) => {
                let card_link = match &event.kind {
                    MemberEventKind::CardLinked { card_token, .. } => Some(card_token),
                    _ => None,
                };
                ItemKeys {
                    record: keys.member_event(owner, &event.event_id),
                    card: None,
                    account: card_link
                        .is_none()
                        .then(|| keys.account(owner, &event.program_id)),
                    original: None,
                    link: card_link.map(|token| keys.card_link(token)),
                    counter_account: None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_reads_back_its_name_and_follows_its_topic() {
        let topics = Topics::prefixed("p-");
        for kind in InputKind::ALL {
            assert_eq!(InputKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(InputKind::from_name("transactions"), None);
        assert_eq!(InputKind::of_topic("p-reviews", &topics), InputKind::Review);
        assert_eq!(
            InputKind::of_topic("p-commands", &topics),
            InputKind::Command
        );
        assert_eq!(
            InputKind::of_topic("p-member-events", &topics),
            InputKind::MemberEvent
        );
        assert_eq!(
            InputKind::of_topic("p-transactions", &topics),
            InputKind::Transaction
        );
    }
}
