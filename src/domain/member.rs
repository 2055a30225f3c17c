//! Per-member loyalty state: the balance and what scoring needs to compute the next change.

use super::activity::Activity;
use super::counters::Counters;
use super::lots::{Lot, Maturing};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use time::OffsetDateTime;

/// A member's points account. Stored as readable JSON; every change to it is a ledger event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    /// Posted points the member can spend.
    pub balance: i64,
    /// Points earned by authorizations (or held) and not yet posted.
    pub pending: i64,
    /// The part of `pending` held by fraud alerts until a review decides.
    #[serde(default)]
    pub held: i64,
    pub tier: String,
    /// All points ever posted, before reversals; a measure of engagement.
    pub lifetime_earned: i64,
    /// Points that reversals could not take back because the balance was already spent.
    pub shortfall: i64,
    /// Transactions applied to this account.
    pub txn_count: u64,
    /// Event time of the latest transaction applied.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_event_at: Option<OffsetDateTime>,
    /// What earning has counted toward caps, campaigns and tier qualification.
    #[serde(default)]
    pub counters: Counters,
    /// The positive balance by earning month, with expiry (see [`super::lots`]).
    #[serde(default)]
    pub lots: Vec<Lot>,
    /// Sales whose points are pending until their settlement window passes.
    #[serde(default)]
    pub maturing: Vec<Maturing>,
    /// Recent activity for the points-abuse rules (see [`super::activity`]).
    #[serde(default)]
    pub activity: VecDeque<Activity>,
    /// Whether the enrolment bonus has been given.
    #[serde(default)]
    pub enrolled: bool,
    /// Redemptions and transfers out are refused while set.
    #[serde(default)]
    pub frozen: bool,
    /// A tier set by an administrator, which qualification does not move.
    #[serde(default)]
    pub tier_override: Option<String>,
    /// Who referred this member, and whether their bonus has been issued.
    #[serde(default)]
    pub referral: Option<Referral>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub referrer_id: String,
    /// Set by the first purchase that posts points, which issues the referrer's bonus.
    pub issued: bool,
}

impl MemberState {
    /// The state of a member seen for the first time.
    pub fn new(tier: &str) -> Self {
        MemberState {
            balance: 0,
            pending: 0,
            held: 0,
            tier: tier.to_owned(),
            lifetime_earned: 0,
            shortfall: 0,
            txn_count: 0,
            last_event_at: None,
            counters: Counters::default(),
            lots: Vec::new(),
            maturing: Vec::new(),
            activity: VecDeque::new(),
            enrolled: false,
            frozen: false,
            tier_override: None,
            referral: None,
        }
    }
}
