//! One batch, from payloads to outputs, against any [`StateStore`].
//!
//! Messages are decoded, grouped by owner (the hash tag their state lives under) and scored in
//! offset order within each owner. State documents come from memory where this instance holds
//! them ([`super::owned_state`]); each input's own record is presumed absent; the rest are read
//! in one round trip. The owner groups are scored a part at a time, and each part is written
//! in one round trip of compare-and-set scripts (which also check every document a group only
//! read) while the next part is scored. A group whose state changed since it was read (another
//! instance, another topic) or whose record exists after all is read from the store and scored
//! again; a transaction whose record already exists is a replay and re-emits its stored
//! outputs.
//! Processing the same batch twice therefore changes nothing the second time. A transaction
//! that draws on a campaign budget shared by all members costs a round more (see
//! [`super::budgets`]). Where a batch's documents come from, and how what it read is fenced,
//! is in `load`; how one owner group is scored is in `plan`; how the parts overlap with the
//! store, and the rounds of rescoring, in `apply`.

mod apply;
mod load;
mod plan;

use super::budgets::BudgetClaim;
use super::contain::{contain, Contained, Stage};
use super::inputs::{Applies, Input, ItemKeys};
use super::owned_state::OwnedState;
pub use super::owner_log::Routed;
use super::ownership::Ownership;
use super::parallel;
pub use super::report::{BatchReport, Destination, Origin, Outbound};
use super::topics::Topics;
use crate::domain::Transaction;
use crate::rules::{RuleBook, RulesFeed};
use crate::store::{Keyspace, Owner, StateStore, StoreError, WriteGroup};
use crate::wire::{DlqRecord, SourcePosition};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A consumed message, borrowed from the consumer.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    pub payload: &'a [u8],
    pub key: Option<&'a [u8]>,
    pub source: SourcePosition,
    /// The time the broker holds for the record (milliseconds since the epoch), if any: stable
    /// across redeliveries, so checks against it decide the same way on every replay.
    pub broker_timestamp_ms: Option<i64>,
    /// The owner and kind decided when the input was routed, for a message read from the
    /// owner log (whose `source` and `key` are then those of the record it was routed from);
    /// `None` for a message from an input topic.
    pub routed: Option<Routed>,
}

/// Settings of batch processing that are not rules.
#[derive(Debug, Clone)]
pub struct ProcessorSettings {
    pub max_message_bytes: usize,
    /// How far an input's event time may run ahead of its record's broker timestamp; `None`
    /// accepts any lead.
    pub max_event_lead: Option<time::Duration>,
    /// How much of a rejected payload its dead-letter record keeps.
    pub dlq_original_bytes: usize,
    /// How long applied-transaction records are kept (the replay and refund horizon).
    pub txn_record_ttl: Duration,
    /// Rounds of conflict rescoring before the batch fails (and is retried whole).
    pub max_conflict_rounds: u32,
    /// Parts a batch's owner groups are scored in, each written while the next is scored.
    pub store_concurrency: usize,
    /// State documents kept in memory between batches (see [`super::owned_state`]).
    pub owned_state_entries: usize,
    /// Bytes of their keys and texts kept at most.
    pub owned_state_bytes: usize,
    /// Ledger events kept per member for queries, newest first.
    pub ledger_retention: usize,
    /// The topics, which tell what kind of input a message is.
    pub topics: Topics,
    /// Whether cards linked to a pool earn into it even when their transactions name a member
    /// (costs a read per batch).
    pub pooled_cards: bool,
}

/// Fewest messages worth a thread of their own for decoding.
const DECODES_PER_THREAD: usize = 128;
/// Fewest owner groups worth a thread of their own for scoring.
const GROUPS_PER_THREAD: usize = 32;

/// Scores batches against a store.
pub struct BatchProcessor<S> {
    /// Shared with the tasks that carry a batch's writes to it.
    store: Arc<S>,
    keys: Keyspace,
    settings: ProcessorSettings,
    /// A candidate rules version scored beside the live one, compared, never credited.
    shadow: Option<RulesFeed>,
    owned: OwnedState,
}

/// The rules a batch is scored with: the live book and the shadow candidate, if any.
struct Books<'a> {
    live: &'a RuleBook,
    shadow: Option<&'a RuleBook>,
}

