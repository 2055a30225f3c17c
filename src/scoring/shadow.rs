//! The shadow ruleset: a candidate version scores the same transaction against the same state
//! as the live one, and the two are compared. Only the comparison is kept.

use super::{score, Accounts, Decision};
use crate::domain::shadow::ShadowComparison;
use crate::domain::{LedgerEvent, Transaction};
use crate::rules::RuleSet;

/// Points (posted and pending) a decision's ledger events move.
fn moved(ledger: &[LedgerEvent]) -> i64 {
    ledger
        .iter()
        .map(|event| event.points + event.pending_points)
        .sum()
}

/// Scores `txn` with `candidate` from the `state` the live `decision` started from.
pub fn compare(
    txn: &Transaction,
    member_id: &str,
    state: Accounts,
    live: &Decision,
    live_rules: &RuleSet,
    candidate: &RuleSet,
) -> ShadowComparison {
    let live_points = moved(&live.ledger);
    let outcome = score(txn, Some(member_id), state, candidate);
    let (candidate_points, candidate_error, candidate_breakdown) = match outcome {
        Ok(shadow) => (
            Some(moved(&shadow.ledger)),
            None,
            shadow
                .ledger
                .into_iter()
                .flat_map(|event| event.breakdown)
                .collect(),
        ),
        Err(rejection) => (None, Some(rejection.to_string()), Vec::new()),
    };
    ShadowComparison {
        txn_id: txn.txn_id.clone(),
        member_id: member_id.to_owned(),
        program_id: txn.program_id.clone(),
        live_version: live_rules.version.clone(),
        candidate_version: candidate.version.clone(),
        live_points,
        candidate_points,
        difference: candidate_points.map(|points| points - live_points),
        candidate_error,
        candidate_breakdown,
        occurred_at: txn.timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::fixtures::purchase;

    fn version(name: &str, rate: &str) -> RuleSet {
        RuleSet::from_toml(&format!(
            "version = \"{name}\"\n[programs.default]\nbase_currency = \"CNY\"\npoints_per_unit = \"{rate}\"\ndefault_tier = \"standard\"\ntiers = {{ standard = \"1\" }}\n"
        ))
        .unwrap()
    }

    #[test]
    fn the_comparison_shows_what_the_candidate_would_cost() {
        let (live_rules, candidate) = (version("live", "1"), version("candidate", "1.5"));
        let txn = purchase("T-1", "100");
        let live = score(&txn, Some("M-1"), Accounts::default(), &live_rules).unwrap();
        let comparison = compare(
            &txn,
            "M-1",
            Accounts::default(),
            &live,
            &live_rules,
            &candidate,
        );
        assert_eq!(
            (comparison.live_points, comparison.candidate_points),
            (100, Some(150))
        );
        assert_eq!(comparison.difference, Some(50));
        assert_eq!(comparison.candidate_version, "candidate");
        assert_eq!(comparison.candidate_breakdown[0].rule, "base_rate");
    }
}
