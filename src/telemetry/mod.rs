//! Internal metrics: one catalogue of names, recorded only through the typed functions in
//! [`events`], rendered for Prometheus by the recorder installed here.
//!
//! Labels are bounded: outcomes, reasons, rule ids, severities, modes, topics and partitions.
//! Never a member id, card token or transaction id.

pub mod catalogue;
pub mod events;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process-wide Prometheus recorder (once; later calls return the same handle)
/// and describes every metric in the catalogue. Called within a Tokio runtime, it also starts
/// the recorder's upkeep: histogram samples otherwise pile up in memory until a scrape drains
/// them, without bound when nothing scrapes.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            for (name, buckets) in catalogue::HISTOGRAM_BUCKETS {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
                    .expect("bucket lists are not empty");
            }
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder)
                .expect("no other metrics recorder is installed in this process");
            catalogue::describe();
            events::build_info();
            events::register_known_series();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let upkeep = handle.clone();
                runtime.spawn(async move {
                    let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
                    loop {
                        ticks.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            handle
        })
        .clone()
}
