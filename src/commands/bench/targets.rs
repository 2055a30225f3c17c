//! The performance targets the bench checks in one run, and its verdict on each: throughput
//! against the per-message baseline, and the tail latency of a stream paced at half of the
//! measured peak.

use std::time::Duration;

/// Times the baseline's rate the pipeline is to reach.
pub const THROUGHPUT_TIMES_BASELINE: f64 = 20.0;
/// The p99 input-to-ledger latency, at half of the measured peak, to stay under.
pub const P99_AT_HALF_PEAK: Duration = Duration::from_millis(25);

/// What one run measured of the targets, where it measured them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Measured {
    /// The pipeline's rate over the baseline's, when `--baseline` ran.
    pub times_baseline: Option<f64>,
    /// The paced run's p99, when it was paced at half of the peak (no `--rate`).
    pub p99_at_half_peak: Option<Duration>,
}

impl Measured {
    /// One line: each target, what was measured of it and whether it is met.
    pub fn verdict(&self) -> String {
        let throughput = match self.times_baseline {
            Some(times) => format!(
                "throughput {times:.1}x the baseline (target {THROUGHPUT_TIMES_BASELINE}x): {}",
                met(times >= THROUGHPUT_TIMES_BASELINE)
            ),
            None => "throughput: add --baseline to compare".to_owned(),
        };
        let latency = match self.p99_at_half_peak {
            Some(p99) => format!(
                "p99 {} ms at half of the peak (target under {} ms): {}",
                p99.as_millis(),
                P99_AT_HALF_PEAK.as_millis(),
                met(p99 < P99_AT_HALF_PEAK)
            ),
            None => "latency: paced at the --rate given, not at half of the peak".to_owned(),
        };
        format!("{throughput}; {latency}")
    }
}

fn met(yes: bool) -> &'static str {
    if yes {
        "met"
    } else {
        "not met"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_each_target_met_or_not() {
        let measured = Measured {
            times_baseline: Some(9.14),
            p99_at_half_peak: Some(Duration::from_millis(24)),
        };
        assert_eq!(
            measured.verdict(),
            "throughput 9.1x the baseline (target 20x): not met; \
             p99 24 ms at half of the peak (target under 25 ms): met"
        );
        let measured = Measured {
            times_baseline: Some(20.0),
            p99_at_half_peak: Some(Duration::from_millis(25)),
        };
        assert_eq!(
            measured.verdict(),
            "throughput 20.0x the baseline (target 20x): met; \
             p99 25 ms at half of the peak (target under 25 ms): not met"
        );
    }

    #[test]
    fn says_what_was_not_measured() {
        assert_eq!(
            Measured::default().verdict(),
            "throughput: add --baseline to compare; \
             latency: paced at the --rate given, not at half of the peak"
        );
    }
}
