//! `txscore redrive --kind KIND`: dead letters sent back to the input topic they were read
//! from, once what set them aside is fixed: a refund that arrived before its original, a
//! programme or currency the rules lacked, a reviewer's verdict that came too early.
//!
//! It reads the dead-letter topic from its start to its end as the command begins, picks the
//! records of the kinds asked for (and, with `--since`, written from that time on), and
//! produces each one's original payload, under its original key, to the topic it came from.
//! What fails again is dead-lettered again, with a fresh reason; the next re-drive sends such a
//! message once, however many copies of it the topic holds. A record re-driven twice is
//! applied once (the transaction records see to that), but its outputs are published again,
//! with the same event ids.

use super::shared::read_whole_topic;
use crate::config::Config;
use crate::wire::DlqRecord;
use anyhow::Context;
use clap::Args;
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use time::OffsetDateTime;

#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// Re-drive dead letters of this `error_kind`; repeat it for several. `raw_pan` is refused:
    /// its records hold the message with the card number masked, and its sender has to send a
    /// card token instead.
    #[arg(long = "kind", required = true, value_parser = redrivable_kind)]
    kinds: Vec<String>,
    /// Only dead letters written at or after this time: RFC 3339 or a date (its start, UTC).
    #[arg(long, value_parser = super::expire::parse_time)]
    since: Option<OffsetDateTime>,
    /// Count what would be re-driven, and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Configuration file (as for `run`): brokers and topics.
    #[arg(long)]
    config: Option<PathBuf>,
}

fn redrivable_kind(kind: &str) -> Result<String, String> {
    if kind == "raw_pan" {
        return Err(
            "raw_pan dead letters hold a masked copy of the message and cannot be \
                    sent again; its sender must send a card_token instead"
                .into(),
        );
    }
    Ok(kind.to_owned())
}

/// Which dead letters to re-drive.
#[derive(Debug, Clone)]
pub struct Selection {
    pub kinds: Vec<String>,
    /// Written at or after this, in Unix milliseconds (the record's broker timestamp).
    pub since_ms: Option<i64>,
}

/// What becomes of one dead letter.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Produce `payload` to `topic` again, under the dead letter's key.
    Resend {
        kind: String,
        topic: String,
        payload: Vec<u8>,
    },
    /// Not asked for: another kind, or written before `--since`.
    NotSelected { kind: String },
    /// Asked for, but it cannot be sent again, for `reason`.
    Unsendable { kind: String, reason: &'static str },
    /// Not a dead-letter record.
    Unreadable,
}

/// The verdict on the dead letter `record`, written at `written_ms`, when `inputs` are the
/// input topics of this deployment.
pub fn verdict(
    record: &[u8],
    written_ms: Option<i64>,
    selection: &Selection,
    inputs: &[&str],
) -> Verdict {
    let Ok(record) = serde_json::from_slice::<DlqRecord>(record) else {
        return Verdict::Unreadable;
    };
    let early = selection
        .since_ms
        .is_some_and(|since| written_ms.is_none_or(|written| written < since));
    if !selection.kinds.contains(&record.error_kind) || early {
        return Verdict::NotSelected {
            kind: record.error_kind,
        };
    }
    let unsendable = |reason| Verdict::Unsendable {
        kind: record.error_kind.clone(),
        reason,
    };
    if record.error_kind == "raw_pan" {
        return unsendable("it carried a card number, which the record masks");
    }
    if !inputs.contains(&record.source.topic.as_str()) {
        return unsendable("it was not read from an input topic");
    }
    match record.original_payload() {
        Some(payload) => Verdict::Resend {
            kind: record.error_kind,
            topic: record.source.topic,
            payload,
        },
        None => unsendable("the record holds only part of the message"),
    }
}

/// What a re-drive did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Redriven {
    /// Dead letters read, by kind (a record that is not one counts as `unreadable`).
    pub read: BTreeMap<String, u64>,
    /// Sent back (or, in a dry run, to be sent), by kind.
    pub sent: BTreeMap<String, u64>,
    /// Not sent, by reason: asked for but not sendable, or not a dead-letter record at all.
    pub unsendable: BTreeMap<&'static str, u64>,
}

/// A dead letter to send back.
struct Outgoing {
    kind: String,
    topic: String,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
}