/// A decoded input, the message it came from, and the keys of the documents it touches.
struct Item {
    index: usize,
    input: Input,
    keys: ItemKeys,
}

/// The transactions of one owner, in offset order.
struct OwnerGroup {
    owner: Owner,
    items: Vec<Item>,
    /// Read everything from the store: what memory held, or presumed, was refused.
    fresh: bool,
}

impl OwnerGroup {
    fn state_keys(&self) -> impl Iterator<Item = &String> {
        self.items.iter().flat_map(|item| item.keys.state())
    }
}

/// The result of scoring one owner group against loaded state.
#[derive(Default)]
struct GroupPlan {
    writes: WriteGroup,
    report: BatchReport,
    /// Budget points to reserve before the group can be scored for real (nothing is written).
    asks: Vec<BudgetClaim>,
    /// Budget claims to settle once the group is written.
    settles: Vec<BudgetClaim>,
}

impl<S: StateStore> BatchProcessor<S> {
    pub fn new(store: S, keys: Keyspace, settings: ProcessorSettings) -> Self {
        BatchProcessor {
            store: Arc::new(store),
            keys,
            owned: OwnedState::new(settings.owned_state_entries, settings.owned_state_bytes),
            settings,
            shadow: None,
        }
    }

    /// Also scores every transaction with `candidate`, publishing the comparison on the
    /// shadow topic.
    pub fn with_shadow_rules(mut self, candidate: RulesFeed) -> Self {
        self.shadow = Some(candidate);
        self
    }

    /// Whether a shadow rules version is scored beside the live one.
    pub fn has_shadow(&self) -> bool {
        self.shadow.is_some()
    }

