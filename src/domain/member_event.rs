//! Events from member administration (topic `member-events`, key: member_id): enrolment,
//! engagement that earns points, referrals, manual tier changes, freezing, and linking a card
//! to its member.

use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberEventKind {
    /// The member joined the programme: the enrolment bonus, once.
    Enrolled,
    /// The member signed in: the sign-in bonus, at most once a day.
    SignedIn,
    /// The member completed a survey: the survey bonus.
    SurveyCompleted,
    /// The member wrote a review: the review bonus.
    ReviewCompleted,
    /// The member was referred by `referrer_id`, who gets the referral bonus when this
    /// member's first purchase posts.
    Referred {
        referrer_id: String,
    },
    /// An administrator set the tier; qualification no longer moves it until cleared
    /// (`tier` absent).
    TierOverride {
        tier: Option<String>,
    },
    /// Redemptions and transfers out are refused while frozen.
    Frozen,
    Unfrozen,
    /// Transactions on `card_token` without a member_id belong to this member from now on.
    /// With `pool`, the member is a household or company pool that the card earns into even
    /// when its transactions name their own member (where `pipeline.pooled_cards` is on).
    CardLinked {
        card_token: String,
        pool: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEvent {
    /// Unique per event; a redelivered event changes nothing.
    pub event_id: String,
    pub member_id: String,
    pub program_id: String,
    pub kind: MemberEventKind,
    pub timestamp: OffsetDateTime,
}
