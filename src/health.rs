//! Liveness and readiness, shared between the pipeline (which reports progress) and the HTTP
//! server (which answers `/healthz` and `/readyz`).
//!
//! Liveness fails when there is lag but no progress for longer than the stall timeout: a
//! consumer that heartbeats but consumes nothing is dead in every way that matters.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Health {
    started: Instant,
    stall_timeout: Duration,
    /// Milliseconds since `started` at the last stored offsets.
    last_progress_ms: AtomicU64,
    /// Total consumer lag from the latest statistics; -1 until known.
    lag: AtomicI64,
    ready: AtomicBool,
    /// Messages whose offsets have been stored since start.
    messages_done: AtomicU64,
    /// Input partitions this instance holds, after the latest rebalance.
    assigned_partitions: AtomicI64,
    /// Assignment changes so far: a batch gathered across one must not be trusted.
    assignment_epoch: AtomicU64,
}

/// The liveness verdict with its evidence, served as JSON.
#[derive(Debug, serde::Serialize)]
pub struct Liveness {
    pub alive: bool,
    pub lag: i64,
    pub seconds_since_progress: f64,
    pub stall_timeout_seconds: f64,
}

impl Health {
    pub fn new(stall_timeout: Duration) -> Self {
        Health {
            started: Instant::now(),
            stall_timeout,
            last_progress_ms: AtomicU64::new(0),
            lag: AtomicI64::new(-1),
            ready: AtomicBool::new(false),
            messages_done: AtomicU64::new(0),
            assigned_partitions: AtomicI64::new(0),
            assignment_epoch: AtomicU64::new(0),
        }
    }

    /// A batch of `messages` had its offsets stored.
    pub fn record_progress(&self, messages: u64) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_progress_ms.store(now, Ordering::Relaxed);
        self.messages_done.fetch_add(messages, Ordering::Relaxed);
    }

    pub fn record_lag(&self, lag: i64) {
        self.lag.store(lag, Ordering::Relaxed);
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn messages_done(&self) -> u64 {
        self.messages_done.load(Ordering::Relaxed)
    }

    /// Partitions gained (positive) or given up (negative) in a rebalance.
    pub fn record_assignment_change(&self, partitions: i64) {
        self.assigned_partitions
            .fetch_add(partitions, Ordering::Relaxed);
        self.assignment_epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Changes whenever the assignment does (revocations and assignments alike).
    pub fn assignment_epoch(&self) -> u64 {
        self.assignment_epoch.load(Ordering::Acquire)
    }

    pub fn assigned_partitions(&self) -> i64 {
        self.assigned_partitions.load(Ordering::Relaxed)
    }

    pub fn liveness(&self) -> Liveness {
        let now = self.started.elapsed().as_millis() as u64;
        let since = Duration::from_millis(
            now.saturating_sub(self.last_progress_ms.load(Ordering::Relaxed)),
        );
        let lag = self.lag.load(Ordering::Relaxed);
        Liveness {
            alive: !(lag > 0 && since > self.stall_timeout),
            lag,
            seconds_since_progress: since.as_secs_f64(),
            stall_timeout_seconds: self.stall_timeout.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalls_only_with_lag() {
        let health = Health::new(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(5));
        assert!(health.liveness().alive, "no lag known yet");
        health.record_lag(0);
        assert!(health.liveness().alive, "idle with nothing to do");
        health.record_lag(10);
        assert!(!health.liveness().alive, "lag and no progress");
    }
}
