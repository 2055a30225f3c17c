//! A campaign budget shared by all members, on a real redis-server and on the in-memory store:
//! two instances racing for it never overspend it, redelivery (after a crash too) draws nothing
//! twice, and a refund gives its share back for later members.

mod common;

use common::{inbound, processor_settings, redis};
use proptest::prelude::*;
use std::collections::BTreeMap;
use txscore::pipeline::{BatchProcessor, BatchReport, Destination};
use txscore::rules::{RuleBook, RuleSet};
use txscore::store::{
    AppliedMark, Behind, Claim, ClaimStep, GroupOutcome, Keyspace, MemoryStore, RedisStore,
    ScanCursor, StateStore, StoreError, Versioned, WriteGroup,
};
use txscore::synth::SyntheticMessage;

/// 50 bonus points on every purchase in November, 1,000 for all members together.
fn rules() -> RuleBook {
    RuleSet::from_toml(&rules_text())
        .expect("valid rules")
        .into()
}

fn rules_text() -> String {
    r#"version = "budget-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
[[programs.default.earning.campaigns]]
id = "launch"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
bonus = 50
budget = 1000
"#
    .to_owned()
}

const BUDGET_KEY: &str = "txscore:{b:default:launch}:budget";

fn message(json: String, member: &str) -> SyntheticMessage {
    SyntheticMessage {
        key: member.into(),
        payload: json.into_bytes(),
    }
}

/// A purchase of `amount` CNY by `member` (earning as many base points).
fn purchase(txn_id: &str, member: &str, amount: u32, minute: u32) -> SyntheticMessage {
    message(
        format!(
            r#"{{"txn_id":"{txn_id}","type":"purchase","card_token":"tok-{member}","member_id":"{member}",
            "amount":"{amount}","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "timestamp":"2026-11-22T10:{minute:02}:00Z"}}"#
        ),
        member,
    )
}

/// A refund of `amount` CNY of the purchase `of`.
fn refund(txn_id: &str, of: &str, member: &str, amount: u32) -> SyntheticMessage {
    message(
        format!(
            r#"{{"txn_id":"{txn_id}","type":"refund","card_token":"tok-{member}","member_id":"{member}",
            "amount":"{amount}","currency":"CNY","merchant":{{"id":"MER-1","mcc":"5411","country":"CN"}},
            "original_txn_id":"{of}","timestamp":"2026-11-22T11:00:00Z"}}"#
        ),
        member,
    )
}

/// Campaign points each member's ledger events were credited, by member.
fn campaign_points(reports: &[&BatchReport]) -> BTreeMap<String, i64> {
    let mut points = BTreeMap::new();
    for outbound in reports.iter().flat_map(|report| &report.outbound) {
        assert_ne!(
            outbound.destination,
            Destination::Dlq,
            "{}",
            outbound.payload
        );
        if outbound.destination != Destination::Ledger {
            continue;
        }
        let event: serde_json::Value = serde_json::from_str(&outbound.payload).unwrap();
        *points
            .entry(event["member_id"].as_str().unwrap().to_owned())
            .or_default() += launch_bonus(&event);
    }
    points
}

