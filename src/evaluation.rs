//! Rule evaluation on labelled history: per rule, how many transactions it flagged, and where
//! labels say which were fraud, its precision and recall. Pure counting; `txscore replay`
//! feeds it.

use std::collections::{BTreeMap, BTreeSet};

/// Counts for one rule (or for "any enforced alert").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCounts {
    /// Transactions the rule flagged.
    pub flagged: u64,
    /// Flagged transactions that carry a label.
    pub flagged_labelled: u64,
    /// Flagged transactions labelled fraud.
    pub true_positives: u64,
}

/// Everything `replay` reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Transactions scored (excludes dead-lettered ones).
    pub scored: u64,
    pub labelled: u64,
    pub labelled_fraud: u64,
    pub by_rule: BTreeMap<String, RuleCounts>,
    /// Any enforced alert, whatever the rule.
    pub any_enforced: RuleCounts,
}

/// The name of the row that counts any enforced alert.
pub const ANY_ENFORCED: &str = "(any enforced alert)";

impl Evaluation {
    /// Adds one scored transaction: its label (if any), the rules that tripped on it, and
    /// whether any of them was enforced.
    pub fn add(&mut self, label: Option<bool>, rules: &BTreeSet<String>, enforced: bool) {
        self.scored += 1;
        if let Some(fraud) = label {
            self.labelled += 1;
            self.labelled_fraud += u64::from(fraud);
        }
        for rule in rules {
            self.by_rule.entry(rule.clone()).or_default().count(label);
        }
        if enforced {
            self.any_enforced.count(label);
        }
    }

    /// Alerts per 1,000 scored transactions.
    pub fn per_thousand(&self, counts: &RuleCounts) -> f64 {
        if self.scored == 0 {
            0.0
        } else {
            counts.flagged as f64 * 1000.0 / self.scored as f64
        }
    }

    /// Share of labelled flags that were fraud; `None` without labelled flags.
    pub fn precision(&self, counts: &RuleCounts) -> Option<f64> {
        (counts.flagged_labelled > 0)
            .then(|| counts.true_positives as f64 / counts.flagged_labelled as f64)
    }

    /// Share of labelled fraud the rule flagged; `None` without labelled fraud.
    pub fn recall(&self, counts: &RuleCounts) -> Option<f64> {
        (self.labelled_fraud > 0).then(|| counts.true_positives as f64 / self.labelled_fraud as f64)
    }
}

impl RuleCounts {
    fn count(&mut self, label: Option<bool>) {
        self.flagged += 1;
        if let Some(fraud) = label {
            self.flagged_labelled += 1;
            self.true_positives += u64::from(fraud);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn precision_recall_and_rate_per_rule() {
        let mut evaluation = Evaluation::default();
        evaluation.add(Some(true), &rules(&["velocity", "travel"]), true);
        evaluation.add(Some(true), &rules(&[]), false);
        evaluation.add(Some(false), &rules(&["velocity"]), true);
        evaluation.add(None, &rules(&["velocity"]), true);
        for _ in 0..6 {
            evaluation.add(Some(false), &rules(&[]), false);
        }
        let velocity = &evaluation.by_rule["velocity"];
        assert_eq!(
            (
                velocity.flagged,
                velocity.flagged_labelled,
                velocity.true_positives
            ),
            (3, 2, 1)
        );
        assert_eq!(evaluation.precision(velocity), Some(0.5));
        assert_eq!(evaluation.recall(velocity), Some(0.5));
        assert_eq!(evaluation.per_thousand(velocity), 300.0);
        assert_eq!(evaluation.recall(&evaluation.by_rule["travel"]), Some(0.5));
        assert_eq!(
            evaluation.precision(&evaluation.by_rule["travel"]),
            Some(1.0)
        );
    }

    #[test]
    fn without_labels_only_rates_are_known() {
        let mut evaluation = Evaluation::default();
        evaluation.add(None, &rules(&["velocity"]), true);
        let velocity = &evaluation.by_rule["velocity"];
        assert_eq!(evaluation.precision(velocity), None);
        assert_eq!(evaluation.recall(velocity), None);
        assert_eq!(evaluation.any_enforced.flagged, 1);
    }
}
