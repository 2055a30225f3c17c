//! `txscore bench --instances N`: N pipelines in one consumer group, as N processes of a
//! deployment would be, working through everything the single pipeline did, in a fresh
//! keyspace and group: its owner log when inputs are member-ordered, else its inputs. Prints
//! their combined rate beside the single pipeline's, and whether their totals match its.

use super::{start_pipeline, Running};
use crate::config::Config;
use crate::health::Health;
use crate::pipeline::RunSummary;
use anyhow::Context;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the instances may make no progress before the run gives up.
const STALL: Duration = Duration::from_secs(60);

/// What N instances did together.
pub struct Instances {
    /// Messages per second from the first finished message to the last.
    pub rate: f64,
    pub totals: Totals,
}

/// The totals that must not depend on how many instances did the work.
#[derive(Debug, PartialEq, Eq)]
pub struct Totals {
    pub scored: u64,
    pub dead_lettered: BTreeMap<String, u64>,
    pub points: BTreeMap<String, i128>,
}

impl Totals {
    pub fn of(summary: &RunSummary) -> Totals {
        Totals {
            scored: summary.scored,
            dead_lettered: summary.dead_lettered.clone(),
            points: summary.points.clone(),
        }
    }

    /// Says whether these totals equal the single pipeline's: scored and points by flow, and
    /// dead letters by reason when the instances read the same inputs (not when they read the
    /// owner log, which holds no input dead-lettered while routing).
    pub fn agreement(&self, single: &Totals, dead_letters_too: bool) -> String {
        let same = self.scored == single.scored
            && self.points == single.points
            && (!dead_letters_too || self.dead_lettered == single.dead_lettered);
        let compared = if dead_letters_too {
            "scored, dead-lettered by reason, points by flow"
        } else {
            "scored, points by flow"
        };
        if same {
            format!("totals ({compared}) equal the single pipeline's")
        } else {
            format!("totals ({compared}) differ: {self:?} against {single:?}")
        }
    }

    fn add(&mut self, summary: &RunSummary) {
        self.scored += summary.scored;
        for (kind, count) in &summary.dead_lettered {
            *self.dead_lettered.entry(kind.clone()).or_default() += count;
        }
        for (flow, points) in &summary.points {
            *self.points.entry(flow.clone()).or_default() += points;
        }
    }
}

/// Runs `count` pipelines configured by `config` until together they have finished
/// `messages`, then stops them and adds up what they did.
pub async fn run(config: &Config, count: usize, messages: u64) -> anyhow::Result<Instances> {
    let mut instances: Vec<(Arc<Health>, tokio::sync::oneshot::Sender<()>, Running)> = Vec::new();
    for _ in 0..count {
        instances.push(start_pipeline(config).await?);
    }
    let done = || -> u64 {
        instances
            .iter()
            .map(|(health, _, _)| health.messages_done())
            .sum()
    };
    while done() == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (started, first) = (Instant::now(), done());
    let mut progress = (done(), Instant::now());
    while done() < messages {
        tokio::time::sleep(Duration::from_millis(2)).await;
        if done() != progress.0 {
            progress = (done(), Instant::now());
        } else if progress.1.elapsed() > STALL {
            for (_, stop, running) in instances {
                let _ = stop.send(());
                let _ = running.await;
            }
            anyhow::bail!(
                "{count} pipelines stalled at {} of {messages} messages for {STALL:?}: the input \
                 is no longer all on the broker",
                progress.0
            );
        }
    }
    let rate = (done() - first) as f64 / started.elapsed().as_secs_f64();
    let mut totals = Totals {
        scored: 0,
        dead_lettered: BTreeMap::new(),
        points: BTreeMap::new(),
    };
    for (_, stop, running) in instances {
        let _ = stop.send(());
        totals.add(&running.await.context("pipeline task")??);
    }
    Ok(Instances { rate, totals })
}