/// The points a ledger event's `campaign:launch` lines gave.
fn launch_bonus(event: &serde_json::Value) -> i64 {
    event["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["rule"] == "campaign:launch")
        .map(|line| line["points"].as_str().unwrap().parse::<i64>().unwrap())
        .sum()
}

async fn drawn<S: StateStore>(store: &S) -> i64 {
    store
        .get_value(BUDGET_KEY)
        .await
        .unwrap()
        .map_or(0, |value| value.parse().unwrap())
}

fn processor<S: StateStore>(store: S) -> BatchProcessor<S> {
    BatchProcessor::new(store, Keyspace::new("txscore"), processor_settings())
}

/// Two processors (instances) score 15 members each at once; the budget covers 20 bonuses.
async fn race_for_the_budget<S: StateStore>(first: &BatchProcessor<S>, second: &BatchProcessor<S>) {
    let rules = rules();
    let halves: [Vec<SyntheticMessage>; 2] = [0, 1].map(|half| {
        (0..15)
            .map(|n| {
                let member = format!("M-{half}{n:02}");
                purchase(&format!("T-{half}{n:02}"), &member, 100, n)
            })
            .collect()
    });
    let (a, b) = (inbound(&halves[0]), inbound(&halves[1]));
    let (one, two) = tokio::join!(first.process(&a, &rules), second.process(&b, &rules));
    let (one, two) = (one.unwrap(), two.unwrap());
    let points = campaign_points(&[&one, &two]);
    assert_eq!(points.len(), 30, "every member earned");
    assert_eq!(
        points.values().sum::<i64>(),
        1000,
        "the bonuses add up to the budget exactly: {points:?}"
    );
    assert!(points.values().all(|p| [0, 50].contains(p)), "{points:?}");
    assert_eq!(drawn(first.store()).await, 1000);

    let (again_one, again_two) =
        tokio::join!(first.process(&a, &rules), second.process(&b, &rules));
    let (again_one, again_two) = (again_one.unwrap(), again_two.unwrap());
    assert_eq!(again_one.replayed + again_two.replayed, 30);
    assert_eq!(campaign_points(&[&again_one, &again_two]), points);
    assert_eq!(
        drawn(first.store()).await,
        1000,
        "a redelivery draws nothing"
    );

    // A member with the bonus refunds in full: its 50 go back, and the next newcomer gets them.
    let (lucky, _) = points.iter().find(|(_, p)| **p == 50).unwrap();
    let sale = format!("T-{}", &lucky[2..]);
    let refunded = [refund("R-1", &sale, lucky, 100)];
    first.process(&inbound(&refunded), &rules).await.unwrap();
    assert_eq!(drawn(first.store()).await, 950);
    let newcomer = [purchase("T-new", "M-new", 100, 30)];
    let report = second.process(&inbound(&newcomer), &rules).await.unwrap();
    assert_eq!(campaign_points(&[&report])["M-new"], 50);
    let late = [purchase("T-late", "M-late", 100, 31)];
    let report = first.process(&inbound(&late), &rules).await.unwrap();
    assert_eq!(campaign_points(&[&report])["M-late"], 0);
    assert_eq!(drawn(first.store()).await, 1000);
}

#[tokio::test]
async fn two_instances_share_a_redis_budget_without_overspending_it() {
    let server = redis();
    let url = server.url();
    let connect = || RedisStore::connect(&url, std::time::Duration::from_secs(2));
    let first = processor(connect().await.unwrap());
    let second = processor(connect().await.unwrap());
    race_for_the_budget(&first, &second).await;
}

#[tokio::test]
async fn the_in_memory_store_keeps_budgets_the_same_way() {
    let shared = processor(MemoryStore::new());
    race_for_the_budget(&shared, &shared).await;
}

/// A store whose writes fail: an instance that dies after reserving budget, before writing.
struct WritesFail<S>(S);

impl<S: StateStore> StateStore for WritesFail<S> {
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>, StoreError> {
        self.0.get_many(keys).await
    }

    async fn apply(&self, _: &[WriteGroup]) -> Result<Vec<GroupOutcome>, StoreError> {
        Err(StoreError::Protocol("the instance died".into()))
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.0.get_value(key).await
    }

    async fn list_head(&self, key: &str, count: usize) -> Result<Vec<String>, StoreError> {
        self.0.list_head(key, count).await
    }

    async fn scan(
        &self,
        pattern: &str,
        cursor: ScanCursor,
    ) -> Result<(Vec<String>, Option<ScanCursor>), StoreError> {
        self.0.scan(pattern, cursor).await
    }

    async fn claim(&self, claims: &[Claim], step: ClaimStep) -> Result<Vec<i64>, StoreError> {
        self.0.claim(claims, step).await
    }

    async fn advance_applied(
        &self,
        key: &str,
        marks: &[AppliedMark],
    ) -> Result<Option<Behind>, StoreError> {
        self.0.advance_applied(key, marks).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

#[tokio::test]
async fn a_redelivery_after_a_crash_between_reserving_and_writing_draws_once() {
    let server = redis();
    let url = server.url();
    let connect = || RedisStore::connect(&url, std::time::Duration::from_secs(2));
    let rules = rules();
    let purchases: Vec<SyntheticMessage> = (0..8)
        .map(|n| purchase(&format!("T-{n}"), &format!("M-{n}"), 100, n))
        .collect();
    let batch = inbound(&purchases);
    let dying = processor(WritesFail(connect().await.unwrap()));
    assert!(dying.process(&batch, &rules).await.is_err());
    assert_eq!(drawn(dying.store()).await, 400, "reserved, never written");

    let survivor = processor(connect().await.unwrap());
    let report = survivor.process(&batch, &rules).await.unwrap();
    let points = campaign_points(&[&report]);
    assert_eq!(points.values().sum::<i64>(), 400);
    assert_eq!(
        drawn(survivor.store()).await,
        400,
        "the redelivered purchases found their grants"
    );
}

/// One step of a random stream: a purchase by one of six members, or a full refund of an
/// earlier purchase (by index; a second refund of one takes nothing back).
#[derive(Debug, Clone)]
enum Step {
    Buy { member: u8, amount: u32 },
    Refund { of: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..6, 1u32..500).prop_map(|(member, amount)| Step::Buy { member, amount }),
        1 => (0usize..64).prop_map(|of| Step::Refund { of }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_budget_counter_is_what_unrefunded_purchases_drew_and_never_more_than_the_budget(
        steps in proptest::collection::vec(step(), 1..60),
        batch_size in 1usize..12,
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let shared = processor(MemoryStore::new());
            let rules = rules();
            let mut purchases: Vec<(String, String, u32)> = Vec::new();
            let mut refund_of: BTreeMap<String, String> = BTreeMap::new();
            let mut messages = Vec::new();
            for (index, step) in steps.iter().enumerate() {
                match step {
                    Step::Buy { member, amount } => {
                        let (txn, member) = (format!("T-{index}"), format!("M-{member}"));
                        messages.push(purchase(&txn, &member, *amount, 0));
                        purchases.push((txn, member, *amount));
                    }
                    Step::Refund { of } if !purchases.is_empty() => {
                        let (sale, member, amount) = &purchases[of % purchases.len()];
                        let id = format!("R-{index}");
                        messages.push(refund(&id, sale, member, *amount));
                        refund_of.insert(id, sale.clone());
                    }
                    Step::Refund { .. } => {}
                }
            }
            let mut drew: BTreeMap<String, i64> = BTreeMap::new();
            let mut refunded = std::collections::BTreeSet::new();
            for chunk in messages.chunks(batch_size) {
                let report = shared.process(&inbound(chunk), &rules).await.unwrap();
                for outbound in report.outbound.iter().filter(|o| o.destination == Destination::Ledger) {
                    let event: serde_json::Value = serde_json::from_str(&outbound.payload).unwrap();
                    let txn = event["txn_id"].as_str().unwrap().to_owned();
                    if event["event_type"] == "points_reversed" {
                        refunded.insert(txn);
                        continue;
                    }
                    drew.insert(txn, launch_bonus(&event));
                }
                let counter = drawn(shared.store()).await;
                prop_assert!(counter <= 1000, "{}", counter);
            }
            let refunded_sales: std::collections::BTreeSet<&str> = refunded
                .iter()
                .map(|refund| refund_of[refund].as_str())
                .collect();
            let kept: i64 = drew
                .iter()
                .filter(|(txn, _)| !refunded_sales.contains(txn.as_str()))
                .map(|(_, bonus)| bonus)
                .sum();
            prop_assert_eq!(drawn(shared.store()).await, kept);
            Ok(())
        })?;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_reusing_one_txn_id_draw_from_the_budget_once_each_through_kafka() {
    // Txn ids are unique per issuer, not across them: forty members' purchases share one.
    let stack = common::Stack::start("budget-same-txn", &rules_text(), |_| {}).await;
    let purchases: Vec<SyntheticMessage> = (0..40)
        .map(|n| purchase("T-SHARED", &format!("M-{n:02}"), 100, n % 60))
        .collect();
    stack.broker.feed(&purchases).await;
    stack
        .broker
        .wait_consumed(&stack.broker.topics.transactions);
    let ledger = common::read_to_end(&stack.broker.brokers, &stack.broker.topics.ledger, false);
    // Event ids repeat across members here (they carry the txn id): key by member too.
    let events: BTreeMap<(String, String), serde_json::Value> = ledger
        .iter()
        .map(|(_, payload)| {
            let event: serde_json::Value = serde_json::from_str(payload).unwrap();
            let key = (
                event["member_id"].as_str().unwrap().to_owned(),
                event["event_id"].as_str().unwrap().to_owned(),
            );
            (key, event)
        })
        .collect();
    assert_eq!(events.len(), 40, "one event per member");
    let bonuses: i64 = events.values().map(launch_bonus).sum();
    let drawn = drawn(&stack.store).await;
    assert_eq!(drawn, 1000, "the budget is drawn to its end");
    assert_eq!(bonuses, drawn, "what members got is what the budget counts");
    stack.running.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_refund_keeps_the_sales_budget_claim_alive_with_its_record() {
    let server = redis();
    let store = common::redis_store(&server).await;
    let settings = txscore::pipeline::ProcessorSettings {
        txn_record_ttl: std::time::Duration::from_millis(1500),
        ..processor_settings()
    };
    let processor = BatchProcessor::new(store, Keyspace::new("txscore"), settings);
    let rules = rules();
    let sale = [purchase("T-1", "M-1", 100, 0)];
    processor.process(&inbound(&sale), &rules).await.unwrap();
    assert_eq!(drawn(processor.store()).await, 50);
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    // A partial refund rewrites the sale's record, which lives 1.5 s from now on.
    let refunded = [refund("R-1", "T-1", "M-1", 10)];
    processor
        .process(&inbound(&refunded), &rules)
        .await
        .unwrap();
    let after_refund = drawn(processor.store()).await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    // Past the sale's first 1.5 s: its record is alive, and so must its claim be.
    let report = processor.process(&inbound(&sale), &rules).await.unwrap();
    assert_eq!(report.replayed, 1, "the sale's record is still there");
    assert_eq!(
        drawn(processor.store()).await,
        after_refund,
        "the replay found its claim and drew nothing again"
    );
}
