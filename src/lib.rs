//! txscore: streaming loyalty-points and fraud scoring for card transactions.
//!
//! Transactions arrive on Kafka; each is scored against member and card state in Redis, and
//! the resulting ledger events and alerts are published back to Kafka, with every change to a
//! balance applied exactly once however often a message is delivered.
//!
//! Layout, from the pure core outwards:
//!
//! - [`domain`]: transactions, member and card state, ledger events, alerts.
//! - [`rules`]: the validated rule set, loaded from TOML.
//! - [`scoring`]: the pure core: `score(transaction, state, rules) -> decision`. No I/O.
//! - [`wire`]: bytes to domain types and back; dead-letter records; card-number masking.
//! - [`store`]: versioned documents with atomic compare-and-set: Redis, or in memory.
//! - [`pipeline`]: a batch through the core and the store; the Kafka loop around it.
//! - [`kafka`]: client settings, consumer context, the embedded broker.
//! - [`telemetry`], [`health`], [`http`]: what operators see.
//! - [`api`]: the read-only query API for member services.
//! - [`liability`]: what members hold, per programme, by scanning the store.
//! - [`settlement`]: points issued per funding party and redeemed, expired, reversed per
//!   programme, from the ledger.
//! - [`config`]: the service's configuration file and environment.
//! - [`synth`]: a deterministic synthetic transaction stream.
//! - [`local_redis`]: a throwaway `redis-server` for the bench and the tests.
//! - [`evaluation`]: per-rule precision and recall on labelled history.
//! - [`commands`]: the `txscore` subcommands.
//!
//! `synth`, `local_redis`, the embedded broker and the `demo`, `bench` and `generate` commands
//! are the `tools` feature (on by default); a production build leaves them out.

pub mod api;
pub mod commands;
pub mod config;
pub mod domain;
pub mod evaluation;
pub mod health;
pub mod http;
pub mod kafka;
pub mod liability;
#[cfg(feature = "tools")]
pub mod local_redis;
pub mod pipeline;
pub mod rules;
pub mod scoring;
pub mod settlement;
pub mod store;
#[cfg(feature = "tools")]
pub mod synth;
pub mod telemetry;
pub mod wire;
