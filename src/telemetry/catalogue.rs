//! Every metric txscore exports: name, unit, meaning. Dashboards and alert rules may name only
//! these (a test checks them against a live scrape).

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

pub const MESSAGES: &str = "txscore_messages_total";
pub const DEAD_LETTERS: &str = "txscore_dead_letters_total";
pub const POINTS: &str = "txscore_points_total";
pub const ALERTS: &str = "txscore_alerts_total";
pub const ALERT_SCORE: &str = "txscore_alert_score";
pub const LATE_SPENDS: &str = "txscore_late_spends_total";
pub const INTERNAL_ERRORS: &str = "txscore_internal_errors_total";
pub const BATCH_SIZE: &str = "txscore_batch_size";
pub const BATCH_DURATION: &str = "txscore_batch_duration_seconds";
pub const EVENT_TIME_LAG: &str = "txscore_event_time_lag_seconds";
pub const STORE_DURATION: &str = "txscore_store_duration_seconds";
pub const STORE_ERRORS: &str = "txscore_store_errors_total";
pub const STORE_CONFLICTS: &str = "txscore_store_conflicts_total";
pub const STATE_LOADS: &str = "txscore_state_loads_total";
pub const OWNED_DOCUMENTS: &str = "txscore_owned_state_documents";
pub const OWNED_BYTES: &str = "txscore_owned_state_bytes";
pub const PUBLISH_ERRORS: &str = "txscore_publish_errors_total";
pub const OUTPUTS: &str = "txscore_outputs_total";
pub const CONSUMER_LAG: &str = "txscore_consumer_lag";
pub const REBALANCES: &str = "txscore_rebalances_total";
pub const LAST_PROGRESS: &str = "txscore_last_progress_timestamp_seconds";
pub const POINTS_OUTSTANDING: &str = "txscore_points_outstanding";
pub const MEMBERS: &str = "txscore_members";
pub const CAMPAIGN_BUDGET: &str = "txscore_campaign_budget_points";
pub const RULES_INFO: &str = "txscore_rules_info";
pub const RULES_RELOADS: &str = "txscore_rules_reloads_total";
pub const BUILD_INFO: &str = "txscore_build_info";

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const LAG_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 86400.0,
];
const SCORE_BUCKETS: &[f64] = &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
const SIZE_BUCKETS: &[f64] = &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0];

/// Histogram buckets by metric name; histograms not listed here would render as summaries.
pub const HISTOGRAM_BUCKETS: &[(&str, &[f64])] = &[
    (BATCH_SIZE, SIZE_BUCKETS),
    (BATCH_DURATION, LATENCY_BUCKETS),
    (STORE_DURATION, LATENCY_BUCKETS),
    (EVENT_TIME_LAG, LAG_BUCKETS),
    (ALERT_SCORE, SCORE_BUCKETS),
];

/// Registers descriptions (the `# HELP` lines) for the whole catalogue.
pub fn describe() {
    describe_counter!(
        MESSAGES,
        Unit::Count,
        "Input messages consumed, by outcome: routed to the owner log, then scored, replayed \
         or dead_lettered."
    );
    describe_counter!(
        DEAD_LETTERS,
        Unit::Count,
        "Messages sent to the dead-letter topic, by reason."
    );
    describe_counter!(
        POINTS,
        Unit::Count,
        "Points moved, by flow (the ledger event type); absolute values."
    );
    describe_counter!(
        LATE_SPENDS,
        Unit::Count,
        "Spends that arrived beyond the fraud lateness bound and were assessed as of the card's newest spend."
    );
    describe_counter!(
        INTERNAL_ERRORS,
        Unit::Count,
        "Inputs whose decoding or scoring panicked, by stage; each went to the DLQ as internal_error. Any is a bug."
    );
    describe_counter!(
        ALERTS,
        Unit::Count,
        "Fraud rule findings in published alerts, by rule, severity and mode."
    );
    describe_histogram!(
        ALERT_SCORE,
        Unit::Count,
        "Combined score of published alerts, by mode."
    );
    describe_histogram!(BATCH_SIZE, Unit::Count, "Messages per processed batch.");
    describe_histogram!(
        BATCH_DURATION,
        Unit::Seconds,
        "Time from a batch being gathered to its offsets being stored."
    );
    describe_histogram!(
        EVENT_TIME_LAG,
        Unit::Seconds,
        "Wall-clock time between a transaction's event time and its outputs being acknowledged."
    );
    describe_histogram!(
        STORE_DURATION,
        Unit::Seconds,
        "Duration of one state-store round trip, by operation (read, write, budget)."
    );
    describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Failed state-store round trips, by operation."
    );
    describe_counter!(
        STORE_CONFLICTS,
        Unit::Count,
        "Owner groups rescored after a version conflict."
    );
    describe_counter!(
        STATE_LOADS,
        Unit::Count,
        "Documents a batch scored against, by where they came from (memory: held by this \
         instance; presumed: an input's own record, presumed new; store: read from Redis)."
    );
    describe_gauge!(
        OWNED_DOCUMENTS,
        Unit::Count,
        "State documents (accounts, cards, card links) held in memory between batches."
    );
    describe_gauge!(
        OWNED_BYTES,
        Unit::Bytes,
        "Bytes of the keys and document texts held in memory between batches."
    );
    describe_counter!(
        PUBLISH_ERRORS,
        Unit::Count,
        "Output messages the brokers did not acknowledge."
    );
    describe_counter!(
        OUTPUTS,
        Unit::Count,
        "Output messages acknowledged, by destination (ledger, alerts, dlq)."
    );
    describe_gauge!(
        CONSUMER_LAG,
        Unit::Count,
        "Messages behind the partition's high watermark, from librdkafka statistics."
    );
    describe_counter!(
        REBALANCES,
        Unit::Count,
        "Consumer group rebalances seen by this instance, by kind (assign, revoke, error)."
    );
    describe_gauge!(
        LAST_PROGRESS,
        Unit::Seconds,
        "Unix time at which the last batch's offsets were stored."
    );
    describe_gauge!(
        POINTS_OUTSTANDING,
        Unit::Count,
        "Points members hold at the last liability scan, by program and state (balance, pending, held, shortfall)."
    );
    describe_gauge!(
        MEMBERS,
        Unit::Count,
        "Member accounts at the last liability scan, by program and tier."
    );
    describe_gauge!(
        CAMPAIGN_BUDGET,
        Unit::Count,
        "Campaign budgets shared by all members, by program, campaign and state (budget, drawn)."
    );
    describe_gauge!(
        RULES_INFO,
        Unit::Count,
        "1 for the latest rules version loaded, 0 for versions it replaced."
    );
    describe_counter!(
        RULES_RELOADS,
        Unit::Count,
        "Changed rules files read while running, by outcome (applied, rejected)."
    );
    describe_gauge!(
        BUILD_INFO,
        Unit::Count,
        "1, labelled with the txscore version."
    );
}
