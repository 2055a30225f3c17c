//! Enrolment, engagement, referrals, tier overrides, freezes and card links: owned by the
//! member and acting on their account, except a card link, which is owned by its card and
//! writes only the link that routes the card's member-less transactions.

use super::{Applies, InputKind, ItemKeys, Rules, Working};
use crate::domain::member_event::{MemberEvent, MemberEventKind};
use crate::domain::CardLink;
use crate::scoring::{self, Decision, Rejection};
use crate::store::{Keyspace, Owner};
use time::OffsetDateTime;

impl Applies for MemberEvent {
    fn kind(&self) -> InputKind {
        InputKind::MemberEvent
    }

    fn owner(&self) -> Owner {
        match &self.kind {
            MemberEventKind::CardLinked { card_token, .. } => Owner::Card(card_token.clone()),
            _ => Owner::Member(self.member_id.clone()),
        }
    }

    fn event_time(&self) -> OffsetDateTime {
        self.timestamp
    }

    fn keys(&self, keys: &Keyspace, owner: &Owner) -> ItemKeys {
        let card_link = match &self.kind {
            MemberEventKind::CardLinked { card_token, .. } => Some(card_token),
            _ => None,
        };
        ItemKeys {
            record: keys.member_event(owner, &self.event_id),
            card: None,
            account: card_link
                .is_none()
                .then(|| keys.account(owner, &self.program_id)),
            original: None,
            link: card_link.map(|token| keys.card_link(token)),
            counter_account: None,
        }
    }

    /// A card link changes no account: it writes only the link.
    fn apply(&self, working: Working<'_>, rules: Rules<'_>) -> Result<Decision, Rejection> {
        match &self.kind {
            MemberEventKind::CardLinked { pool, .. } => Ok(Decision {
                link: Some(CardLink {
                    member_id: self.member_id.clone(),
                    pool: *pool,
                }),
                ..Decision::default()
            }),
            _ => scoring::member_events::apply(self, working.member, rules.live),
        }
    }
}
