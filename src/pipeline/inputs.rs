//! The inputs a batch holds: what each topic's messages decode to, and, behind one trait
//! ([`Applies`]), whose hash tag each lives under, the keys of the documents each reads and
//! writes, and what each does to them. One file per kind:
//!
//! - `transaction`: card transactions (and their shadow comparison);
//! - `review`: verdicts on held points;
//! - `command`: redemptions, transfers, exchanges and the credits txscore issues;
//! - `member_event`: enrolment, engagement, tiers, freezes and card links.

mod command;
mod member_event;
mod review;
mod transaction;

use super::{Inbound, ProcessorSettings, Topics};
use crate::domain::command::Command;
use crate::domain::member_event::MemberEvent;
use crate::domain::review::Review;
use crate::domain::{CardState, MemberState, Transaction, TxnRecord};
use crate::rules::RuleSet;
use crate::scoring::{BudgetRoom, Decision, Rejection};
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

/// One kind of input, as the planner sees it: whose it is, which documents it touches, and
/// what it does to them. Each kind implements it in a file of its own.
pub trait Applies {
    fn kind(&self) -> InputKind;

    /// Whose hash tag the input's state lives under.
    fn owner(&self) -> Owner;

    fn event_time(&self) -> OffsetDateTime;

    /// The keys of the documents this input reads and writes under `owner`.
    fn keys(&self, keys: &Keyspace, owner: &Owner) -> ItemKeys;

    /// What the input does to the working copies of its documents, under the rules in force
    /// at its event time.
    fn apply(&self, working: Working<'_>, rules: Rules<'_>) -> Result<Decision, Rejection>;

    /// What its record keeps to tell a redelivery of the input from another input that reuses
    /// its id; `None` where a reused id is always a redelivery.
    fn fingerprint(&self) -> Option<u64> {
        None
    }

    /// Why the input is not a redelivery of the one `record` was written for, if it is not.
    fn conflicts_with(&self, _record: &TxnRecord) -> Option<String> {
        None
    }

    /// The card whose risk state the input changes, if any: a card's first state is written
    /// with an entry naming the owner it lives under.
    fn card_token(&self) -> Option<&str> {
        None
    }
}

/// The working copies of the documents an input is applied to, as [`ItemKeys`] names them.
pub struct Working<'a> {
    /// The owner's member; `None` for a card without one.
    pub member_id: Option<&'a str>,
    pub member: Option<MemberState>,
    pub card: Option<CardState>,
    /// The record of the input this one acts on, if it was applied.
    pub original: Option<&'a TxnRecord>,
    /// The account an exchange converts into.
    pub counter: Option<MemberState>,
    /// What a transaction may draw from campaign budgets.
    pub budget: BudgetRoom,
}

/// The rules in force at an input's event time: the live version, and a shadow candidate.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub live: &'a RuleSet,
    pub shadow: Option<&'a RuleSet>,
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

impl Input {
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
}

impl Input {
    /// The input as the kind it is.
    fn applies(&self) -> &dyn Applies {
        match self {
            Input::Txn(txn) => txn,
            Input::Review(review) => review,
            Input::Command(command) => command,
            Input::MemberEvent(event) => event,
        }
    }
}

impl Applies for Input {
    fn kind(&self) -> InputKind {
        self.applies().kind()
    }

    fn owner(&self) -> Owner {
        self.applies().owner()
    }

    fn event_time(&self) -> OffsetDateTime {
        self.applies().event_time()
    }

    fn keys(&self, keys: &Keyspace, owner: &Owner) -> ItemKeys {
        self.applies().keys(keys, owner)
    }

    fn apply(&self, working: Working<'_>, rules: Rules<'_>) -> Result<Decision, Rejection> {
        self.applies().apply(working, rules)
    }

    fn fingerprint(&self) -> Option<u64> {
        self.applies().fingerprint()
    }

    fn conflicts_with(&self, record: &TxnRecord) -> Option<String> {
        self.applies().conflicts_with(record)
    }

    fn card_token(&self) -> Option<&str> {
        self.applies().card_token()
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
