//! Campaign budgets across a batch. A budget is one counter every member draws from, so it
//! cannot join a member's compare-and-set group; each transaction's draw is instead a claim on
//! the counter keyed by the transaction:
//!
//! 1. a transaction scored with nothing reserved says what its budgeted campaigns would give;
//!    its group is not written, and those amounts are reserved (cut to what the budget has
//!    left; a claim made before answers what it was granted, so every rescoring, redelivery or
//!    second instance sees the same grant);
//! 2. the group is scored again within the grants, against the documents already read, and
//!    written;
//! 3. once written, each claim that differs is settled to what the transaction finally drew
//!    (less than the grant when its state had moved, nothing when it was rejected; negative
//!    for a refund giving points back). The record keeps the draws, so a replay settles them
//!    again.
//!
//! A crash between reserving and settling leaves a claim at its grant, which the redelivered
//! transaction settles: a budget is never overspent, and only briefly under-spent.

use super::inputs::Input;
use crate::domain::record::BudgetDraws;
use crate::domain::TxnRecord;
use crate::rules::RuleSet;
use crate::scoring::BudgetRoom;
use crate::store::{Claim, Keyspace, Owner};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// A transaction's claim on one campaign's budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BudgetClaim {
    pub program_id: String,
    pub campaign: String,
    /// Whose draw it is: see [`claimant`].
    pub claimant: String,
    pub amount: i64,
    /// The campaign's budget (for reserving).
    pub limit: i64,
}

/// Who draws on a budget: a transaction of one owner. Transaction ids are unique per issuer,
/// not across all of them, so the owner is part of it (`:` never appears in an id, so the
/// tag's own `m:`/`c:` is the only one before the separator).
fn claimant(owner: &Owner, txn_id: &str) -> String {
    format!("{}:{txn_id}", owner.tag())
}

/// Points reserved for transactions of the batch, by claimant and campaign.
#[derive(Debug, Default)]
pub(super) struct Grants(HashMap<String, BTreeMap<String, i64>>);

impl Grants {
    /// What `claimant` may draw: its grants once reserved.
    pub fn room(&self, claimant: &str) -> BudgetRoom {
        self.0
            .get(claimant)
            .map_or(BudgetRoom::Unreserved, |granted| {
                BudgetRoom::Granted(granted.clone())
            })
    }

    /// Records what reserving `asks` granted.
    pub fn extend(&mut self, asks: &[BudgetClaim], granted: Vec<i64>) {
        for (ask, points) in asks.iter().zip(granted) {
            self.0
                .entry(ask.claimant.clone())
                .or_default()
                .insert(ask.campaign.clone(), points);
        }
    }
}

/// One owner group's dealings with campaign budgets while it is scored: what each of its
/// transactions may draw, what must be reserved before the group can be scored for real, and
/// what to settle once it is written.
pub(super) struct GroupBudgets<'a> {
    owner: &'a Owner,
    grants: &'a Grants,
    /// Budget points to reserve before the group can be scored for real.
    pub asks: Vec<BudgetClaim>,
    /// Claims to settle once the group is written.
    pub settles: Vec<BudgetClaim>,
}

impl<'a> GroupBudgets<'a> {
    pub fn new(owner: &'a Owner, grants: &'a Grants) -> Self {
        GroupBudgets {
            owner,
            grants,
            asks: Vec::new(),
            settles: Vec::new(),
        }
    }

    /// What `input` may draw: what was reserved for it, if anything was. Only transactions
    /// draw on budgets; every other input is scored unreserved and never asks.
    pub fn room(&self, input: &Input) -> BudgetRoom {
        match input {
            Input::Txn(txn) => self.grants.room(&claimant(self.owner, &txn.txn_id)),
            _ => BudgetRoom::Unreserved,
        }
    }

    /// `input` was applied before and its record says what it drew: settle that again.
    pub fn replayed(&mut self, input: &Input, record: &TxnRecord) {
        let Input::Txn(txn) = input else { return };
        let drew = record.budget.as_ref();
        let claimant = claimant(self.owner, &txn.txn_id);
        let room = self.grants.room(&claimant);
        self.settles
            .extend(settlements(&claimant, &room, &txn.program_id, drew));
    }

    /// `input`, scored within `room`, drew `drew` (nothing when it was rejected): what it would
    /// draw is reserved first if nothing was, else its claims are settled to what it drew.
    pub fn scored(
        &mut self,
        input: &Input,
        room: &BudgetRoom,
        drew: Option<&BudgetDraws>,
        rules: &RuleSet,
    ) {
        let Input::Txn(txn) = input else { return };
        let claimant = claimant(self.owner, &txn.txn_id);
        let asks = asks(room, &claimant, drew, rules);
        if asks.is_empty() {
            self.settles
                .extend(settlements(&claimant, room, &txn.program_id, drew));
        }
        self.asks.extend(asks);
    }

    /// `input`, a refund, changed the record of its original (`original`), which lives on: so
    /// must the claims of what the original drew, or a replay of it after they expired would
    /// draw its share again.
    pub fn original_kept(&mut self, input: &Input, original: &TxnRecord) {
        let Input::Txn(txn) = input else { return };
        let Some(original_id) = &txn.original_txn_id else {
            return;
        };
        let drew = original.budget.as_ref();
        let claimant = claimant(self.owner, original_id);
        self.settles.extend(settlements(
            &claimant,
            &BudgetRoom::Unreserved,
            &txn.program_id,
            drew,
        ));
    }
}

