//! Which of the topics txscore needs the cluster lacks, checked before the first batch: a
//! missing topic would otherwise surface only as a delivery error after the retry budget, or
//! as a subscription that silently consumes nothing.

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::types::RDKafkaRespErr;
use std::time::Duration;

/// The topics of `topics` the cluster's metadata does not list (or lists without partitions).
/// Blocks.
pub fn missing_topics<C: ConsumerContext, K: Consumer<C>>(
    consumer: &K,
    topics: &[String],
    timeout: Duration,
) -> KafkaResult<Vec<String>> {
    let mut missing = Vec::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        let present = metadata.topics().iter().any(|listed| {
            listed.name() == topic
                && listed.error() != Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                && !listed.partitions().is_empty()
        });
        if !present {
            missing.push(topic.clone());
        }
    }
    Ok(missing)
}
