//! Reading what the pipeline published: up to a stop condition, or every partition to its
//! end (so extra messages show), and whether a consumer group has committed all of a topic.

use super::NEXT;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::ClientConfig;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Messages on `topic` from the start, as (key, payload), read until `enough` (called with each
/// new message) says so or the timeout passes.
pub fn read_topic(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    mut enough: impl FnMut(&(String, String)) -> bool,
) -> Vec<(String, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("reader-{topic}-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut messages = Vec::new();
    while Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            let text = |bytes: Option<&[u8]>| {
                String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned()
            };
            messages.push((text(message.key()), text(message.payload())));
            if enough(messages.last().expect("just pushed")) {
                break;
            }
        }
    }
    consumer.unsubscribe();
    messages
}

/// Every message on `topic` up to its end as this call finds it, as (key, payload): whatever
/// a test expects plus whatever it does not, so extra messages show. `read_committed` skips
/// what aborted Kafka transactions wrote (and reads to the last stable offset).
pub fn read_to_end(brokers: &str, topic: &str, read_committed: bool) -> Vec<(String, String)> {
    let mut messages = Vec::new();
    each_to_end(brokers, topic, read_committed, |message| {
        let text =
            |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
        messages.push((text(message.key()), text(message.payload())));
    });
    messages
}

/// Calls `each` with every message on `topic` up to its end as this call finds it, each
/// partition in offset order.
pub fn each_to_end(
    brokers: &str,
    topic: &str,
    read_committed: bool,
    mut each: impl FnMut(&BorrowedMessage<'_>),
) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("end-reader-{topic}"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set(
            "isolation.level",
            if read_committed {
                "read_committed"
            } else {
                "read_uncommitted"
            },
        )
        .create()
        .expect("reader");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("topic metadata");
    let partitions = metadata.topics()[0].partitions().len();
    assert!(partitions > 0, "{topic} has partitions");
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in 0..partitions as i32 {
        assignment
            .add_partition_offset(topic, partition, rdkafka::Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let mut at_end = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while at_end.len() < partitions {
        assert!(
            Instant::now() < deadline,
            "{topic} not read to its end in 120 s"
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => each(&message),
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(error)) => panic!("reading {topic}: {error}"),
            None => {}
        }
    }
}

/// Whether `group` has committed, on every partition of `topic`, the offset after its last
/// message: everything on it is consumed and its outputs are acknowledged. On a topic written
/// in Kafka transactions the last offsets hold commit markers, which no consumer receives, so
/// a partition whose committed offset is short of its end counts as consumed when nothing
/// committed follows that offset.
pub fn caught_up(brokers: &str, group: &str, topic: &str) -> bool {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offset client");
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) else {
        return false;
    };
    let mut partitions = rdkafka::TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        partitions.add_partition(topic, partition.id());
    }
    let Ok(committed) = consumer.committed_offsets(partitions, Duration::from_secs(5)) else {
        return false;
    };
    committed.elements().iter().all(|element| {
        let end = consumer
            .fetch_watermarks(topic, element.partition(), Duration::from_secs(5))
            .map(|(_, high)| high);
        match (element.offset(), end) {
            (_, Ok(0)) => true,
            (rdkafka::Offset::Offset(offset), Ok(high)) if offset >= high => true,
            (rdkafka::Offset::Offset(offset), Ok(_)) => {
                nothing_committed_from(brokers, topic, element.partition(), offset)
            }
            _ => false,
        }
    })
}

/// Whether a `read_committed` reader of `partition` from `offset` reaches its end without a
/// message.
fn nothing_committed_from(brokers: &str, topic: &str, partition: i32, offset: i64) -> bool {
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("tail-reader-{topic}"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .expect("reader");
    let mut assignment = rdkafka::TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))
        .expect("partition");
    reader.assign(&assignment).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match reader.poll(Duration::from_millis(200)) {
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => return true,
            Some(Ok(_)) => return false,
            Some(Err(_)) | None => {}
        }
    }
    false
}

/// Waits (bounded by `timeout`) until [`caught_up`].
pub fn wait_caught_up(brokers: &str, group: &str, topic: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !caught_up(brokers, group, topic) {
        assert!(
            Instant::now() < deadline,
            "{group} did not consume all of {topic} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A stop condition for [`read_topic`]: `count` messages.
pub fn count(wanted: u64) -> impl FnMut(&(String, String)) -> bool {
    let mut seen = 0;
    move |_| {
        seen += 1;
        seen >= wanted
    }
}

/// A stop condition for [`read_topic`] on the ledger: `wanted` distinct event ids.
pub fn distinct_events(wanted: usize) -> impl FnMut(&(String, String)) -> bool {
    let mut ids = std::collections::HashSet::new();
    move |(_, payload)| {
        let value: serde_json::Value =
            serde_json::from_str(payload).expect("ledger payload is JSON");
        ids.insert(value["event_id"].as_str().expect("event_id").to_owned());
        ids.len() >= wanted
    }
}

/// Ledger messages by event id, each parsed from its first copy.
pub fn ledger_events(ledger: &[(String, String)]) -> BTreeMap<String, serde_json::Value> {
    by_event_id(ledger)
        .into_iter()
        .map(|(id, copies)| (id, serde_json::from_str(&copies[0]).expect("ledger JSON")))
        .collect()
}

/// The `error_kind` of each dead-letter record, sorted.
pub fn error_kinds(dead: &[(String, String)]) -> Vec<String> {
    let mut kinds: Vec<String> = dead
        .iter()
        .map(|(_, payload)| {
            let record: serde_json::Value = serde_json::from_str(payload).expect("DLQ JSON");
            record["error_kind"]
                .as_str()
                .expect("error_kind")
                .to_owned()
        })
        .collect();
    kinds.sort();
    kinds
}

/// Ledger payloads by event id: every copy, so tests can check duplicates are identical.
pub fn by_event_id(messages: &[(String, String)]) -> HashMap<String, Vec<String>> {
    let mut events: HashMap<String, Vec<String>> = HashMap::new();
    for (_, payload) in messages {
        let value: serde_json::Value =
            serde_json::from_str(payload).expect("ledger payload is JSON");
        let id = value["event_id"].as_str().expect("event_id").to_owned();
        events.entry(id).or_default().push(payload.clone());
    }
    events
}
