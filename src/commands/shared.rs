//! Pieces several commands share: loading rules, connecting the store, waiting for a shutdown
//! signal.

use crate::rules::{RuleBook, RuleSet};
use anyhow::Context;
use std::path::Path;

/// The rules at `path` (a file or a directory of versions), or the shipped rules.
pub fn load_rules(path: Option<&Path>) -> anyhow::Result<RuleBook> {
    Ok(match path {
        Some(path) => RuleBook::load(path)?,
        None => RuleSet::embedded_default().into(),
    })
}

/// The store `config` names (one Redis server or a cluster).
pub async fn connect_store(
    config: &crate::config::Config,
) -> anyhow::Result<crate::store::RedisStore> {
    crate::store::RedisStore::open(
        &config.redis_url,
        config.redis_cluster,
        config.redis_timeout,
    )
    .await
    .context("connecting to Redis (redis.url)")
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler installs");
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
