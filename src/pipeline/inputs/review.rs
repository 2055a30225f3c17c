//! Risk reviewers' verdicts on held points: owned by the member, acting on the held
//! transaction's record and the member's account.

use super::{Applies, InputKind, ItemKeys, Rules, Working};
use crate::domain::review::Review;
use crate::scoring::{self, Decision, Rejection};
use crate::store::{Keyspace, Owner};
use time::OffsetDateTime;

impl Applies for Review {
    fn kind(&self) -> InputKind {
        InputKind::Review
    }

    fn owner(&self) -> Owner {
        Owner::Member(self.member_id.clone())
    }

    fn event_time(&self) -> OffsetDateTime {
        self.timestamp
    }

    fn keys(&self, keys: &Keyspace, owner: &Owner) -> ItemKeys {
        ItemKeys {
            record: keys.review(owner, &self.review_id),
            card: None,
            account: Some(keys.account(owner, &self.program_id)),
            original: Some(keys.txn(owner, &self.txn_id)),
            link: None,
            counter_account: None,
        }
    }

    fn apply(&self, working: Working<'_>, rules: Rules<'_>) -> Result<Decision, Rejection> {
        let held = working.original.and_then(|record| record.earning.clone());
        scoring::review::review(self, working.member, held, rules.live)
    }
}
