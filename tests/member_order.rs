//! Member-ordered input on Apache Kafka. Transactions keyed by card (so a member's two cards
//! sit on different partitions) and redemptions on the commands topic are routed to the owner
//! log by three instances that join and leave, with exactly-once output. Then a second
//! deployment, one instance on a fresh Redis, scores the same owner log again. Every member's
//! ledger is byte-identical between the two, in order, and so is every account in the two
//! stores, caps, tiers and first-purchase bonuses included: the owner log is the order of
//! record, whatever the number of instances that scored it. A record on the owner log that
//! txscore did not write (no headers, no owner key, or an owner routing could not have decided)
//! is dead-lettered, and the log goes on; a pipeline whose owner log does
//! not exist does not start.

mod common;

use common::{
    assigned, create_topics, each_to_end, error_kinds, progressed, read_to_end, redis, rules_toml,
    synthetic_stream, txscore_feed, wait_caught_up, Broker, Running, Stack,
};
use rdkafka::message::{Headers, Message};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use txscore::config::Config;
use txscore::pipeline::{FaultInjection, Topics};
use txscore::synth::SyntheticMessage;

/// A record of the owner log: its partition, key and the input topic it came from.
struct Routed {
    partition: i32,
    key: String,
    origin: (String, i32, i64),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_and_three_instances_score_the_owner_log_into_identical_ledgers() {
    let broker = Broker::start("member-order", 4).await;
    let first_redis = redis();
    let transactions = synthetic_stream(2_400);
    let redemptions = redemptions(&transactions);
    let mut config = broker.config(&first_redis, 50);
    let thirds: Vec<&[SyntheticMessage]> =
        transactions.chunks(transactions.len() / 3 + 1).collect();

    let first = Running::start(&exactly_once(&config, "order-0"), FaultInjection::default()).await;
    assigned(&first.health).await;
    txscore_feed(&broker.brokers, &broker.topics.transactions, thirds[0]).await;
    txscore_feed(&broker.brokers, &broker.topics.commands, &redemptions).await;
    progressed(&first.health, 100).await;
    let second = Running::start(&exactly_once(&config, "order-1"), FaultInjection::default()).await;
    let third = Running::start(&exactly_once(&config, "order-2"), FaultInjection::default()).await;
    assigned(&second.health).await;
    txscore_feed(&broker.brokers, &broker.topics.transactions, thirds[1]).await;
    first.stop().await.expect("first stops cleanly");
    txscore_feed(&broker.brokers, &broker.topics.transactions, thirds[2]).await;
    broker.wait_consumed(&broker.topics.commands);
    broker.wait_consumed(&broker.topics.transactions);
    second.stop().await.expect("second stops cleanly");
    third.stop().await.expect("third stops cleanly");

    let routed = read_owner_log(&broker.brokers, &broker.topics.by_owner);
    let inputs = transactions.len() + redemptions.len();
    let dead: Vec<(String, i32, i64)> = read_to_end(&broker.brokers, &broker.topics.dlq, true)
        .iter()
        .map(|(_, payload)| dlq_source(payload))
        .collect();
    let dead_sources: BTreeSet<_> = dead.iter().cloned().collect();
    assert_eq!(
        dead_sources.len(),
        dead.len(),
        "each input is dead-lettered once at most"
    );
    let origins: BTreeSet<_> = routed.iter().map(|record| record.origin.clone()).collect();
    assert_eq!(origins.len(), routed.len(), "each input is routed once");
    assert_eq!(
        origins.union(&dead_sources).count(),
        inputs,
        "every input is routed, or dead-lettered where it was read"
    );
    assert!(
        dead_sources
            .iter()
            .all(|(topic, _, _)| *topic != broker.topics.by_owner),
        "dead letters name the input record, not the owner log's"
    );
    let mut partitions_of: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    let mut sources_of: BTreeMap<&str, BTreeSet<(String, i32)>> = BTreeMap::new();
    for record in &routed {
        partitions_of
            .entry(&record.key)
            .or_default()
            .insert(record.partition);
        sources_of
            .entry(&record.key)
            .or_default()
            .insert((record.origin.0.clone(), record.origin.1));
    }
    assert!(
        partitions_of
            .values()
            .all(|partitions| partitions.len() == 1),
        "each owner's inputs share one partition of the owner log"
    );
    let merged = sources_of
        .values()
        .filter(|sources| sources.len() >= 2)
        .count();
    assert!(
        merged >= 10,
        "members whose inputs came from several partitions and topics: {merged}"
    );

    // A second deployment scores the same owner log: one instance, a fresh Redis, fresh
    // output topics, and input topics with nothing on them.
    let second_redis = redis();
    let mut again = Topics::prefixed(&format!("{}again-", broker.topics.transactions));
    again.by_owner = broker.topics.by_owner.clone();
    let fresh: Vec<&str> = again.all()[..8].to_vec();
    create_topics(&broker.brokers, &fresh, broker.partitions).await;
    config.runner.topics = again.clone();
    config.processor.topics = again.clone();
    config.kafka.group_id = format!("{}-again", broker.group);
    config.redis_url = second_redis.url();
    let single = Running::start(&config, FaultInjection::default()).await;
    let group = config.kafka.group_id.clone();
    let brokers = broker.brokers.clone();
    let by_owner = again.by_owner.clone();
    tokio::task::spawn_blocking(move || {
        wait_caught_up(&brokers, &group, &by_owner, Duration::from_secs(180))
    })
    .await
    .expect("waited");
    single.stop().await.expect("single instance stops cleanly");

    let three = per_key(&read_to_end(&broker.brokers, &broker.topics.ledger, true));
    let one = per_key(&read_to_end(&broker.brokers, &again.ledger, false));
    assert!(
        three.len() > 30,
        "members with ledger events: {}",
        three.len()
    );
    for (member, events) in &three {
        let other = one.get(member).cloned().unwrap_or_default();
        let differs = events.iter().zip(&other).position(|(a, b)| a != b);
        assert!(
            differs.is_none() && events.len() == other.len(),
            "{member}: the ledger of three instances against one differs at event {differs:?} \
             ({} against {} events):\n{}\n{}",
            events.len(),
            other.len(),
            differs.map_or("", |at| events[at].as_str()),
            differs.map_or("", |at| other[at].as_str()),
        );
    }
    assert_eq!(three.len(), one.len(), "members with ledger events");
    let accounts = account_documents(&first_redis.url()).await;
    assert!(accounts.len() > 30, "accounts: {}", accounts.len());
    assert_eq!(
        accounts,
        account_documents(&second_redis.url()).await,
        "every account, byte for byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_txscore_did_not_write_on_the_owner_log_is_dead_lettered_and_the_log_goes_on() {
    let stack = Stack::start("owner-log-poison", &rules_toml(), |_| {}).await;
    let broker = &stack.broker;
    let purchase = |txn: &str| SyntheticMessage {
        key: "tok_p".into(),
        payload: format!(
            r#"{{"txn_id":"{txn}","type":"purchase","card_token":"tok_p","member_id":"M-P",
            "amount":"10","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"2026-11-22T10:00:00Z"}}"#
        )
        .into_bytes(),
    };
    txscore_feed(
        &broker.brokers,
        &broker.topics.transactions,
        &[purchase("P-1")],
    )
    .await;
    broker.wait_consumed(&broker.topics.transactions);
    // A routed purchase without its headers, and one whose key is not an owner tag.
    let poison = [
        SyntheticMessage {
            key: "m:M-P".into(),
            ..purchase("P-2")
        },
        SyntheticMessage {
            key: "M-P".into(),
            ..purchase("P-3")
        },
    ];
    txscore_feed(&broker.brokers, &broker.topics.by_owner, &poison).await;
    // Well formed, but giving M-P's purchase to another member: routing could not have.
    write_routed(
        &broker.brokers,
        &broker.topics.by_owner,
        "m:M-OTHER",
        &purchase("P-5").payload,
        &[
            ("txscore-input", "transaction"),
            ("txscore-topic", &broker.topics.transactions),
            ("txscore-partition", "0"),
            ("txscore-offset", "999"),
        ],
    )
    .await;
    txscore_feed(
        &broker.brokers,
        &broker.topics.transactions,
        &[purchase("P-4")],
    )
    .await;
    broker.wait_consumed(&broker.topics.transactions);
    let dead = read_to_end(&broker.brokers, &broker.topics.dlq, false);
    let ledger = read_to_end(&broker.brokers, &broker.topics.ledger, false);
    stack.running.stop().await.expect("clean stop");

    assert_eq!(error_kinds(&dead), ["unreadable_owner_log"; 3]);
    let sources: BTreeSet<String> = dead
        .iter()
        .map(|(_, payload)| dlq_source(payload).0)
        .collect();
    let expected = [&broker.topics.by_owner, &broker.topics.transactions];
    assert_eq!(sources, expected.map(String::clone).into(), "{dead:?}");
    assert!(
        dead.iter().any(|(_, payload)| payload.contains("M-OTHER")),
        "{dead:?}"
    );
    let scored: Vec<String> = ledger
        .iter()
        .map(|(_, payload)| {
            let event: serde_json::Value = serde_json::from_str(payload).expect("JSON");
            event["txn_id"].as_str().expect("txn_id").to_owned()
        })
        .collect();
    assert_eq!(scored, ["P-1", "P-4"], "the poison records credit nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_whose_owner_log_does_not_exist_refuses_to_start_and_names_it() {
    let broker = Broker::start("owner-log-missing", 2).await;
    let server = redis();
    let mut config = broker.config(&server, 50);
    let absent = format!("{}-absent", broker.topics.by_owner);
    config.runner.topics.by_owner = absent.clone();
    config.processor.topics.by_owner = absent.clone();
    let running = Running::start(&config, FaultInjection::default()).await;
    let error = running.finished().await.expect_err("refuses to start");
    assert!(
        matches!(&error, txscore::pipeline::PipelineError::MissingTopics(missing)
            if *missing == [format!("kafka.topics.by_owner = {absent:?}")]),
        "{error}"
    );
    assert!(error.to_string().contains("docs/operations.md"), "{error}");
}

/// Produces one record to the owner log as only txscore should.
async fn write_routed(
    brokers: &str,
    topic: &str,
    key: &str,
    payload: &[u8],
    headers: &[(&str, &str)],
) {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer");
    let headers = headers
        .iter()
        .fold(OwnedHeaders::new(), |all, (name, value)| {
            all.insert(Header {
                key: name,
                value: Some(*value),
            })
        });
    let record = FutureRecord::to(topic)
        .key(key)
        .payload(payload)
        .headers(headers);
    producer
        .send(record, Duration::from_secs(30))
        .await
        .expect("acknowledged");
}

fn exactly_once(config: &Config, transactional_id: &str) -> Config {
    let mut config = config.clone();
    config.kafka.transactional_id = Some(transactional_id.to_owned());
    config
}

/// A redemption of 40 points for every third member with a card in `transactions`, dated
/// among their purchases so that where it falls decides whether it succeeds.
fn redemptions(transactions: &[SyntheticMessage]) -> Vec<SyntheticMessage> {
    let mut members = BTreeMap::new();
    for message in transactions {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&message.payload) else {
            continue;
        };
        if let (Some(member), Some(at)) = (value["member_id"].as_str(), value["timestamp"].as_str())
        {
            members.entry(member.to_owned()).or_insert(at.to_owned());
        }
    }
    members
        .into_iter()
        .step_by(3)
        .enumerate()
        .map(|(n, (member, first_purchase))| SyntheticMessage {
            key: member.clone(),
            payload: format!(
                r#"{{"command_id":"R-{n}","member_id":"{member}","type":"redeem","reward":"voucher","points":40,"timestamp":"{first_purchase}"}}"#
            )
            .into_bytes(),
        })
        .collect()
}

/// The owner log from its start to its end, committed records only.
fn read_owner_log(brokers: &str, topic: &str) -> Vec<Routed> {
    let mut records = Vec::new();
    each_to_end(brokers, topic, true, |message| {
        let header = |name: &str| -> String {
            let value = message
                .headers()
                .and_then(|headers| headers.iter().find(|header| header.key == name))
                .and_then(|header| header.value)
                .unwrap_or_else(|| panic!("routed record without {name}"));
            String::from_utf8(value.to_vec()).expect("text header")
        };
        records.push(Routed {
            partition: message.partition(),
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            origin: (
                header("txscore-topic"),
                header("txscore-partition").parse().expect("partition"),
                header("txscore-offset").parse().expect("offset"),
            ),
        });
    });
    records
}

fn dlq_source(payload: &str) -> (String, i32, i64) {
    let record: serde_json::Value = serde_json::from_str(payload).expect("dead letter is JSON");
    let source = &record["source"];
    (
        source["topic"].as_str().expect("topic").to_owned(),
        source["partition"].as_i64().expect("partition") as i32,
        source["offset"].as_i64().expect("offset"),
    )
}

/// Payloads by message key, each key's in the order read (one partition per key).
fn per_key(messages: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, payload) in messages {
        by_key.entry(key.clone()).or_default().push(payload.clone());
    }
    by_key
}

/// Every account document's data in the Redis at `url`, by key.
async fn account_documents(url: &str) -> BTreeMap<String, String> {
    let client = redis::Client::open(url).expect("redis url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("txscore:*:account:*")
        .query_async(&mut connection)
        .await
        .expect("keys");
    let mut documents = BTreeMap::new();
    for key in keys {
        let data: String = redis::cmd("HGET")
            .arg(&key)
            .arg("data")
            .query_async(&mut connection)
            .await
            .expect("account data");
        documents.insert(key, data);
    }
    documents
}
