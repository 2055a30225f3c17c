//! A change to a member's points on its way to becoming a ledger event.

use crate::domain::{BreakdownLine, LedgerEvent, LedgerEventType, MemberState};
use crate::rules::{Program, RuleSet};
use time::OffsetDateTime;

/// A change to a member's points about to become a ledger event.
pub(super) struct Entry<'a> {
    pub event_type: LedgerEventType,
    pub txn_id: &'a str,
    /// Told apart from other events of the same type and transaction (a tier change names
    /// its new tier).
    pub qualifier: Option<String>,
    pub points: i64,
    pub pending_points: i64,
    pub breakdown: Vec<BreakdownLine>,
    pub at: OffsetDateTime,
}

impl Entry<'_> {
    /// The ledger event, given the member's account after the change.
    pub fn into_event(
        self,
        member_id: &str,
        member: &MemberState,
        program: &Program,
        rules: &RuleSet,
    ) -> LedgerEvent {
        LedgerEvent {
            event_id: match &self.qualifier {
                None => format!("{}/{}", self.txn_id, self.event_type.as_str()),
                Some(qualifier) => {
                    format!("{}/{}:{qualifier}", self.txn_id, self.event_type.as_str())
                }
            },
            event_type: self.event_type,
            member_id: member_id.to_owned(),
            program_id: program.id.clone(),
            txn_id: self.txn_id.to_owned(),
            points: self.points,
            pending_points: self.pending_points,
            balance_after: member.balance,
            pending_after: member.pending,
            tier: member.tier.clone(),
            breakdown: self.breakdown,
            rules_version: rules.version.clone(),
            occurred_at: self.at,
            expiring: None,
        }
    }
}
