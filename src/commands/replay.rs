//! `txscore replay FILE`: a recorded stream through the same core and an in-memory store, and
//! a per-rule report (alerts, alerts per 1,000 and, where the records are labelled, precision
//! and recall) so a risk team can tune thresholds on its own history.

use super::shared::load_rules;
use crate::config::ConfigFile;
use crate::evaluation::{Evaluation, ANY_ENFORCED};
use crate::pipeline::{BatchProcessor, Destination, Inbound};
use crate::store::{Keyspace, MemoryStore};
use crate::wire::SourcePosition;
use anyhow::Context;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Recorded transactions: JSON lines, or CSV with a header row (by extension .csv).
    /// CSV columns are the transaction fields, with merchant_id, merchant_name, mcc, country,
    /// city, lat and lon for the merchant.
    file: PathBuf,
    /// Rules file to evaluate; the shipped rules by default.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Field (JSON) or column (CSV) holding the fraud label: true/false or 1/0, blank if unknown.
    #[arg(long, default_value = "fraud_label")]
    label: String,
}

/// One recorded transaction: the payload as it would arrive, and its label.
struct Record {
    payload: Vec<u8>,
    label: Option<bool>,
}

pub async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let rules = load_rules(args.rules.as_deref())?;
    let records = read_records(&args.file, &args.label)?;
    let settings = ConfigFile::default().validate()?.processor;
    let processor = BatchProcessor::new(MemoryStore::new(), Keyspace::new("replay"), settings);
    let source = args.file.display().to_string();

    let mut dead_lettered: BTreeMap<String, u64> = BTreeMap::new();
    let mut rejected_offsets = HashSet::new();
    let mut alerted: HashMap<String, (BTreeSet<String>, bool)> = HashMap::new();
    for (chunk_index, chunk) in records.chunks(1_000).enumerate() {
        let batch: Vec<Inbound<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(index, record)| Inbound {
                payload: &record.payload,
                key: None,
                source: SourcePosition {
                    topic: source.clone(),
                    partition: 0,
                    offset: (chunk_index * 1_000 + index) as i64,
                },
                broker_timestamp_ms: None,
                routed: None,
            })
            .collect();
        let report = processor.process(&batch, &rules).await?;
        for message in &report.outbound {
            let value: Value = serde_json::from_str(&message.payload)?;
            match message.destination {
                Destination::Dlq => {
                    rejected_offsets.insert(value["source"]["offset"].as_i64().unwrap_or(-1));
                    let kind = value["error_kind"].as_str().unwrap_or("unknown");
                    *dead_lettered.entry(kind.to_owned()).or_default() += 1;
                }
                Destination::Alerts => {
                    let entry = alerted
                        .entry(value["txn_id"].as_str().unwrap_or_default().to_owned())
                        .or_default();
                    entry.1 |= value["mode"] == "enforce";
                    for reason in value["reasons"].as_array().into_iter().flatten() {
                        entry
                            .0
                            .insert(reason["rule"].as_str().unwrap_or_default().to_owned());
                    }
                }
                Destination::Ledger
                | Destination::Commands
                | Destination::Shadow
                | Destination::ByOwner => {}
            }
        }
    }

    let mut evaluation = Evaluation::default();
    let mut seen = HashSet::new();
    let none = (BTreeSet::new(), false);
    for (offset, record) in records.iter().enumerate() {
        if rejected_offsets.contains(&(offset as i64)) {
            continue;
        }
        let Some(txn_id) = txn_id_of(&record.payload) else {
            continue;
        };
        if seen.insert(txn_id.clone()) {
            let (tripped, enforced) = alerted.get(&txn_id).unwrap_or(&none);
            evaluation.add(record.label, tripped, *enforced);
        }
    }
    print_report(
        &source,
        &rules.latest().version,
        records.len(),
        &dead_lettered,
        &evaluation,
    );
    Ok(())
}

fn txn_id_of(payload: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    value["txn_id"].as_str().map(str::to_owned)
}

fn read_records(path: &Path, label: &str) -> anyhow::Result<Vec<Record>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"))
    {
        read_csv(&text, label).with_context(|| format!("reading {} as CSV", path.display()))
    } else {
        Ok(text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| json_record(line, label))
            .collect())
    }
}

/// A JSON line; its label field is read and left in place (the decoder ignores unknown fields).
fn json_record(line: &str, label: &str) -> Record {
    let value = serde_json::from_str::<Value>(line).ok();
    Record {
        payload: line.as_bytes().to_vec(),
        label: value.as_ref().and_then(|v| parse_label(&v[label])),
    }
}

fn parse_label(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => number.as_i64().map(|n| n != 0),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "fraud" => Some(true),
            "false" | "0" | "no" | "legit" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// CSV rows become the JSON a transaction message would carry; blank cells are left out.
fn read_csv(text: &str, label: &str) -> anyhow::Result<Vec<Record>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row?;
        let mut object = Map::new();
        let mut merchant = Map::new();
        let mut fraud = None;
        for (column, cell) in headers.iter().zip(row.iter()) {
            let cell = cell.trim();
            if column == label {
                fraud = parse_label(&Value::String(cell.to_owned()));
                continue;
            }
            if cell.is_empty() {
                continue;
            }
            let value = match column {
                "card_present" => Value::Bool(matches!(cell, "true" | "1" | "yes")),
                "lat" | "lon" => cell
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(cell.to_owned()), Value::Number),
                _ => Value::String(cell.to_owned()),
            };
            match column {
                "merchant_id" => merchant.insert("id".into(), value),
                "merchant_name" => merchant.insert("name".into(), value),
                "mcc" | "country" | "city" | "lat" | "lon" => merchant.insert(column.into(), value),
                _ => object.insert(column.into(), value),
            };
        }
        if !merchant.is_empty() {
            object.insert("merchant".into(), Value::Object(merchant));
        }
        records.push(Record {
            payload: Value::Object(object).to_string().into_bytes(),
            label: fraud,
        });
    }
    Ok(records)
}

fn print_report(
    source: &str,
    rules_version: &str,
    records: usize,
    dead_lettered: &BTreeMap<String, u64>,
    evaluation: &Evaluation,
) {
    let dead: u64 = dead_lettered.values().sum();
    println!("Replayed {records} records from {source} with rules {rules_version}:");
    println!(
        "  {} transactions scored, {dead} dead-lettered {dead_lettered:?}",
        evaluation.scored
    );
    println!(
        "  {} labelled, {} of them fraud",
        evaluation.labelled, evaluation.labelled_fraud
    );
    println!();
    println!(
        "{:<24} {:>8} {:>9} {:>10} {:>8}",
        "rule", "alerts", "per 1000", "precision", "recall"
    );
    let rows = evaluation
        .by_rule
        .iter()
        .map(|(rule, counts)| (rule.as_str(), counts))
        .chain(std::iter::once((ANY_ENFORCED, &evaluation.any_enforced)));
    let ratio = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    for (rule, counts) in rows {
        println!(
            "{rule:<24} {:>8} {:>9.1} {:>10} {:>8}",
            counts.flagged,
            evaluation.per_thousand(counts),
            ratio(evaluation.precision(counts)),
            ratio(evaluation.recall(counts))
        );
    }
}
