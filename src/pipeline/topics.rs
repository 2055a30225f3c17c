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
    /// Internal: every valid input, keyed by its owner, in the one order it is scored in (with
    /// `pipeline.member_ordered`).
    pub by_owner: String,
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
            by_owner: "txscore-by-owner".into(),
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
    pub fn all(&self) -> [&str; 9] {
        [
            &self.transactions,
            &self.reviews,
            &self.commands,
            &self.member_events,
            &self.shadow,
            &self.ledger,
            &self.alerts,
            &self.dlq,
            &self.by_owner,
        ]
    }

    /// Every topic with its field name in `[kafka.topics]`, inputs first.
    pub fn named(&self) -> [(&'static str, &str); 9] {
        let names = [
            "transactions",
            "reviews",
            "commands",
            "member_events",
            "shadow",
            "ledger",
            "alerts",
            "dlq",
            "by_owner",
        ];
        let mut all = self.all().into_iter();
        names.map(|name| (name, all.next().expect("one topic per name")))
    }

    fn all_mut(&mut self) -> [&mut String; 9] {
        [
            &mut self.transactions,
            &mut self.reviews,
            &mut self.commands,
            &mut self.member_events,
            &mut self.shadow,
            &mut self.ledger,
            &mut self.alerts,
            &mut self.dlq,
            &mut self.by_owner,
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

    /// The topics the consumer subscribes to: the inputs, and the owner log when inputs are
    /// routed through it.
    pub fn consumed(&self, member_ordered: bool) -> Vec<&str> {
        let mut topics = self.inputs().to_vec();
        if member_ordered {
            topics.push(&self.by_owner);
        }
        topics
    }

    /// Partitions for each topic where txscore creates them itself (the demo and the bench):
    /// `busy` for the transactions, the owner log and the ledger, half that for alerts, one
    /// for the rest.
    pub fn layout(&self, busy: i32) -> Vec<(&str, i32)> {
        let busy = busy.max(1);
        self.named()
            .into_iter()
            .map(|(name, topic)| match name {
                "transactions" | "by_owner" | "ledger" => (topic, busy),
                "alerts" => (topic, (busy / 2).max(1)),
                _ => (topic, 1),
            })
            .collect()
    }

    /// The topic an output goes to.
    pub fn output(&self, destination: Destination) -> &str {
        match destination {
            Destination::Ledger => &self.ledger,
            Destination::Alerts => &self.alerts,
            Destination::Dlq => &self.dlq,
            Destination::Commands => &self.commands,
            Destination::Shadow => &self.shadow,
            Destination::ByOwner => &self.by_owner,
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

    #[test]
    fn every_topic_is_named_by_its_field() {
        let topics = Topics::default();
        let named = topics.named();
        assert_eq!(named[3], ("member_events", "member-events"));
        assert_eq!(named[8], ("by_owner", "txscore-by-owner"));
        assert_eq!(named.map(|(_, topic)| topic), topics.all());
    }

    #[test]
    fn a_layout_covers_every_topic_and_sizes_the_busy_ones() {
        let topics = Topics::prefixed("t-");
        let layout = topics.layout(8);
        assert_eq!(layout.len(), topics.all().len());
        let partitions = |name: &str| layout.iter().find(|(topic, _)| *topic == name).unwrap().1;
        assert_eq!(partitions("t-transactions"), 8);
        assert_eq!(partitions("t-txscore-by-owner"), 8);
        assert_eq!(partitions("t-alerts"), 4);
        assert_eq!(partitions("t-dlq"), 1);
        assert!(Topics::default()
            .layout(0)
            .iter()
            .all(|(_, count)| *count >= 1));
    }
}
