//! The check that ends every crash, restart and rebalance test: each topic read to its end,
//! every event the reference expects present, nothing else, copies byte-identical, and every
//! balance equal to the reference's.

use super::{balances, by_event_id, read_to_end, Broker, Reference};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use txscore::store::RedisStore;

/// How outputs may repeat: at least once (a crash re-publishes, identically), or exactly once
/// (a `read_committed` reader of transactional output sees each once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    AtLeastOnce,
    ExactlyOnce,
}

/// Asserts the published outputs and the balances in `redis_url` match `reference`. `context`
/// (a seed, say) is printed with any failure.
pub async fn assert_exact(
    broker: &Broker,
    redis_url: &str,
    reference: &Reference,
    delivery: Delivery,
    context: &str,
) {
    let committed = delivery == Delivery::ExactlyOnce;
    let ledger = read_to_end(&broker.brokers, &broker.topics.ledger, committed);
    let events = by_event_id(&ledger);
    let ids: BTreeSet<String> = events.keys().cloned().collect();
    assert_same_ids(&reference.ledger_ids, &ids, context, "ledger events");
    assert_copies(&events, delivery, context, "ledger event");

    let alerts = keyed_by(
        &read_to_end(&broker.brokers, &broker.topics.alerts, committed),
        |alert| alert["alert_id"].as_str().map(str::to_owned),
    );
    let alert_ids: BTreeSet<String> = alerts.keys().cloned().collect();
    assert_same_ids(&reference.alert_ids, &alert_ids, context, "alerts");
    assert_copies(&alerts, delivery, context, "alert");

    let dead = keyed_by(
        &read_to_end(&broker.brokers, &broker.topics.dlq, committed),
        |record| {
            let source = &record["source"];
            Some(format!(
                "{}/{}/{}",
                source["topic"].as_str()?,
                source["partition"].as_i64()?,
                source["offset"].as_i64()?
            ))
        },
    );
    assert_eq!(
        dead.len() as u64,
        reference.dead_lettered,
        "{context}: dead-lettered inputs"
    );
    assert_copies(&dead, delivery, context, "dead letter");

    let store = RedisStore::connect(redis_url, Duration::from_secs(2))
        .await
        .expect("redis");
    assert_eq!(
        balances(&store, &reference.account_keys()).await,
        reference.balances().await,
        "{context}: every balance equals the reference"
    );
}

fn assert_same_ids(
    expected: &BTreeSet<String>,
    found: &BTreeSet<String>,
    context: &str,
    what: &str,
) {
    let missing: Vec<_> = expected.difference(found).take(10).collect();
    let invented: Vec<_> = found.difference(expected).take(10).collect();
    assert!(
        missing.is_empty() && invented.is_empty(),
        "{context}: {what} missing {missing:?}, not expected {invented:?} ({} expected, {} found)",
        expected.len(),
        found.len()
    );
}

/// Payloads grouped by the id `key` finds in each.
fn keyed_by(
    messages: &[(String, String)],
    key: impl Fn(&serde_json::Value) -> Option<String>,
) -> HashMap<String, Vec<String>> {
    let mut grouped: HashMap<String, Vec<String>> = HashMap::new();
    for (_, payload) in messages {
        let value: serde_json::Value = serde_json::from_str(payload).expect("output is JSON");
        let id = key(&value).unwrap_or_else(|| panic!("no id in {payload}"));
        grouped.entry(id).or_default().push(payload.clone());
    }
    grouped
}

fn assert_copies(
    grouped: &HashMap<String, Vec<String>>,
    delivery: Delivery,
    context: &str,
    what: &str,
) {
    for (id, copies) in grouped {
        assert!(
            copies.windows(2).all(|pair| pair[0] == pair[1]),
            "{context}: copies of {what} {id} differ"
        );
        if delivery == Delivery::ExactlyOnce {
            assert_eq!(
                copies.len(),
                1,
                "{context}: {what} {id} seen more than once"
            );
        }
    }
}
