//! Key layout. Everything one transaction touches lives under its owner's hash tag, so one
//! atomic script can update it on a single Redis Cluster node:
//!
//! ```text
//! {prefix}:{m:<member_id>}:account:<program_id>   member's points account (MemberState JSON)
//! {prefix}:{m:<member_id>}:card:<card_token>      card risk state (CardState JSON)
//! {prefix}:{m:<member_id>}:txn:<txn_id>           applied-transaction record (TxnRecord JSON)
//! {prefix}:{m:<member_id>}:review:<review_id>     applied-review record (TxnRecord JSON)
//! {prefix}:{m:<member_id>}:command:<command_id>   applied-command record (TxnRecord JSON)
//! {prefix}:{m:<member_id>}:sweep:<sweep>:<program>  an expiry sweep's record for an account
//! {prefix}:{m:<member_id>}:member-event:<id>     applied member-event record (TxnRecord JSON)
//! {prefix}:{c:<card_token>}:link                   the member a card belongs to (CardLink JSON)
//! {prefix}:{m:<member_id>}:ledger                  recent ledger events, newest first (list)
//! {prefix}:{c:<card_token>}:owner                  the tag the card's state lives under (string)
//! {prefix}:{c:<card_token>}:txn-owner:<txn_id>      the tag a looked-up transaction belongs to
//! {prefix}:{applied}                               input offsets whose writes are held (hash)
//! {prefix}:{b:<program>:<campaign>}:budget          points drawn from a campaign's budget (integer)
//! {prefix}:{b:<program>:<campaign>}:claim:<owner tag>:<txn_id>  one transaction's draw on it
//! ```
//!
//! A card with no known member is owned by itself (`{c:<card_token>}`).

/// Whose hash tag a transaction's state lives under.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    Member(String),
    Card(String),
}

impl Owner {
    /// The hash tag's content, e.g. `m:M-1001`.
    pub fn tag(&self) -> String {
        match self {
            Owner::Member(id) => format!("m:{id}"),
            Owner::Card(token) => format!("c:{token}"),
        }
    }

    /// The member this owner is; `None` for a card without one.
    pub fn member(&self) -> Option<&str> {
        match self {
            Owner::Member(id) => Some(id),
            Owner::Card(_) => None,
        }
    }

    /// Reads back what [`Owner::tag`] wrote.
    pub fn from_tag(tag: &str) -> Option<Owner> {
        match tag.split_once(':')? {
            ("m", id) => Some(Owner::Member(id.to_owned())),
            ("c", token) => Some(Owner::Card(token.to_owned())),
            _ => None,
        }
    }
}

/// Builds keys under a configurable prefix, so several deployments can share one Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyspace {
    prefix: String,
}

impl Keyspace {
    pub fn new(prefix: &str) -> Self {
        Keyspace {
            prefix: prefix.to_owned(),
        }
    }

    pub fn account(&self, owner: &Owner, program_id: &str) -> String {
        format!("{}:{{{}}}:account:{program_id}", self.prefix, owner.tag())
    }

    pub fn card(&self, owner: &Owner, card_token: &str) -> String {
        format!("{}:{{{}}}:card:{card_token}", self.prefix, owner.tag())
    }

    pub fn txn(&self, owner: &Owner, txn_id: &str) -> String {
        format!("{}:{{{}}}:txn:{txn_id}", self.prefix, owner.tag())
    }

    pub fn review(&self, owner: &Owner, review_id: &str) -> String {
        format!("{}:{{{}}}:review:{review_id}", self.prefix, owner.tag())
    }

    pub fn command(&self, owner: &Owner, command_id: &str) -> String {
        format!("{}:{{{}}}:command:{command_id}", self.prefix, owner.tag())
    }

    /// The record of one expiry sweep (`trigger`) over one of the owner's accounts.
    pub fn sweep(&self, owner: &Owner, trigger: &str, program_id: &str) -> String {
        format!(
            "{}:{{{}}}:sweep:{trigger}:{program_id}",
            self.prefix,
            owner.tag()
        )
    }

