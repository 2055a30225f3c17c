//! Card transactions: owned by the member they name (or, once routing decided it, the card's
//! linked member), else by their card; they touch the card's risk state and, with a member,
//! the member's account in their programme, and act on the original they name.

use super::{Applies, InputKind, ItemKeys, Rules, Working};
use crate::domain::{Transaction, TxnRecord};
use crate::scoring::{self, Accounts, Decision, Rejection};
use crate::store::{Keyspace, Owner};
use time::OffsetDateTime;

impl Applies for Transaction {
    fn kind(&self) -> InputKind {
        InputKind::Transaction
    }

    fn owner(&self) -> Owner {
        match &self.member_id {
            Some(member) => Owner::Member(member.clone()),
            None => Owner::Card(self.card_token.clone()),
        }
    }

    fn event_time(&self) -> OffsetDateTime {
        self.timestamp
    }

    fn keys(&self, keys: &Keyspace, owner: &Owner) -> ItemKeys {
        ItemKeys {
            record: keys.txn(owner, &self.txn_id),
            card: Some(keys.card(owner, &self.card_token)),
            account: matches!(owner, Owner::Member(_))
                .then(|| keys.account(owner, &self.program_id)),
            original: self.original_txn_id.as_ref().map(|id| keys.txn(owner, id)),
            link: None,
            counter_account: None,
        }
    }

    /// Scores the transaction, and with a shadow candidate, compares what it would have done.
    fn apply(&self, working: Working<'_>, rules: Rules<'_>) -> Result<Decision, Rejection> {
        let state = Accounts {
            member: working.member,
            card: working.card.unwrap_or_default(),
            original: working.original.and_then(|record| record.earning.clone()),
            budget: working.budget,
        };
        let shadow = rules.shadow.zip(working.member_id);
        let shadow_state = shadow.map(|_| state.clone());
        let mut decision = scoring::score(self, working.member_id, state, rules.live)?;
        if let (Some((candidate, member_id)), Some(state)) = (shadow, shadow_state) {
            decision.shadow = Some(scoring::shadow::compare(
                self, member_id, state, &decision, rules.live, candidate,
            ));
        }
        Ok(decision)
    }

    fn card_token(&self) -> Option<&str> {
        Some(&self.card_token)
    }

    fn fingerprint(&self) -> Option<u64> {
        Some(Transaction::fingerprint(self))
    }

    /// Records written before fingerprints were kept cannot tell, and count as replays.
    fn conflicts_with(&self, record: &TxnRecord) -> Option<String> {
        let applied = record.fingerprint?;
        (applied != Transaction::fingerprint(self)).then(|| {
            format!(
                "txn_id `{}` was already applied with different content; a redelivery must \
                 repeat the transaction exactly, a new transaction needs a new txn_id",
                self.txn_id
            )
        })
    }
}
