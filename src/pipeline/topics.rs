//! The topics txscore reads and writes, named once: in the configuration file's
//! `[kafka.topics]`, by the consumer's subscription, by the decoder that tells an input's kind
//! from its topic, and by the producer that routes each output.

use crate::pipeline::Destination;
use serde::Deserialize;

/// Topic names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topics {
    /// Input: card transactions.
    pub transactions: String,
    /// Input: risk reviewers' verdicts on held points.
    pub reviews: String,
    /// Input (and output, for transfer credits): redemptions and transfers.
    pub commands: String,
    /// Input: enrolment, engagement, referrals, tier overrides, freezes, card links.
    pub member_events: String,
    /// Output: shadow ruleset comparisons.
    pub shadow: String,
    /// Output: ledger events.
    pub ledger: String,
    /// Output: fraud alerts.
    pub alerts: String,
    /// Output: rejected input with the reason.
    pub dlq: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            transactions: "transactions".into(),
            reviews: "reviews".into(),
            commands: "commands".into(),
            member_events: "member-events".into(),
            shadow: "shadow-ledger".into(),
            ledger: "ledger".into(),
            alerts: "alerts".into(),
            dlq: "dlq".into(),
        }
    }
}

impl Topics {
    /// The default names, each after `prefix`: for deployments, benches and tests sharing a
    /// cluster.
    pub fn prefixed(prefix: &str) -> Topics {
        let mut topics = Topics::default();
        for name in topics.all_mut() {
            name.insert_str(0, prefix);
        }
        topics
    }

    /// Every topic, inputs first.
    pub fn all(&self) -> [&str; 8] {
        [
            &self.transactions,
            &self.reviews,
            &self.commands,
            &self.member_events,
            &self.shadow,
            &self.ledger,
            &self.alerts,
            &self.dlq,
        ]
    }

    fn all_mut(&mut self) -> [&mut String; 8] {
        [
            &mut self.transactions,
            &mut self.reviews,
            &mut self.commands,
            &mut self.member_events,
            &mut self.shadow,
            &mut self.ledger,
            &mut self.alerts,
            &mut self.dlq,
        ]
    }

    /// The topics the pipeline consumes.
    pub fn inputs(&self) -> [&str; 4] {
        [
            &self.transactions,
            &self.reviews,
            &self.commands,
            &self.member_events,
        ]
    }

    /// The topic an output goes to.
    pub fn output(&self, destination: Destination) -> &str {
        match destination {
            Destination::Ledger => &self.ledger,
            Destination::Alerts => &self.alerts,
            Destination::Dlq => &self.dlq,
            Destination::Commands => &self.commands,
            Destination::Shadow => &self.shadow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_names_follow_the_defaults() {
        let topics = Topics::prefixed("bench-");
        let defaults = Topics::default();
        for (prefixed, default) in topics.all().iter().zip(defaults.all()) {
            assert_eq!(*prefixed, format!("bench-{default}"));
        }
        assert_eq!(topics.inputs(), topics.all()[..4]);
    }
}