    pub fn member_event(&self, owner: &Owner, event_id: &str) -> String {
        format!(
            "{}:{{{}}}:member-event:{event_id}",
            self.prefix,
            owner.tag()
        )
    }

    /// The member a card's member-less transactions belong to.
    pub fn card_link(&self, card_token: &str) -> String {
        format!("{}:{{c:{card_token}}}:link", self.prefix)
    }

    pub fn ledger(&self, owner: &Owner) -> String {
        format!("{}:{{{}}}:ledger", self.prefix, owner.tag())
    }

    /// What every key under `owner`'s hash tag starts with.
    pub fn owner_prefix(&self, owner: &Owner) -> String {
        format!("{}:{{{}}}:", self.prefix, owner.tag())
    }

    /// A SCAN pattern matching every member account, and the programme of a matching key.
    pub fn account_pattern(&self) -> String {
        format!("{}:{{m:*}}:account:*", self.prefix)
    }

    pub fn program_of_account(key: &str) -> Option<&str> {
        key.rsplit_once(":account:").map(|(_, program)| program)
    }

    /// Points drawn so far from a campaign's budget, shared by all members.
    pub fn campaign_budget(&self, program_id: &str, campaign: &str) -> String {
        format!("{}:{{b:{program_id}:{campaign}}}:budget", self.prefix)
    }

    /// One claimant's (an owner's transaction's) claim on a campaign's budget, beside the
    /// budget's counter.
    pub fn budget_claim(&self, program_id: &str, campaign: &str, claimant: &str) -> String {
        format!(
            "{}:{{b:{program_id}:{campaign}}}:claim:{claimant}",
            self.prefix
        )
    }

    /// The owner decided for a transaction on `card_token` whose owner was looked up.
    pub fn txn_owner(&self, card_token: &str, txn_id: &str) -> String {
        format!("{}:{{c:{card_token}}}:txn-owner:{txn_id}", self.prefix)
    }

    /// The input positions the store holds the writes of, per `<topic>:<partition>`.
    pub fn applied(&self) -> String {
        format!("{}:{{applied}}", self.prefix)
    }

    /// Index entry naming the owner whose tag holds `card_token`'s state.
    pub fn card_owner(&self, card_token: &str) -> String {
        format!("{}:{{c:{card_token}}}:owner", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').unwrap();
        let close = open + key[open..].find('}').unwrap();
        &key[open + 1..close]
    }

    #[test]
    fn all_keys_of_an_owner_share_one_hash_tag() {
        let keys = Keyspace::new("txscore");
        let owner = Owner::Member("M-1001".into());
        let tags = [
            keys.account(&owner, "default"),
            keys.card(&owner, "tok_1"),
            keys.txn(&owner, "T-1"),
            keys.ledger(&owner),
        ];
        assert!(tags.iter().all(|key| hash_tag(key) == "m:M-1001"));
        assert_eq!(tags[0], "txscore:{m:M-1001}:account:default");
    }

    #[test]
    fn keys_are_under_their_owner_only() {
        let keys = Keyspace::new("txscore");
        let owner = Owner::Member("M-1".into());
        let under = |key: String| key.starts_with(&keys.owner_prefix(&owner));
        assert!(under(keys.txn(&owner, "T-1")));
        assert!(under(keys.account(&owner, "default")));
        assert!(!under(keys.txn(&Owner::Member("M-10".into()), "T-1")));
        assert!(!under(keys.card_link("tok")));
        assert!(!under(Keyspace::new("other").txn(&owner, "T-1")));
    }

    #[test]
    fn owner_tags_read_back() {
        for owner in [Owner::Member("M:1".into()), Owner::Card("tok_1".into())] {
            assert_eq!(Owner::from_tag(&owner.tag()), Some(owner));
        }
        assert_eq!(Owner::from_tag("x:1"), None);
    }
}
