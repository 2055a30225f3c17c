//! Campaign budgets shared by all members, as scoring sees them: what a transaction may draw
//! ([`BudgetRoom`], reserved by the pipeline beforehand) and what it drew or gave back.

use super::account::AccountChange;
use crate::domain::counters::Counted;
use crate::domain::record::BudgetDraws;
use std::collections::BTreeMap;

/// What a transaction may draw from its programme's campaign budgets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BudgetRoom {
    /// Nothing reserved yet: budgeted campaigns give what they would, and the decision's
    /// draws say what to reserve before scoring again.
    #[default]
    Unreserved,
    /// Points reserved per campaign; a budgeted campaign not named here gives nothing.
    Granted(BTreeMap<String, i64>),
}

/// The budget points `change` draws (its earning's) and gives back (its share of the earning
/// it takes back), by campaign; `None` when it touches no budget.
pub(super) fn draws(program_id: &str, change: &AccountChange) -> Option<BudgetDraws> {
    let mut campaigns = change.counted.budget.clone();
    if let Some(uncount) = &change.uncounted {
        for (campaign, drawn) in &uncount.counted.budget {
            let returned = Counted::share(*drawn, uncount.points, uncount.of);
            *campaigns.entry(campaign.clone()).or_default() -= returned;
        }
    }
    (!campaigns.is_empty()).then(|| BudgetDraws {
        program_id: program_id.to_owned(),
        campaigns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MemberState, Transaction, TxnKind};
    use crate::rules::RuleSet;
    use crate::scoring::fixtures::{programme, purchase};
    use crate::scoring::{score, Accounts, Decision};

    /// A 50-point bonus on every purchase, 120 points for all members together.
    fn rules() -> RuleSet {
        programme(
            r#"[[programs.default.earning.campaigns]]
id = "launch"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
bonus = 50
budget = 120
"#,
        )
    }

    fn scored(txn: &Transaction, accounts: Accounts) -> Decision {
        score(txn, Some("M-1"), accounts, &rules()).unwrap()
    }

    fn drawn(decision: &Decision) -> Vec<(&str, i64)> {
        decision
            .records
            .budget
            .iter()
            .flat_map(|draws| &draws.campaigns)
            .map(|(c, p)| (c.as_str(), *p))
            .collect()
    }

    #[test]
    fn unreserved_a_campaign_gives_what_it_would_and_says_what_to_reserve() {
        let decision = scored(&purchase("T-1", "100"), Accounts::default());
        assert_eq!(decision.ledger[0].points, 150);
        assert_eq!(drawn(&decision), [("launch", 50)]);
    }

    #[test]
    fn a_grant_cuts_the_campaign_and_the_receipt_says_why() {
        let granted = BudgetRoom::Granted([("launch".to_owned(), 20)].into());
        let decision = scored(
            &purchase("T-1", "100"),
            Accounts {
                budget: granted,
                ..Accounts::default()
            },
        );
        let event = &decision.ledger[0];
        assert_eq!(event.points, 120);
        let line = event
            .breakdown
            .iter()
            .find(|l| l.rule == "campaign:launch")
            .unwrap();
        assert_eq!(line.points, 20.into());
        assert!(
            line.detail.contains("left of the campaign's budget of 120"),
            "{}",
            line.detail
        );
        assert_eq!(drawn(&decision), [("launch", 20)]);

        let nothing_left = BudgetRoom::Granted(Default::default());
        let decision = scored(
            &purchase("T-2", "100"),
            Accounts {
                budget: nothing_left,
                ..Accounts::default()
            },
        );
        assert_eq!(decision.ledger[0].points, 100);
        assert!(decision.ledger[0]
            .breakdown
            .iter()
            .all(|l| l.rule != "campaign:launch"));
        assert_eq!(decision.records.budget, None);
    }

    #[test]
    fn a_fractional_bonus_draws_its_whole_points_rounded_up() {
        let rules = programme(
            r#"[[programs.default.earning.campaigns]]
id = "half_more"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
multiplier = "1.5"
budget = 1000
"#,
        );
        let decision = score(
            &purchase("T-1", "33"),
            Some("M-1"),
            Accounts::default(),
            &rules,
        );
        let decision = decision.unwrap();
        assert_eq!(drawn(&decision), [("half_more", 17)], "16.5 points given");
    }

    #[test]
    fn a_refund_gives_back_its_share_of_what_the_sale_drew() {
        let sale = scored(&purchase("T-1", "100"), Accounts::default());
        let refund = Transaction {
            kind: TxnKind::Refund,
            original_txn_id: Some("T-1".into()),
            ..purchase("R-1", "40")
        };
        let decision = scored(
            &refund,
            Accounts {
                member: sale.member.clone(),
                original: sale.records.earning.clone(),
                ..Accounts::default()
            },
        );
        assert_eq!(decision.ledger[0].points, -60);
        assert_eq!(drawn(&decision), [("launch", -20)]);
    }

    #[test]
    fn a_clearing_draws_its_own_bonus_and_gives_back_the_authorizations() {
        let authorization = Transaction {
            kind: TxnKind::Authorization,
            ..purchase("A-1", "100")
        };
        let held = scored(&authorization, Accounts::default());
        assert_eq!(drawn(&held), [("launch", 50)]);
        let clearing = Transaction {
            kind: TxnKind::Clearing,
            original_txn_id: Some("A-1".into()),
            ..purchase("C-1", "90")
        };
        let granted = BudgetRoom::Granted([("launch".to_owned(), 30)].into());
        let cleared = scored(
            &clearing,
            Accounts {
                member: held.member.clone(),
                original: held.records.earning.clone(),
                budget: granted,
                ..Accounts::default()
            },
        );
        assert_eq!(cleared.ledger[0].points, 120);
        assert_eq!(drawn(&cleared), [("launch", 30 - 50)]);
        assert_eq!(cleared.member.map(|m: MemberState| m.balance), Some(120));
    }
}
