//! Batch processing against a real redis-server: replays change nothing, concurrent writers
//! to one member never lose an update, and a TLS server with a password works like any other
//! while its password never shows in an error. A batch whose write fails partway is processed
//! again and credits every input once.

mod common;

use common::{balances, inbound, processor_settings, redis, redis_store, rules, Reference};
use std::sync::Mutex;
use txscore::pipeline::{BatchProcessor, Destination};
use txscore::store::{
    AppliedMark, Behind, Claim, ClaimStep, GroupOutcome, Keyspace, RedisStore, ScanCursor,
    StateStore, StoreError, Versioned, WriteGroup,
};
use txscore::synth::{generate, StreamSpec};

#[tokio::test]
async fn processing_a_batch_twice_re_emits_identical_outputs_and_changes_nothing() {
    let server = redis();
    let messages = generate(&StreamSpec {
        transactions: 600,
        cards: 60,
        ..StreamSpec::default()
    });
    let processor = BatchProcessor::new(
        redis_store(&server).await,
        Keyspace::new("txscore"),
        processor_settings(),
    );
    let batch = inbound(&messages);
    let rules = rules();

    let first = processor.process(&batch, &rules).await.unwrap();
    let reference = Reference::of(&messages).await;
    let keys = reference.account_keys();
    let after_first = balances(processor.store(), &keys).await;
    assert_eq!(
        after_first,
        reference.balances().await,
        "Redis agrees with the in-memory reference"
    );

    let second = processor.process(&batch, &rules).await.unwrap();
    assert_eq!(second.scored, 0);
    assert_eq!(second.replayed, first.scored);
    assert_eq!(
        balances(processor.store(), &keys).await,
        after_first,
        "a replay changes no balance"
    );
    let applied = |report: &txscore::pipeline::BatchReport| -> Vec<_> {
        report
            .outbound
            .iter()
            .filter(|m| m.destination != Destination::Dlq)
            .cloned()
            .collect()
    };
    let (mut once, mut twice) = (applied(&first), applied(&second));
    once.sort_by(|a, b| a.payload.cmp(&b.payload));
    twice.sort_by(|a, b| a.payload.cmp(&b.payload));
    assert_eq!(
        once, twice,
        "replayed outputs are byte for byte the originals"
    );
}

/// Records written before output payloads were stored as JSON objects hold each payload as a
/// string of its JSON. This rewrites every record in Redis that way, by text substitution,
/// and replays the batch on a fresh processor: it reads them and re-emits every output byte
/// for byte.
#[tokio::test]
async fn records_holding_payloads_as_strings_replay_byte_for_byte() {
    let server = redis();
    let messages = generate(&StreamSpec {
        transactions: 300,
        cards: 30,
        ..StreamSpec::default()
    });
    let batch = inbound(&messages);
    let rules = rules();
    let processor =
        |store| BatchProcessor::new(store, Keyspace::new("txscore"), processor_settings());
    let first = processor(redis_store(&server).await)
        .process(&batch, &rules)
        .await
        .unwrap();
    let published: Vec<String> = first
        .outbound
        .iter()
        .filter(|m| m.destination != Destination::Dlq)
        .map(|m| m.payload.clone())
        .collect();
    assert!(published.len() > 250, "outputs: {}", published.len());

    let mut connection = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let records: Vec<String> = redis::cmd("KEYS")
        .arg("txscore:*:txn:*")
        .query(&mut connection)
        .unwrap();
    let mut rewritten = 0;
    for key in &records {
        let mut data: String = redis::cmd("HGET")
            .arg(key)
            .arg("data")
            .query(&mut connection)
            .unwrap();
        for payload in &published {
            let as_object = format!("\"payload\":{payload}");
            if data.contains(&as_object) {
                let as_string = format!("\"payload\":{}", serde_json::to_string(payload).unwrap());
                data = data.replace(&as_object, &as_string);
                rewritten += 1;
            }
        }
        assert!(
            !data.contains("\"payload\":{"),
            "every payload of {key} was one published: {data}"
        );
        redis::cmd("HSET")
            .arg(key)
            .arg("data")
            .arg(&data)
            .exec(&mut connection)
            .unwrap();
    }
    assert_eq!(rewritten, published.len(), "every output is in a record");

    let again = processor(redis_store(&server).await)
        .process(&batch, &rules)
        .await
        .unwrap();
    assert_eq!(again.scored, 0);
    assert_eq!(again.replayed, first.scored);
    let mut replayed: Vec<String> = again
        .outbound
        .iter()
        .filter(|m| m.destination != Destination::Dlq)
        .map(|m| m.payload.clone())
        .collect();
    let mut published = published;
    published.sort();
    replayed.sort();
    assert_eq!(replayed, published);
}