/// What to reserve for `claimant`, scored with `room`, that drew `draws`: nothing once reserved.
fn asks(
    room: &BudgetRoom,
    claimant: &str,
    draws: Option<&BudgetDraws>,
    rules: &RuleSet,
) -> Vec<BudgetClaim> {
    let (BudgetRoom::Unreserved, Some(draws)) = (room, draws) else {
        return Vec::new();
    };
    let Some(program) = rules.programs.get(&draws.program_id) else {
        return Vec::new();
    };
    draws
        .campaigns
        .iter()
        .filter(|(_, points)| **points > 0)
        .filter_map(|(campaign, points)| {
            let limit = program
                .earning
                .campaigns
                .iter()
                .find(|rule| &rule.id == campaign)?
                .budget?;
            Some(BudgetClaim {
                program_id: draws.program_id.clone(),
                campaign: campaign.clone(),
                claimant: claimant.to_owned(),
                amount: *points,
                limit,
            })
        })
        .collect()
}

/// The final claims of `claimant` that its grants (`room`) do not already hold: what it drew
/// (`draws`, none when it was rejected), and zero for anything reserved that it did not draw.
/// Usually a transaction draws just what was reserved, and there is nothing to settle.
fn settlements(
    claimant: &str,
    room: &BudgetRoom,
    program_id: &str,
    draws: Option<&BudgetDraws>,
) -> Vec<BudgetClaim> {
    let no_grants = BTreeMap::new();
    let granted = match room {
        BudgetRoom::Granted(granted) => granted,
        BudgetRoom::Unreserved => &no_grants,
    };
    let mut amounts: BTreeMap<&str, i64> = granted
        .keys()
        .map(|campaign| (campaign.as_str(), 0))
        .collect();
    if let Some(draws) = draws {
        amounts.extend(
            draws
                .campaigns
                .iter()
                .map(|(campaign, points)| (campaign.as_str(), *points)),
        );
    }
    let program_id = draws.map_or(program_id, |draws| draws.program_id.as_str());
    amounts
        .into_iter()
        .filter(|(campaign, amount)| granted.get(*campaign) != Some(amount))
        .map(|(campaign, amount)| BudgetClaim {
            program_id: program_id.to_owned(),
            campaign: campaign.to_owned(),
            claimant: claimant.to_owned(),
            amount,
            limit: 0,
        })
        .collect()
}

/// The store claims for `claims`, kept for `ttl` (the transaction record's lifetime).
pub(super) fn store_claims(keys: &Keyspace, claims: &[BudgetClaim], ttl: Duration) -> Vec<Claim> {
    claims
        .iter()
        .map(|claim| Claim {
            counter: keys.campaign_budget(&claim.program_id, &claim.campaign),
            claim: keys.budget_claim(&claim.program_id, &claim.campaign, &claim.claimant),
            amount: claim.amount,
            limit: claim.limit,
            ttl,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(campaigns: &[(&str, i64)]) -> BudgetDraws {
        BudgetDraws {
            program_id: "default".into(),
            campaigns: campaigns
                .iter()
                .map(|(c, p)| ((*c).to_owned(), *p))
                .collect(),
        }
    }

    fn granted(campaigns: &[(&str, i64)]) -> BudgetRoom {
        BudgetRoom::Granted(
            campaigns
                .iter()
                .map(|(c, p)| ((*c).to_owned(), *p))
                .collect(),
        )
    }

    fn amounts(claims: Vec<BudgetClaim>) -> Vec<(String, i64)> {
        claims.into_iter().map(|c| (c.campaign, c.amount)).collect()
    }

    #[test]
    fn only_claims_that_differ_from_their_grant_are_settled() {
        let room = granted(&[("a", 50), ("b", 30)]);
        let drew = draws(&[("a", 50), ("b", 10)]);
        assert_eq!(
            amounts(settlements("T-1", &room, "default", Some(&drew))),
            [("b".to_owned(), 10)]
        );
        assert_eq!(
            amounts(settlements("T-1", &room, "default", None)),
            [("a".to_owned(), 0), ("b".to_owned(), 0)],
            "a rejected transaction gives its grants back"
        );
        let refund = draws(&[("a", -25)]);
        assert_eq!(
            amounts(settlements(
                "R-1",
                &BudgetRoom::Unreserved,
                "default",
                Some(&refund)
            )),
            [("a".to_owned(), -25)]
        );
    }

    #[test]
    fn only_unreserved_draws_on_budgeted_campaigns_are_asked_for() {
        let rules = crate::scoring::fixtures::programme(
            r#"[[programs.default.earning.campaigns]]
id = "a"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
bonus = 50
budget = 900
"#,
        );
        let drew = draws(&[("a", 50), ("gone", 5)]);
        let asked = asks(&BudgetRoom::Unreserved, "m:M-1:T-1", Some(&drew), &rules);
        assert_eq!(
            asked,
            [BudgetClaim {
                program_id: "default".into(),
                campaign: "a".into(),
                claimant: "m:M-1:T-1".into(),
                amount: 50,
                limit: 900,
            }]
        );
        assert!(asks(&granted(&[("a", 50)]), "T-1", Some(&drew), &rules).is_empty());
        assert!(asks(
            &BudgetRoom::Unreserved,
            "R-1",
            Some(&draws(&[("a", -5)])),
            &rules
        )
        .is_empty());
    }
}
