//! `txscore bench --soak SECS`: the pipeline fed at a steady rate for a long while, with the
//! process's resident memory sampled every ten seconds, so a leak shows as growth where a
//! healthy process levels off. Beside it, the bytes of state the pipeline holds in memory
//! (`txscore_owned_state_bytes`), which grow as the stream's event time fills members' activity
//! windows: growth of the data can then be told from growth of the process. The process holds
//! the embedded broker too, whose partitions fill up to their retention in the first minutes;
//! the growth over the run's second half is the figure that tells.

use super::{feed_paced, wait_for, BenchTopics};
use crate::health::Health;
use crate::synth::{generate, StreamSpec};
use crate::telemetry::catalogue::OWNED_BYTES;
use metrics_exporter_prometheus::PrometheusHandle;
use rdkafka::producer::FutureProducer;
use std::time::{Duration, Instant};

/// About how far apart in event time the synthetic generator puts transactions.
const EVENT_SPACING_MS: i64 = 2_100;

/// The soak's cards (and so its members) are its own: its event time starts months back, and a
/// member the backlog had already seen in November would refuse those sales as too late.
const SOAK_FIRST_CARD: usize = 1_000_000;

/// What a soak run saw.
pub struct Soak {
    /// Resident memory (MiB), every ten seconds from the start.
    pub samples: Vec<u64>,
    /// State held in memory (MiB), sampled with `samples`.
    pub held: Vec<u64>,
    pub sent: u64,
    /// Messages the pipeline had finished when the feed ended, and how long it then took to
    /// catch up with the rest.
    pub done_at_end: u64,
    pub catch_up: Duration,
}

impl Soak {
    /// Growth (percent) of resident memory from the middle sample to the last.
    pub fn second_half_growth(&self) -> f64 {
        let (middle, last) = second_half(&self.samples);
        100.0 * (last as f64 - middle as f64) / middle.max(1) as f64
    }

    /// How much resident memory grew over the second half (MiB) beyond what the state held
    /// in memory grew by.
    pub fn second_half_growth_beside_held(&self) -> i64 {
        let growth = |samples: &[u64]| {
            let (middle, last) = second_half(samples);
            last as i64 - middle as i64
        };
        growth(&self.samples) - growth(&self.held)
    }
}

/// The middle sample and the last (0 where there are none).
fn second_half(samples: &[u64]) -> (u64, u64) {
    let middle = samples.get(samples.len() / 2).copied().unwrap_or(0);
    (middle, samples.last().copied().unwrap_or(0))
}

/// Feeds `rate` fresh synthetic transactions a second for `seconds`, a second's worth at a
/// time, on top of the `before` messages the pipeline has already been given.
pub async fn soak(
    producer: &FutureProducer,
    topics: &BenchTopics,
    health: &Health,
    metrics: &PrometheusHandle,
    before: u64,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Soak> {
    let mut samples = vec![resident_mib()];
    let mut held = vec![held_mib(metrics)];
    let mut sent = 0;
    // Each second's transactions continue the last one's event time (the generator spaces
    // them about 2.1 s apart), ending before now, so that cards see a realistic pace.
    let chunk_span = time::Duration::milliseconds(EVENT_SPACING_MS * rate as i64);
    let first_start = time::OffsetDateTime::now_utc()
        - chunk_span * (seconds as i32 + 1)
        - time::Duration::days(1);
    let started = Instant::now();
    for second in 0..seconds {
        let chunk = generate(&StreamSpec {
            seed: 1_000 + second,
            txn_prefix: format!("S{second}"),
            transactions: rate as usize,
            cards: 20_000,
            first_card: SOAK_FIRST_CARD,
            start: first_start + chunk_span * second as i32,
            ..StreamSpec::default()
        });
        feed_paced(producer, topics, &chunk, rate).await?;
        sent += chunk.len() as u64;
        if started.elapsed() >= Duration::from_secs(10 * samples.len() as u64) {
            samples.push(resident_mib());
            held.push(held_mib(metrics));
        }
    }
    let done_at_end = health.messages_done().saturating_sub(before);
    let fed = Instant::now();
    wait_for(health, before + sent).await;
    samples.push(resident_mib());
    held.push(held_mib(metrics));
    Ok(Soak {
        samples,
        held,
        sent,
        done_at_end,
        catch_up: fed.elapsed(),
    })
}

/// This process's resident memory in MiB (0 where /proc does not say).
fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib / 1024)
}

/// The state the pipeline holds in memory, in MiB, as its gauge last reported it.
fn held_mib(metrics: &PrometheusHandle) -> u64 {
    let rendered = metrics.render();
    let bytes = rendered.lines().find_map(|line| {
        let value = line.strip_prefix(OWNED_BYTES)?.strip_prefix(' ')?;
        value.parse::<f64>().ok()
    });
    bytes.map_or(0, |bytes| (bytes / (1024.0 * 1024.0)) as u64)
}