#[tokio::test]
async fn a_tls_server_requiring_a_password_reaches_the_reference_totals() {
    let server = txscore::local_redis::LocalRedis::start_tls("tls-pass-93f1")
        .expect("redis-server with TLS and openssl are installed");
    let messages = generate(&StreamSpec {
        transactions: 300,
        cards: 30,
        ..StreamSpec::default()
    });
    let reference = Reference::of(&messages).await;
    let store = redis_store(&server).await;
    let processor = BatchProcessor::new(store, Keyspace::new("txscore"), processor_settings());
    processor
        .process(&inbound(&messages), &rules())
        .await
        .unwrap();
    assert_eq!(
        balances(processor.store(), &reference.account_keys()).await,
        reference.balances().await
    );

    let wrong = server.url().replace("tls-pass-93f1", "not-the-password");
    let Err(error) = RedisStore::connect(&wrong, std::time::Duration::from_secs(2)).await else {
        panic!("a wrong password was accepted");
    };
    let plain = server.url().replace("rediss://", "redis://");
    let Err(plain_error) = RedisStore::connect(&plain, std::time::Duration::from_secs(2)).await
    else {
        panic!("plain text reached a TLS-only server");
    };
    for error in [error.to_string(), plain_error.to_string()] {
        assert!(
            !error.contains("not-the-password") && !error.contains("tls-pass-93f1"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn member_state_is_readable_with_redis_cli_semantics() {
    let server = redis();
    let messages = generate(&StreamSpec {
        transactions: 50,
        cards: 4,
        bad_every: 0,
        ..StreamSpec::default()
    });
    let processor = BatchProcessor::new(
        redis_store(&server).await,
        Keyspace::new("txscore"),
        processor_settings(),
    );
    processor
        .process(&inbound(&messages), &rules())
        .await
        .unwrap();

    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg("txscore:{m:M-00000}:account:default")
        .query(&mut connection)
        .unwrap();
    let state: serde_json::Value = serde_json::from_str(&fields["data"]).unwrap();
    assert!(fields["version"].parse::<u64>().unwrap() >= 1);
    assert!(state["balance"].as_i64().unwrap() > 0);
    assert_eq!(state["tier"], "standard");
    let ttl: i64 = redis::cmd("PTTL")
        .arg("txscore:{m:M-00000}:account:default")
        .query(&mut connection)
        .unwrap();
    assert_eq!(ttl, -1, "accounts never expire");
}

/// What a [`Hooked`] store does before its write call number `n` (from 0): let another writer
/// in, say, or fail the call as a lost connection would.
type BeforeWrite = Box<dyn FnMut(usize) -> Result<(), StoreError> + Send>;

/// A store that runs a hook before each write call, then writes unless the hook failed it.
struct Hooked<S> {
    inner: S,
    before_write: Mutex<(usize, BeforeWrite)>,
}

impl<S> Hooked<S> {
    fn new(inner: S, hook: impl FnMut(usize) -> Result<(), StoreError> + Send + 'static) -> Self {
        Hooked {
            inner,
            before_write: Mutex::new((0, Box::new(hook))),
        }
    }
}

impl<S: StateStore> StateStore for Hooked<S> {
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>, StoreError> {
        self.inner.get_many(keys).await
    }

    async fn apply(&self, groups: &[WriteGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        {
            let mut hooked = self.before_write.lock().unwrap();
            let (calls, hook) = &mut *hooked;
            let call = *calls;
            *calls += 1;
            hook(call)?;
        }
        self.inner.apply(groups).await
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.get_value(key).await
    }

    async fn list_head(&self, key: &str, count: usize) -> Result<Vec<String>, StoreError> {
        self.inner.list_head(key, count).await
    }

    async fn scan(
        &self,
        pattern: &str,
        cursor: ScanCursor,
    ) -> Result<(Vec<String>, Option<ScanCursor>), StoreError> {
        self.inner.scan(pattern, cursor).await
    }

    async fn claim(&self, claims: &[Claim], step: ClaimStep) -> Result<Vec<i64>, StoreError> {
        self.inner.claim(claims, step).await
    }

    async fn advance_applied(
        &self,
        key: &str,
        marks: &[AppliedMark],
    ) -> Result<Option<Behind>, StoreError> {
        self.inner.advance_applied(key, marks).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

fn purchase(txn_id: &str, card: &str, amount: &str) -> txscore::synth::SyntheticMessage {
    let payload = format!(
        r#"{{"txn_id":"{txn_id}","type":"purchase","card_token":"{card}","member_id":"M-1","amount":"{amount}",
        "currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},"timestamp":"2026-11-22T10:00:00Z"}}"#
    );
    txscore::synth::SyntheticMessage {
        key: card.into(),
        payload: payload.into_bytes(),
    }
}

#[tokio::test]
async fn a_concurrent_write_to_the_same_member_causes_a_rescore_not_a_lost_update() {
    let server = redis();
    let url = server.url();
    let mut interloper = Some(move || {
        // Another instance, consuming another partition, credits the same member meanwhile.
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let store = RedisStore::connect(&url, std::time::Duration::from_secs(2))
                    .await
                    .unwrap();
                let other =
                    BatchProcessor::new(store, Keyspace::new("txscore"), processor_settings());
                let messages = [purchase("T-B", "tok_b", "50.00")];
                other.process(&inbound(&messages), &rules()).await.unwrap();
            })
        })
        .join()
        .unwrap();
    });
    let store = Hooked::new(redis_store(&server).await, move |_| {
        if let Some(interloper) = interloper.take() {
            interloper();
        }
        Ok(())
    });
    let processor = BatchProcessor::new(store, Keyspace::new("txscore"), processor_settings());
    let messages = [purchase("T-A", "tok_a", "100.00")];
    let report = processor
        .process(&inbound(&messages), &rules())
        .await
        .unwrap();

    assert_eq!(
        report.conflicts, 1,
        "the first write found the member changed"
    );
    let key = "txscore:{m:M-1}:account:default".to_owned();
    let balance = balances(processor.store(), std::slice::from_ref(&key)).await[&key];
    let one_after_the_other = Reference::of(&[
        purchase("T-B", "tok_b", "50.00"),
        purchase("T-A", "tok_a", "100.00"),
    ])
    .await
    .balances()
    .await[&key];
    assert_eq!(balance, one_after_the_other, "both purchases counted once");
    let ledger: serde_json::Value = serde_json::from_str(&report.outbound[0].payload).unwrap();
    assert_eq!(
        ledger["balance_after"], balance.0,
        "the rescored event reflects the other write"
    );
}

#[tokio::test]
async fn a_batch_whose_second_part_fails_to_write_is_processed_again_crediting_each_input_once() {
    let server = redis();
    let messages = generate(&StreamSpec {
        transactions: 400,
        cards: 80,
        ..StreamSpec::default()
    });
    // The batch's owners are scored in two parts, each written while the next is scored: the
    // first part's write applies, the second part's fails as a dropped connection would.
    let store = Hooked::new(redis_store(&server).await, |call| match call {
        1 => Err(StoreError::Protocol("injected: connection reset".into())),
        _ => Ok(()),
    });
    let settings = txscore::pipeline::ProcessorSettings {
        store_concurrency: 2,
        ..processor_settings()
    };
    let processor = BatchProcessor::new(store, Keyspace::new("txscore"), settings);
    let batch = inbound(&messages);
    let failed = processor.process(&batch, &rules()).await;
    assert!(
        matches!(failed, Err(StoreError::Protocol(ref reason)) if reason.contains("injected")),
        "the failed write fails the batch"
    );
    let reference = Reference::of(&messages).await;
    let keys = reference.account_keys();
    let written = balances(processor.store(), &keys).await.len();
    assert!(
        0 < written && written < keys.len(),
        "one part of the batch was written and one not: {written} of {} accounts",
        keys.len()
    );

    let again = processor.process(&batch, &rules()).await.unwrap();
    assert!(
        again.replayed > 0 && again.scored > 0,
        "the written part replays and the rest is scored: {} replayed, {} scored",
        again.replayed,
        again.scored
    );
    assert_eq!(
        balances(processor.store(), &keys).await,
        reference.balances().await,
        "every input credited once"
    );
    let mut events: Vec<String> = again
        .outbound
        .iter()
        .filter(|message| message.destination == Destination::Ledger)
        .map(|message| {
            let event: serde_json::Value = serde_json::from_str(&message.payload).unwrap();
            event["event_id"].as_str().unwrap().to_owned()
        })
        .collect();
    events.sort();
    let expected: Vec<String> = reference.ledger_ids.iter().cloned().collect();
    assert_eq!(
        events, expected,
        "the batch processed again emits every ledger event once, no more"
    );
}
