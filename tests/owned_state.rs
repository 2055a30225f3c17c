//! State held in memory between batches, against a real redis-server: a later batch reads
//! from Redis nothing it already holds, and what it holds is never trusted over a write it did
//! not see: another instance's write refuses the group, which is read again and rescored.

mod common;

use common::{balances, inbound, processor_settings, redis, rules, Reference};
use std::collections::BTreeMap;
use txscore::local_redis::LocalRedis;
use txscore::pipeline::{BatchProcessor, Destination, ProcessorSettings};
use txscore::store::{Keyspace, RedisStore};
use txscore::synth::SyntheticMessage;

fn purchase(txn_id: &str, member: &str, card: &str, amount: &str) -> SyntheticMessage {
    let payload = format!(
        r#"{{"txn_id":"{txn_id}","type":"purchase","card_token":"{card}","member_id":"{member}","amount":"{amount}",
        "currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},"timestamp":"2026-11-22T10:00:00Z"}}"#
    );
    SyntheticMessage {
        key: card.into(),
        payload: payload.into_bytes(),
    }
}

async fn processor(server: &LocalRedis, settings: ProcessorSettings) -> BatchProcessor<RedisStore> {
    let store = common::redis_store(server).await;
    BatchProcessor::new(store, Keyspace::new("txscore"), settings)
}

/// How many keys Redis was asked to read since the last call.
fn reads_since_last(server: &LocalRedis) -> u64 {
    let mut connection = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection)
        .unwrap();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec(&mut connection)
        .unwrap();
    stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_hmget:calls="))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

/// Two batches of purchases by the same members on the same cards, new transactions in each.
fn two_batches() -> (Vec<SyntheticMessage>, Vec<SyntheticMessage>) {
    let batch = |round: usize| -> Vec<SyntheticMessage> {
        (0..40)
            .map(|n| {
                purchase(
                    &format!("T-{round}-{n}"),
                    &format!("M-{}", n % 8),
                    &format!("tok_{}", n % 16),
                    &format!("{}.50", 20 + n),
                )
            })
            .collect()
    };
    (batch(1), batch(2))
}

/// Processes both batches and returns the keys the second read from Redis, and the balances
/// of `keys` after it.
async fn second_batch_reads(
    owned_state_entries: usize,
    first: &[SyntheticMessage],
    second: &[SyntheticMessage],
    keys: &[String],
) -> (u64, BTreeMap<String, (i64, i64)>) {
    let server = redis();
    let settings = ProcessorSettings {
        owned_state_entries,
        ..processor_settings()
    };
    let processor = processor(&server, settings).await;
    processor.process(&inbound(first), &rules()).await.unwrap();
    reads_since_last(&server);
    let report = processor.process(&inbound(second), &rules()).await.unwrap();
    assert_eq!((report.scored, report.conflicts), (40, 0));
    let reads = reads_since_last(&server);
    (reads, balances(processor.store(), keys).await)
}

#[tokio::test]
async fn a_later_batch_reads_from_redis_nothing_it_holds() {
    let (first, second) = two_batches();
    let together: Vec<SyntheticMessage> = first.iter().chain(&second).cloned().collect();
    let reference = Reference::of(&together).await;
    let keys = reference.account_keys();
    assert_eq!(keys.len(), 8);

    let (with_memory, held) = second_batch_reads(1000, &first, &second, &keys).await;
    assert_eq!(
        with_memory, 0,
        "accounts and cards come from memory, records are presumed new"
    );
    assert_eq!(held, reference.balances().await);
    let (without, held) = second_batch_reads(0, &first, &second, &keys).await;
    assert_eq!(
        without,
        8 + 16,
        "without memory every account and card is read (records are presumed new either way)"
    );
    assert_eq!(held, reference.balances().await);
}

#[tokio::test]
async fn state_held_in_memory_yields_to_another_instances_write() {
    let server = redis();
    let ours = processor(&server, processor_settings()).await;
    let theirs = processor(&server, processor_settings()).await;
    let sequence = [
        purchase("T-1", "M-1", "tok_a", "100.00"),
        purchase("T-2", "M-1", "tok_b", "50.00"),
        purchase("T-3", "M-1", "tok_a", "30.00"),
    ];

    ours.process(&inbound(&sequence[..1]), &rules())
        .await
        .unwrap();
    theirs
        .process(&inbound(&sequence[1..2]), &rules())
        .await
        .unwrap();
    let report = ours
        .process(&inbound(&sequence[2..]), &rules())
        .await
        .unwrap();

    assert_eq!(report.conflicts, 1, "the account held in memory had moved");
    let key = "txscore:{m:M-1}:account:default".to_owned();
    let held = balances(ours.store(), std::slice::from_ref(&key)).await[&key];
    let one_after_the_other = Reference::of(&sequence).await.balances().await[&key];
    assert_eq!(
        held, one_after_the_other,
        "no purchase lost, none counted twice"
    );
    let ledger = report
        .outbound
        .iter()
        .find(|message| message.destination == Destination::Ledger)
        .expect("the purchase is posted");
    let event: serde_json::Value = serde_json::from_str(&ledger.payload).unwrap();
    assert_eq!(event["balance_after"], held.0, "scored on the other write");

    let again = ours
        .process(&inbound(&sequence[1..2]), &rules())
        .await
        .unwrap();
    assert_eq!(
        (again.scored, again.replayed),
        (0, 1),
        "another instance's transaction, redelivered here, is a replay"
    );
    assert_eq!(
        balances(ours.store(), std::slice::from_ref(&key)).await[&key],
        held
    );
}
