//! What a batch produces: messages to publish (by destination) and the report of how its
//! messages fared, for publishing and metrics.

pub use super::owner_log::Origin;
use crate::domain::record::{OutputMessage, OutputTopic, Payload};
use crate::scoring;
use crate::wire::encode_command;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Where an output goes; topic names come from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    Ledger,
    Alerts,
    Dlq,
    /// Commands txscore issues (a transfer's credit), back onto the commands topic.
    Commands,
    /// Comparisons of a shadow rules version with the live one.
    Shadow,
    /// Inputs routed to the owner log, to be scored in its order.
    ByOwner,
}

impl Destination {
    /// Every destination, in declaration order (so `destination as usize` indexes it).
    pub const ALL: [Destination; 6] = [
        Destination::Ledger,
        Destination::Alerts,
        Destination::Dlq,
        Destination::Commands,
        Destination::Shadow,
        Destination::ByOwner,
    ];

    /// Stable name, for metric labels and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Destination::Ledger => "ledger",
            Destination::Alerts => "alerts",
            Destination::Dlq => "dlq",
            Destination::Commands => "commands",
            Destination::Shadow => "shadow",
            Destination::ByOwner => "by_owner",
        }
    }
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub destination: Destination,
    pub key: String,
    pub payload: String,
    /// For an input routed to the owner log, where it was consumed from.
    pub origin: Option<Origin>,
}

/// What a batch produced and how its messages fared, for publishing and metrics.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// Outputs in publishing order (per owner, in offset order).
    pub outbound: Vec<Outbound>,
    /// Valid inputs forwarded to the owner log (scored when they come back from it).
    pub routed: u64,
    /// Transactions applied for the first time.
    pub scored: u64,
    /// Transactions already applied before (redelivery or upstream duplicate).
    pub replayed: u64,
    /// Messages sent to the dead-letter topic, by error kind.
    pub dead_lettered: BTreeMap<&'static str, u64>,
    /// Points moved by newly applied transactions, by ledger event type.
    pub points: BTreeMap<&'static str, i128>,
    /// Rule findings in alerts raised by newly applied transactions: (rule, severity, mode).
    pub alerts: Vec<(String, &'static str, &'static str)>,
    /// Combined scores of those alerts, with their mode.
    pub alert_scores: Vec<(f64, &'static str)>,
    /// Event times of newly applied transactions, for event-time lag.
    pub event_times: Vec<OffsetDateTime>,
    /// Owner groups scored again after a version conflict.
    pub conflicts: u64,
    /// Spends that arrived beyond the lateness bound.
    pub late: u64,
}

pub(super) fn encode_outputs(decision: &scoring::Decision) -> Vec<OutputMessage> {
    let ledger = decision.ledger.iter().map(|event| OutputMessage {
        topic: OutputTopic::Ledger,
        key: event.member_id.clone(),
        payload: Payload::encode(event),
    });
    let alerts = decision.alerts.iter().map(|alert| OutputMessage {
        topic: OutputTopic::Alerts,
        key: alert
            .card_token
            .clone()
            .or_else(|| alert.member_id.clone())
            .unwrap_or_default(),
        payload: Payload::encode(alert),
    });
    let commands = decision.commands.iter().map(|command| OutputMessage {
        topic: OutputTopic::Commands,
        key: command.member_id.clone(),
        payload: encode_command(command),
    });
    let shadow = decision.shadow.iter().map(|comparison| OutputMessage {
        topic: OutputTopic::Shadow,
        key: comparison.member_id.clone(),
        payload: Payload::encode(comparison),
    });
    ledger.chain(alerts).chain(commands).chain(shadow).collect()
}

impl From<&OutputMessage> for Outbound {
    fn from(message: &OutputMessage) -> Self {
        Outbound {
            destination: match message.topic {
                OutputTopic::Ledger => Destination::Ledger,
                OutputTopic::Alerts => Destination::Alerts,
                OutputTopic::Commands => Destination::Commands,
                OutputTopic::Shadow => Destination::Shadow,
            },
            key: message.key.clone(),
            payload: message.payload.text().to_owned(),
            origin: None,
        }
    }
}

impl BatchReport {
    /// Outputs per destination, in the order of [`Destination::ALL`], counted in one pass.
    pub fn outputs_by_destination(&self) -> [u64; Destination::ALL.len()] {
        let mut counts = [0; Destination::ALL.len()];
        for message in &self.outbound {
            counts[message.destination as usize] += 1;
        }
        counts
    }

    pub(super) fn record_applied(&mut self, at: OffsetDateTime, decision: &scoring::Decision) {
        self.scored += 1;
        self.late += u64::from(decision.late);
        self.event_times.push(at);
        for event in &decision.ledger {
            // Points a flow moves: posted ones when it posts any (a release moves pending to
            // posted), else pending ones.
            let moved = if event.points != 0 {
                event.points
            } else {
                event.pending_points
            };
            *self.points.entry(event.event_type.as_str()).or_default() += i128::from(moved);
        }
        for alert in &decision.alerts {
            self.alert_scores.push((alert.score, alert.mode.as_str()));
            for reason in &alert.reasons {
                self.alerts.push((
                    reason.rule.clone(),
                    alert.severity.as_str(),
                    alert.mode.as_str(),
                ));
            }
        }
    }

    pub(super) fn merge(&mut self, other: BatchReport) {
        self.outbound.extend(other.outbound);
        self.routed += other.routed;
        self.scored += other.scored;
        self.replayed += other.replayed;
        for (kind, count) in other.dead_lettered {
            *self.dead_lettered.entry(kind).or_default() += count;
        }
        for (kind, points) in other.points {
            *self.points.entry(kind).or_default() += points;
        }
        self.alerts.extend(other.alerts);
        self.alert_scores.extend(other.alert_scores);
        self.event_times.extend(other.event_times);
        self.conflicts += other.conflicts;
        self.late += other.late;
    }
}
