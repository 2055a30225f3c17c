//! The consumer group's committed offsets and the partitions of the input topics, read
//! without joining the group: for the store's applied-positions guard and `txscore
//! accept-store`.

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// A topic and one of its partitions.
pub type Partition = (String, i32);

/// The group's committed offset of each of `partitions` (-1 where none is committed). Blocks.
pub fn committed_offsets<C: ConsumerContext, K: Consumer<C>>(
    consumer: &K,
    partitions: &[Partition],
    timeout: Duration,
) -> KafkaResult<Vec<(Partition, i64)>> {
    let mut list = TopicPartitionList::new();
    for (topic, partition) in partitions {
        list.add_partition(topic, *partition);
    }
    let committed = consumer.committed_offsets(list, timeout)?;
    Ok(partitions
        .iter()
        .map(|(topic, partition)| {
            let offset = committed
                .find_partition(topic, *partition)
                .and_then(|element| match element.offset() {
                    Offset::Offset(offset) => Some(offset),
                    _ => None,
                })
                .unwrap_or(-1);
            ((topic.clone(), *partition), offset)
        })
        .collect())
}

/// The group's committed offset of every partition of `topics` (-1 where none is
/// committed). Blocks.
pub fn committed_offsets_of_topics<C: ConsumerContext, K: Consumer<C>>(
    consumer: &K,
    topics: &[String],
    timeout: Duration,
) -> KafkaResult<Vec<(Partition, i64)>> {
    let partitions = partitions_of(consumer, topics, timeout)?;
    committed_offsets(consumer, &partitions, timeout)
}

/// Every partition of `topics`, as the cluster's metadata lists them. Blocks.
fn partitions_of<C: ConsumerContext, K: Consumer<C>>(
    consumer: &K,
    topics: &[String],
    timeout: Duration,
) -> KafkaResult<Vec<Partition>> {
    let mut partitions = Vec::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        for listed in metadata.topics() {
            if let Some(error) = listed.error() {
                return Err(rdkafka::error::KafkaError::MetadataFetch(error.into()));
            }
            partitions.extend(
                listed
                    .partitions()
                    .iter()
                    .map(|partition| (listed.name().to_owned(), partition.id())),
            );
        }
    }
    Ok(partitions)
}