/// `outgoing` without the copies of a message after its first, and how many copies there were.
/// A message that failed again after a re-drive is on the topic twice, and each re-drive would
/// otherwise double what it sends back of it.
fn first_copies(outgoing: Vec<Outgoing>) -> (Vec<Outgoing>, u64) {
    let mut seen = HashSet::new();
    let first: Vec<bool> = outgoing
        .iter()
        .map(|message| {
            seen.insert((
                message.topic.as_str(),
                message.key.as_deref(),
                message.payload.as_slice(),
            ))
        })
        .collect();
    let copies = first.iter().filter(|first| !**first).count() as u64;
    let kept = outgoing
        .into_iter()
        .zip(first)
        .filter_map(|(message, first)| first.then_some(message))
        .collect();
    (kept, copies)
}

/// `kind count` pairs, or `none`.
fn listed(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    let pairs: Vec<String> = counts
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect();
    pairs.join(", ")
}

pub async fn redrive(args: RedriveArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?;
    let selection = Selection {
        kinds: args.kinds,
        since_ms: args
            .since
            .map(|since| (since.unix_timestamp_nanos() / 1_000_000) as i64),
    };
    let dlq = config.topics().dlq.clone();
    let redriven = redrive_dead_letters(&config, &selection, args.dry_run).await?;
    let verb = if args.dry_run { "Would send" } else { "Sent" };
    println!(
        "Read {} dead letters on {dlq} ({}). {verb} {} back to their input topics ({}).",
        redriven.read.values().sum::<u64>(),
        listed(&redriven.read),
        redriven.sent.values().sum::<u64>(),
        listed(&redriven.sent)
    );
    for (reason, count) in &redriven.unsendable {
        println!("Not sent, {count}: {reason}.");
    }
    Ok(())
}

/// Reads the dead-letter topic of `config` to its end and sends back what `selection` picks,
/// waiting for every acknowledgement; in a dry run, only counts.
pub async fn redrive_dead_letters(
    config: &Config,
    selection: &Selection,
    dry_run: bool,
) -> anyhow::Result<Redriven> {
    let topics = config.topics().clone();
    let reader_config = config.kafka.reader_config();
    let selection = selection.clone();
    let (mut redriven, resend) = tokio::task::spawn_blocking(move || {
        let reader: BaseConsumer = reader_config.create()?;
        let inputs = topics.inputs();
        let mut redriven = Redriven::default();
        let mut resend = Vec::new();
        read_whole_topic(&reader, &topics.dlq, |message| {
            let written = message.timestamp().to_millis();
            let record = message.payload().unwrap_or_default();
            let kind = match verdict(record, written, &selection, &inputs) {
                Verdict::Resend {
                    kind,
                    topic,
                    payload,
                } => {
                    resend.push(Outgoing {
                        kind: kind.clone(),
                        topic,
                        key: message.key().map(<[u8]>::to_vec),
                        payload,
                    });
                    kind
                }
                Verdict::NotSelected { kind } => kind,
                Verdict::Unsendable { kind, reason } => {
                    *redriven.unsendable.entry(reason).or_default() += 1;
                    kind
                }
                Verdict::Unreadable => {
                    *redriven
                        .unsendable
                        .entry("not a dead-letter record")
                        .or_default() += 1;
                    "unreadable".to_owned()
                }
            };
            *redriven.read.entry(kind).or_default() += 1;
            Ok(())
        })?;
        Ok::<_, anyhow::Error>((redriven, resend))
    })
    .await
    .context("the dead-letter reader stopped")??;
    let (resend, copies) = first_copies(resend);
    if copies > 0 {
        redriven
            .unsendable
            .insert("a copy of a message sent in this run", copies);
    }
    for message in &resend {
        *redriven.sent.entry(message.kind.clone()).or_default() += 1;
    }
    if dry_run {
        return Ok(redriven);
    }
    let producer: FutureProducer = config
        .kafka
        .command_producer_config()
        .create()
        .context("creating the producer")?;
    // Queued a thousand at a time, each thousand's acknowledgements awaited together.
    for chunk in resend.chunks(1_000) {
        let mut acks = Vec::with_capacity(chunk.len());
        for Outgoing {
            topic,
            key,
            payload,
            ..
        } in chunk
        {
            let mut record = FutureRecord::to(topic).payload(payload);
            if let Some(key) = key {
                record = record.key(key);
            }
            let ack = producer
                .send_result(record)
                .map_err(|(error, _)| error)
                .with_context(|| format!("sending a dead letter back to {topic}"))?;
            acks.push((topic, ack));
        }
        for (topic, ack) in acks {
            ack.await
                .context("the producer stopped")?
                .map_err(|(error, _)| error)
                .with_context(|| format!("sending a dead letter back to {topic}"))?;
        }
    }
    Ok(redriven)
}

#[cfg(test)]
mod tests;
