//! Who owns a transaction whose message does not settle it: a card's member-less transactions
//! belong to the member the card is linked to, and, with `pipeline.pooled_cards`, a pooled
//! card's transactions to its pool. Links change, so the owner is decided once, on first
//! sight, and kept beside the card (`{c:<card>}:txn-owner:<txn_id>`) for as long as the
//! transaction's record: a redelivery after a re-link finds its record again instead of
//! crediting the new member, and a refund or clearing goes to the owner of its original.

use super::inputs::Input;
use crate::domain::{CardLink, Transaction};
use crate::store::{GroupOutcome, Keyspace, Owner, StateStore, StoreError, Write, WriteGroup};
use std::collections::HashMap;
use std::time::Duration;

/// How a batch's transactions find their owners.
pub struct Ownership<'a, S> {
    pub store: &'a S,
    pub keys: &'a Keyspace,
    /// Whether every transaction's owner is looked up (cards may be pooled), not only those
    /// without a member.
    pub pooled_cards: bool,
    /// How long a decided owner is kept: the transaction records' TTL.
    pub ttl: Duration,
}

/// What was stored for one batch: card links and the owners already decided.
struct Known {
    links: HashMap<String, CardLink>,
    owners: HashMap<String, Owner>,
}

impl<S: StateStore> Ownership<'_, S> {
    /// Sets the member of every transaction in `decoded` whose owner is looked up: the owner
    /// decided before for it, else its original's, else its card's link. Owners decided now
    /// are stored before the batch is scored; where another instance decided first, its
    /// decision holds. At most three round trips, none for a batch that looks nothing up.
    pub async fn resolve(&self, decoded: &mut [(usize, Input)]) -> Result<(), StoreError> {
        let looked_up: Vec<&Transaction> = decoded
            .iter()
            .filter_map(|(_, input)| match input {
                Input::Txn(txn) if self.looks_up(txn) => Some(txn),
                _ => None,
            })
            .collect();
        if looked_up.is_empty() {
            return Ok(());
        }
        let mut known = self.load(&looked_up).await?;
        let mut decided: Vec<(String, Owner)> = Vec::new();
        for txn in &looked_up {
            let key = self.keys.txn_owner(&txn.card_token, &txn.txn_id);
            if known.owners.contains_key(&key) || decided.iter().any(|(seen, _)| *seen == key) {
                continue;
            }
            decided.push((key, owner_by_link(txn, &known, self.keys)));
        }
        if !decided.is_empty() {
            self.store_decided(decided, &mut known).await?;
        }
        for (_, input) in decoded.iter_mut() {
            if let Input::Txn(txn) = input {
                if self.looks_up(txn) {
                    let key = self.keys.txn_owner(&txn.card_token, &txn.txn_id);
                    match known.owners.get(&key) {
                        Some(owner) => txn.member_id = owner.member().map(str::to_owned),
                        None => {
                            return Err(StoreError::Protocol(format!(
                                "no owner decided for `{key}`"
                            )))
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn looks_up(&self, txn: &Transaction) -> bool {
        self.pooled_cards || txn.member_id.is_none()
    }

    /// Reads, in one round trip, the links of the transactions' cards and the owners decided
    /// for them and for their originals.
    async fn load(&self, txns: &[&Transaction]) -> Result<Known, StoreError> {
        let mut cards: Vec<&str> = txns.iter().map(|txn| txn.card_token.as_str()).collect();
        cards.sort_unstable();
        cards.dedup();
        let mut owner_keys: Vec<String> = txns
            .iter()
            .flat_map(|txn| {
                std::iter::once(&txn.txn_id)
                    .chain(&txn.original_txn_id)
                    .map(|id| self.keys.txn_owner(&txn.card_token, id))
            })
            .collect();
        owner_keys.sort_unstable();
        owner_keys.dedup();
        let link_keys = cards.iter().map(|card| self.keys.card_link(card));
        let keys: Vec<String> = link_keys.chain(owner_keys.iter().cloned()).collect();
        let loaded = self.store.get_many(&keys).await?;
        let (links, owners) = loaded.split_at(cards.len());
        Ok(Known {
            links: cards
                .into_iter()
                .zip(links)
                .filter_map(|(card, doc)| {
                    let link = serde_json::from_str(&doc.as_ref()?.data).ok()?;
                    Some((card.to_owned(), link))
                })
                .collect(),
            owners: owner_keys
                .into_iter()
                .zip(owners)
                .filter_map(|(key, doc)| Some((key, Owner::from_tag(&doc.as_ref()?.data)?)))
                .collect(),
        })
    }

    /// Stores the owners decided in this batch unless one was stored meanwhile, in which case
    /// the stored one is read back and holds.
    async fn store_decided(
        &self,
        decided: Vec<(String, Owner)>,
        known: &mut Known,
    ) -> Result<(), StoreError> {
        let groups: Vec<WriteGroup> = decided
            .iter()
            .map(|(key, owner)| WriteGroup {
                writes: vec![Write {
                    key: key.clone(),
                    expected_version: 0,
                    data: owner.tag(),
                    ttl: Some(self.ttl),
                }],
                ..WriteGroup::default()
            })
            .collect();
        let outcomes = self.store.apply(&groups).await?;
        let mut raced = Vec::new();
        for ((key, owner), outcome) in decided.into_iter().zip(outcomes) {
            match outcome {
                GroupOutcome::Applied => {
                    known.owners.insert(key, owner);
                }
                GroupOutcome::Conflict { .. } => raced.push(key),
            }
        }
        if raced.is_empty() {
            return Ok(());
        }
        let stored = self.store.get_many(&raced).await?;
        for (key, doc) in raced.into_iter().zip(stored) {
            let owner = doc
                .as_ref()
                .and_then(|doc| Owner::from_tag(&doc.data))
                .ok_or_else(|| {
                    StoreError::Protocol(format!("owner entry `{key}` vanished or is unreadable"))
                })?;
            known.owners.insert(key, owner);
        }
        Ok(())
    }
}

/// The owner of a transaction seen for the first time: its original's, if that was decided
/// here; else the member or pool its card is linked to; else the member it names; else its
/// card.
fn owner_by_link(txn: &Transaction, known: &Known, keys: &Keyspace) -> Owner {
    let original = txn
        .original_txn_id
        .as_ref()
        .and_then(|id| known.owners.get(&keys.txn_owner(&txn.card_token, id)));
    if let Some(owner) = original {
        return owner.clone();
    }
    match (known.links.get(&txn.card_token), &txn.member_id) {
        (Some(link), None) => Owner::Member(link.member_id.clone()),
        (Some(link), Some(_)) if link.pool => Owner::Member(link.member_id.clone()),
        (_, Some(member)) => Owner::Member(member.clone()),
        (None, None) => Owner::Card(txn.card_token.clone()),
    }
}
