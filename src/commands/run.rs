//! `txscore run`: the service.

use super::shared::{connect_store, load_rules, shutdown_signal};
use crate::api::{self, QueryApi};
use crate::config::Config;
use crate::health::Health;
use crate::pipeline::Pipeline;
use crate::rules::reload::Reloader;
use crate::store::Keyspace;
use crate::{http, liability, telemetry};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;

pub async fn run(config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let rules = match &config.rules {
        Some(path) => {
            let (reloader, feed) = Reloader::start(path)?;
            tokio::spawn(reloader.run(config.rules_poll));
            feed
        }
        None => load_rules(None)?.fixed(),
    };
    let rules_version = rules.borrow().latest().version.clone();
    let health = Arc::new(Health::new(config.stall_timeout));
    let store = connect_store(&config).await?;
    if let Some(interval) = config.liability_scan {
        tokio::spawn(liability::sample_periodically(
            store.clone(),
            Keyspace::new(&config.key_prefix),
            rules.clone(),
            interval,
        ));
    }
    let mut app = http::operator_routes(telemetry::install(), health.clone());
    match &config.api_token {
        Some(token) => {
            let api = QueryApi {
                store: store.clone(),
                keys: Keyspace::new(&config.key_prefix),
                rules: rules.clone(),
                ledger_retention: config.processor.ledger_retention,
            };
            app = app.merge(api::routes(api, token.clone()));
        }
        None => {
            tracing::info!("query API off: set http.api_token (or TXSCORE_API_TOKEN) to serve it")
        }
    }
    let (addr, _server) = http::serve(config.http_addr, app)
        .await
        .with_context(|| format!("binding http.addr {}", config.http_addr))?;
    let mut pipeline = Pipeline::from_config(&config, store, rules, health)?;
    if let Some(path) = &config.shadow_rules {
        let (reloader, candidate) = Reloader::start(path)?;
        tokio::spawn(reloader.shadow().run(config.rules_poll));
        pipeline = pipeline.with_shadow_rules(candidate);
    }
    tracing::info!(
        brokers = %config.kafka.brokers,
        group = %config.kafka.group_id,
        topic = %config.topics().transactions,
        rules = %rules_version,
        metrics = %addr,
        "txscore running"
    );
    let summary = pipeline.run(shutdown_signal()).await?;
    tracing::info!(
        messages = summary.messages,
        scored = summary.scored,
        replayed = summary.replayed,
        "txscore stopped cleanly"
    );
    Ok(())
}
