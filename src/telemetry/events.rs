//! Typed metric events: the only place metrics are recorded, so names and labels stay bounded.

use super::catalogue::*;
use crate::domain::LedgerEventType;
use crate::pipeline::{BatchReport, Destination};
use metrics::{counter, gauge, histogram};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

pub fn build_info() {
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// Creates at zero every series whose labels are known in advance, so dashboards and alert
/// rules see them (and `rate()` has a baseline) before the first event of their kind.
pub fn register_known_series() {
    for outcome in ["routed", "scored", "replayed", "dead_lettered"] {
        counter!(MESSAGES, "outcome" => outcome).absolute(0);
    }
    for destination in Destination::ALL {
        counter!(OUTPUTS, "destination" => destination.as_str()).absolute(0);
    }
    for flow in LedgerEventType::ALL {
        counter!(POINTS, "flow" => flow.as_str()).absolute(0);
    }
    for operation in ["read", "owners", "write", "budget"] {
        counter!(STORE_ERRORS, "operation" => operation).absolute(0);
    }
    for kind in ["assign", "revoke", "error"] {
        counter!(REBALANCES, "kind" => kind).absolute(0);
    }
    counter!(STORE_CONFLICTS).absolute(0);
    counter!(LATE_SPENDS).absolute(0);
    for stage in crate::pipeline::contain::Stage::ALL {
        counter!(INTERNAL_ERRORS, "stage" => stage.as_str()).absolute(0);
    }
    for outcome in ["applied", "rejected"] {
        counter!(RULES_RELOADS, "outcome" => outcome).absolute(0);
    }
    counter!(PUBLISH_ERRORS).absolute(0);
}

/// Decoding or scoring one input panicked; the panic was contained to it.
pub fn internal_error(stage: crate::pipeline::contain::Stage) {
    counter!(INTERNAL_ERRORS, "stage" => stage.as_str()).increment(1);
}

/// `version` is now the latest rules version loaded, replacing `previous`.
pub fn rules_in_force(version: &str, previous: Option<&str>) {
    if let Some(previous) = previous.filter(|previous| *previous != version) {
        gauge!(RULES_INFO, "version" => previous.to_owned()).set(0.0);
    }
    gauge!(RULES_INFO, "version" => version.to_owned()).set(1.0);
}

/// A changed rules path was read: applied, or rejected with the old rules kept.
pub fn rules_reloaded(applied: bool) {
    let outcome = if applied { "applied" } else { "rejected" };
    counter!(RULES_RELOADS, "outcome" => outcome).increment(1);
}

/// A batch was processed and its outputs acknowledged.
pub fn batch_completed(report: &BatchReport, size: usize, took: Duration) {
    histogram!(BATCH_SIZE).record(size as f64);
    histogram!(BATCH_DURATION).record(took.as_secs_f64());
    counter!(MESSAGES, "outcome" => "scored").increment(report.scored);
    counter!(MESSAGES, "outcome" => "replayed").increment(report.replayed);
    counter!(MESSAGES, "outcome" => "routed").increment(report.routed);
    let dead: u64 = report.dead_lettered.values().sum();
    counter!(MESSAGES, "outcome" => "dead_lettered").increment(dead);
    for (reason, count) in &report.dead_lettered {
        counter!(DEAD_LETTERS, "reason" => *reason).increment(*count);
    }
    for (flow, points) in &report.points {
        counter!(POINTS, "flow" => *flow)
            .increment(u64::try_from(points.unsigned_abs()).unwrap_or(u64::MAX));
    }
    for (rule, severity, mode) in &report.alerts {
        counter!(ALERTS, "rule" => rule.clone(), "severity" => *severity, "mode" => *mode)
            .increment(1);
    }
    for (score, mode) in &report.alert_scores {
        histogram!(ALERT_SCORE, "mode" => *mode).record(*score);
    }
    counter!(STORE_CONFLICTS).increment(report.conflicts);
    counter!(LATE_SPENDS).increment(report.late);
    for (destination, count) in Destination::ALL
        .into_iter()
        .zip(report.outputs_by_destination())
    {
        counter!(OUTPUTS, "destination" => destination.as_str()).increment(count);
    }
    let now = OffsetDateTime::now_utc();
    for event_time in &report.event_times {
        histogram!(EVENT_TIME_LAG).record((now - *event_time).as_seconds_f64().max(0.0));
    }
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    gauge!(LAST_PROGRESS).set(unix.as_secs_f64());
}

/// One state-store round trip finished (`operation`: read or write).
pub fn store_call(operation: &'static str, took: Duration, ok: bool) {
    histogram!(STORE_DURATION, "operation" => operation).record(took.as_secs_f64());
    if !ok {
        counter!(STORE_ERRORS, "operation" => operation).increment(1);
    }
}

/// Where the documents of one batch attempt came from, and how many this instance now holds.
pub fn state_loaded(from_memory: u64, presumed: u64, from_store: u64, held: usize, bytes: usize) {
    counter!(STATE_LOADS, "source" => "memory").increment(from_memory);
    counter!(STATE_LOADS, "source" => "presumed").increment(presumed);
    counter!(STATE_LOADS, "source" => "store").increment(from_store);
    gauge!(OWNED_DOCUMENTS).set(held as f64);
    gauge!(OWNED_BYTES).set(bytes as f64);
}

pub fn publish_failed(count: u64) {
    counter!(PUBLISH_ERRORS).increment(count);
}

pub fn consumer_lag(topic: &str, partition: i32, lag: i64) {
    gauge!(CONSUMER_LAG, "topic" => topic.to_owned(), "partition" => partition.to_string())
        .set(lag as f64);
}

pub fn rebalance(kind: &'static str) {
    counter!(REBALANCES, "kind" => kind).increment(1);
}

/// Campaign budgets were read: each one's size and what has been drawn.
pub fn campaign_budgets(uses: &[crate::liability::BudgetUse]) {
    for budget in uses {
        for (state, points) in [("budget", budget.budget), ("drawn", budget.drawn)] {
            gauge!(CAMPAIGN_BUDGET, "program" => budget.program.clone(),
                "campaign" => budget.campaign.clone(), "state" => state)
            .set(points as f64);
        }
    }
}

/// A liability scan finished: what members hold, by programme.
pub fn liability(totals: &std::collections::BTreeMap<String, crate::liability::ProgramTotals>) {
    for (program, total) in totals {
        for (state, points) in [
            ("balance", total.balance),
            ("pending", total.pending),
            ("held", total.held),
            ("shortfall", total.shortfall),
        ] {
            gauge!(POINTS_OUTSTANDING, "program" => program.clone(), "state" => state)
                .set(points as f64);
        }
        for (tier, members) in &total.members_by_tier {
            gauge!(MEMBERS, "program" => program.clone(), "tier" => tier.clone())
                .set(*members as f64);
        }
    }
}
