//! Telling a batch's messages apart: inputs from their topics, and inputs read back from the
//! owner log with the owner, kind and origin its records carry.

use crate::pipeline::batch::{BatchProcessor, BatchReport, Inbound};
use crate::pipeline::owner_log;
use crate::pipeline::topics::Topics;
use crate::store::StateStore;
use crate::wire::SourcePosition;
use rdkafka::message::{BorrowedMessage, Headers, Message};

/// A batch's messages by stage: inputs to route (or, without member order, to score), and
/// inputs read back from the owner log to score. `report` holds the dead letters of owner log
/// records that could not be read.
pub(super) struct Stages<'a> {
    pub inputs: Vec<Inbound<'a>>,
    pub routed: Vec<Inbound<'a>>,
    pub report: BatchReport,
}

impl<'a> Stages<'a> {
    pub(super) fn of<S: StateStore>(
        messages: &'a [BorrowedMessage<'_>],
        topics: &Topics,
        processor: &BatchProcessor<S>,
    ) -> Stages<'a> {
        let mut stages = Stages {
            inputs: Vec::new(),
            routed: Vec::new(),
            report: BatchReport::default(),
        };
        for message in messages {
            if message.topic() != topics.by_owner {
                stages.inputs.push(inbound_of(message));
                continue;
            }
            match routed_inbound_of(message) {
                Ok(inbound) => stages.routed.push(inbound),
                Err(reason) => stages.report.merge(processor.refuse(
                    &inbound_of(message),
                    "unreadable_owner_log",
                    reason,
                )),
            }
        }
        stages
    }
}

/// A consumed message as the batch processor takes it.
pub fn inbound_of<'a>(message: &'a BorrowedMessage<'_>) -> Inbound<'a> {
    Inbound {
        payload: message.payload().unwrap_or_default(),
        key: message.key(),
        source: SourcePosition {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        },
        broker_timestamp_ms: message.timestamp().to_millis(),
        routed: None,
    }
}

/// A message from the owner log as the batch processor takes it: its owner and kind, and the
/// position and key of the input record it was routed from.
fn routed_inbound_of<'a>(message: &'a BorrowedMessage<'_>) -> Result<Inbound<'a>, String> {
    let headers: Vec<(&str, &[u8])> = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .filter_map(|header| Some((header.key, header.value?)))
                .collect()
        })
        .unwrap_or_default();
    let record = owner_log::read(message.key(), &headers)?;
    Ok(Inbound {
        payload: message.payload().unwrap_or_default(),
        key: record.key,
        source: record.source,
        broker_timestamp_ms: message.timestamp().to_millis(),
        routed: Some(record.routed),
    })
}