    pub fn keys(&self) -> &Keyspace {
        &self.keys
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, once no batch is in progress (a batch's writes are all answered before it
    /// returns, so none holds it then).
    pub fn into_store(self) -> Option<S> {
        Arc::into_inner(self.store)
    }

    /// Starts assignment `epoch`: on a change, drops the state held for the members of
    /// partitions this instance may no longer own.
    pub fn begin_assignment(&self, epoch: u64) {
        self.owned.hold_for(epoch);
    }

    /// Processes one batch. Errors only when the store cannot be used; the batch can then be
    /// processed again from the start without harm.
    pub async fn process(
        &self,
        batch: &[Inbound<'_>],
        rules: &RuleBook,
    ) -> Result<BatchReport, StoreError> {
        let mut report = BatchReport::default();
        let shadow = self.shadow.as_ref().map(|feed| feed.borrow().clone());
        let books = Books {
            live: rules,
            shadow: shadow.as_deref(),
        };
        let mut groups: Vec<OwnerGroup> = Vec::new();
        let mut group_of: HashMap<Owner, usize> = HashMap::new();
        let decoded = self.decode(batch, &mut report);
        let (mut decoded, routed): (Vec<_>, Vec<_>) = decoded
            .into_iter()
            .partition(|(index, _)| batch[*index].routed.is_none());
        timed("owners", self.ownership().resolve(&mut decoded)).await?;
        for (index, mut input) in routed {
            if let (Input::Txn(txn), Some(routed)) = (&mut input, &batch[index].routed) {
                if let Err(reason) =
                    take_routed_owner(txn, &routed.owner, self.settings.pooled_cards)
                {
                    let message = &batch[index];
                    self.dead_letter(&mut report, message, "unreadable_owner_log", reason);
                    continue;
                }
            }
            decoded.push((index, input));
        }
        decoded.sort_unstable_by_key(|(index, _)| *index);
        for (index, input) in decoded {
            let owner = input.owner();
            let slot = *group_of.entry(owner.clone()).or_insert_with(|| {
                groups.push(OwnerGroup {
                    owner,
                    items: Vec::new(),
                    fresh: false,
                });
                groups.len() - 1
            });
            let keys = input.keys(&self.keys, &groups[slot].owner);
            groups[slot].items.push(Item { index, input, keys });
        }

        report.merge(self.apply_groups(groups, batch, &books).await?);
        Ok(report)
    }

    /// Routes a batch of input messages to the owner log: each valid one, once its owner is
    /// decided, is forwarded unchanged under its owner's key; the rest are dead-lettered.
    /// Nothing is scored or written but the owners decided for card-linked transactions.
    pub async fn route(&self, batch: &[Inbound<'_>]) -> Result<BatchReport, StoreError> {
        let mut report = BatchReport::default();
        let mut decoded = self.decode(batch, &mut report);
        timed("owners", self.ownership().resolve(&mut decoded)).await?;
        for (index, input) in decoded {
            let message = &batch[index];
            report.routed += 1;
            report.outbound.push(Outbound {
                destination: Destination::ByOwner,
                key: input.owner().tag(),
                payload: String::from_utf8_lossy(message.payload).into_owned(),
                origin: Some(Origin {
                    kind: input.kind(),
                    source: message.source.clone(),
                    key: message.key.map(<[u8]>::to_vec),
                    timestamp_ms: message.broker_timestamp_ms,
                }),
            });
        }
        Ok(report)
    }

    /// Dead-letters a message that cannot be processed at all, for the reason given.
    pub fn refuse(&self, message: &Inbound<'_>, kind: &'static str, reason: String) -> BatchReport {
        let mut report = BatchReport::default();
        self.dead_letter(&mut report, message, kind, reason);
        report
    }

    /// Decodes every message, on every core; those that fail are dead-lettered in `report`.
    fn decode(&self, batch: &[Inbound<'_>], report: &mut BatchReport) -> Vec<(usize, Input)> {
        let mut decoded = Vec::with_capacity(batch.len());
        let decodings = parallel::map(batch, DECODES_PER_THREAD, |message| {
            contain(Stage::Decode, || Input::decode(message, &self.settings))
        });
        for ((index, message), decoding) in batch.iter().enumerate().zip(decodings) {
            match decoding {
                Ok(Ok(input)) => decoded.push((index, input)),
                Ok(Err(error)) => {
                    self.dead_letter(report, message, error.kind(), error.to_string())
                }
                Err(panic) => self.dead_letter(report, message, Contained::KIND, panic.reason()),
            }
        }
        decoded
    }

    fn ownership(&self) -> Ownership<'_, S> {
        Ownership {
            store: &self.store,
            keys: &self.keys,
            pooled_cards: self.settings.pooled_cards,
            ttl: self.settings.txn_record_ttl,
        }
    }

    fn dead_letter(
        &self,
        report: &mut BatchReport,
        message: &Inbound<'_>,
        kind: &'static str,
        reason: String,
    ) {
        let record = DlqRecord::new(
            message.payload,
            self.settings.dlq_original_bytes,
            message.source.clone(),
            kind,
            reason,
        );
        *report.dead_lettered.entry(kind).or_default() += 1;
        report.outbound.push(Outbound {
            destination: Destination::Dlq,
            key: message
                .key
                .and_then(|key| std::str::from_utf8(key).ok())
                .map(|key| {
                    String::from_utf8_lossy(&crate::wire::pan::mask_pans(key.as_bytes()))
                        .into_owned()
                })
                .unwrap_or_default(),
            payload: serde_json::to_string(&record).expect("dead-letter records serialise"),
            origin: None,
        });
    }
}

/// Gives a transaction read back from the owner log the owner routing decided for it, unless
/// that owner could not have been decided for it: its own card, or the member it names, or
/// either of those or another member when its owner was looked up (it names no member, or
/// cards may be pooled).
fn take_routed_owner(txn: &mut Transaction, owner: &Owner, pooled: bool) -> Result<(), String> {
    let fits = match (owner, &txn.member_id) {
        (Owner::Card(card), named) => *card == txn.card_token && (named.is_none() || pooled),
        (Owner::Member(member), Some(named)) => member == named || pooled,
        (Owner::Member(_), None) => true,
    };
    if !fits {
        return Err(format!(
            "the owner log gives transaction `{}` (card `{}`) to `{}`, which routing could not \
             have decided",
            txn.txn_id,
            txn.card_token,
            owner.tag()
        ));
    }
    txn.member_id = owner.member().map(str::to_owned);
    Ok(())
}

/// Awaits one store round trip and records its duration and outcome.
async fn timed<T>(
    operation: &'static str,
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = std::time::Instant::now();
    let result = call.await;
    crate::telemetry::events::store_call(operation, started.elapsed(), result.is_ok());
    result
}
