//! Balances and tiers after SIGKILLs of the real `txscore run`, checked against a model of the
//! points rules written here from docs/points-rules.md, not from the scoring code: base and
//! dining rates, tier multipliers, rounding once per purchase, day and month caps, and tiers
//! qualified on each calendar year's spend (kept through the next year, upgraded by the
//! purchase that crosses a threshold, which still earns at the old tier). Twelve members, two
//! cards each, two and a half years of purchases, each member's in one order.

mod common;

use common::service::{kill_repeatedly_then_finish, Random, ServiceFiles};
use common::{balances, read_to_end, redis, Broker};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use time::macros::datetime;
use time::OffsetDateTime;
use txscore::synth::SyntheticMessage;

const RULES: &str = r#"version = "model-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
rounding = "floor"
default_tier = "standard"
tiers = { standard = "1", silver = "1.5", gold = "2" }
[[programs.default.earning.rates]]
id = "dining"
mccs = ["5811-5814"]
points_per_unit = "2"
[programs.default.earning.caps]
day = 3000
month = 20000
[programs.default.earning.tier_qualification]
basis = "spend"
thresholds = { silver = "30000", gold = "80000" }
"#;

/// Tiers from lowest to highest: name, multiplier, spend that reaches it.
const TIERS: [(&str, &str, i64); 3] = [
    ("standard", "1", 0),
    ("silver", "1.5", 30_000),
    ("gold", "2", 80_000),
];

struct Purchase {
    txn_id: String,
    member: usize,
    card: usize,
    amount: Decimal,
    mcc: &'static str,
    at: OffsetDateTime,
}

impl Purchase {
    fn message(&self) -> SyntheticMessage {
        let at = self
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        SyntheticMessage {
            key: format!("tok-{}-{}", self.member, self.card),
            payload: format!(
                r#"{{"txn_id":"{}","type":"purchase","card_token":"tok-{}-{}","member_id":"M-{}",
                "amount":"{}","currency":"CNY","merchant":{{"id":"MER-1","mcc":"{}","country":"CN"}},
                "timestamp":"{at}"}}"#,
                self.txn_id, self.member, self.card, self.member, self.amount, self.mcc
            )
            .into_bytes(),
        }
    }
}

/// Each member's purchases in time order, one to three a day on random days, one in four at a
/// restaurant. Amounts (with cents) go up to 250, 500, 750 or 1,000 CNY by member, so years
/// end in every tier, and a third of that in 2024, so tiers held through 2024 drop in 2025.
fn purchases(random: &mut Random) -> Vec<Purchase> {
    let mut all = Vec::new();
    for member in 0..12 {
        let mut at = datetime!(2023-01-01 08:00 UTC);
        let mut n = 0;
        while at < datetime!(2025-06-30 00:00 UTC) {
            let most = 250 * (member as u64 % 4 + 1) / if at.year() == 2024 { 3 } else { 1 };
            for _ in 0..=random.below(3) {
                at += time::Duration::minutes(1 + random.below(120) as i64);
                n += 1;
                all.push(Purchase {
                    txn_id: format!("T-{member}-{n}"),
                    member,
                    card: random.below(2) as usize,
                    amount: Decimal::new(100 + random.below(most * 100) as i64, 2),
                    mcc: if random.below(4) == 0 { "5812" } else { "5411" },
                    at,
                });
            }
            at += time::Duration::days(1 + random.below(6) as i64);
        }
    }
    all
}

/// What the rules give each member, computed from the documented rules alone.
#[derive(Default)]
struct Model {
    balance: i64,
    /// Spend per calendar year.
    spend: BTreeMap<i32, Decimal>,
    credited_day: BTreeMap<time::Date, i64>,
    credited_month: BTreeMap<(i32, time::Month), i64>,
    tier: usize,
    /// `<txn>/tier_changed:<tier>` for every change.
    tier_events: BTreeSet<String>,
    /// Purchases a day or a month cap cut.
    capped: [usize; 2],
}

fn reached(spend: Decimal) -> usize {
    TIERS
        .iter()
        .rposition(|(_, _, threshold)| spend >= Decimal::from(*threshold))
        .unwrap_or(0)
}

impl Model {
    fn held(&self, year: i32) -> usize {
        let total = |year| self.spend.get(&year).copied().unwrap_or_default();
        reached(total(year - 1)).max(reached(total(year)))
    }

    fn change_tier(&mut self, tier: usize, txn_id: &str) {
        if tier != self.tier {
            self.tier = tier;
            self.tier_events
                .insert(format!("{txn_id}/tier_changed:{}", TIERS[tier].0));
        }
    }

    fn purchase(&mut self, purchase: &Purchase) {
        let year = purchase.at.year();
        // A year that did not keep the tier lowers it at its first event.
        let held = self.held(year);
        self.change_tier(held, &purchase.txn_id);
        let rate = if purchase.mcc == "5812" { 2 } else { 1 };
        let multiplier = Decimal::from_str(TIERS[self.tier].1).unwrap();
        let earned = (purchase.amount * Decimal::from(rate) * multiplier).floor();
        let earned = i64::try_from(earned).unwrap();
        let day = self.credited_day.entry(purchase.at.date()).or_default();
        let month = self
            .credited_month
            .entry((year, purchase.at.month()))
            .or_default();
        let credited = earned.min(3000 - *day).min(20_000 - *month).max(0);
        if credited < earned {
            self.capped[usize::from(20_000 - *month < 3000 - *day)] += 1;
        }
        *day += credited;
        *month += credited;
        self.balance += credited;
        *self.spend.entry(year).or_default() += purchase.amount;
        let held = self.held(year);
        self.change_tier(held, &purchase.txn_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_service_credits_what_the_documented_rules_give() {
    let mut random = Random::from_env();
    let context = random.context();
    let purchases = purchases(&mut random);
    let mut models: BTreeMap<usize, Model> = BTreeMap::new();
    for purchase in &purchases {
        models
            .entry(purchase.member)
            .or_default()
            .purchase(purchase);
    }
    let messages: Vec<SyntheticMessage> = purchases.iter().map(Purchase::message).collect();

    let broker = Broker::start("points-model", 4).await;
    let server = redis();
    let files = ServiceFiles::write("points-model", &broker, RULES, "");
    broker.feed(&messages).await;
    kill_repeatedly_then_finish(
        &files,
        &broker,
        &server.url(),
        &[],
        4,
        &mut random,
        &context,
    );

    let store = common::redis_store(&server).await;
    let accounts: Vec<String> = models
        .keys()
        .map(|member| format!("txscore:{{m:M-{member}}}:account:default"))
        .collect();
    let held = balances(&store, &accounts).await;
    for (member, model) in &models {
        let account = format!("txscore:{{m:M-{member}}}:account:default");
        assert_eq!(
            held.get(&account).map(|(balance, _)| *balance),
            Some(model.balance),
            "{context}: M-{member}'s balance"
        );
    }

    // The ledger, read to its end: one points_earned event per purchase, one tier_changed per
    // change, nothing else; copies identical; the credited points add up to the model's.
    let mut events: BTreeMap<String, String> = BTreeMap::new();
    for (_, payload) in read_to_end(&broker.brokers, &broker.topics.ledger, false) {
        let event: serde_json::Value = serde_json::from_str(&payload).unwrap();
        let id = event["event_id"].as_str().unwrap().to_owned();
        if let Some(earlier) = events.insert(id.clone(), payload.clone()) {
            assert_eq!(earlier, payload, "{context}: copies of {id} differ");
        }
    }
    let expected: BTreeSet<String> = purchases
        .iter()
        .map(|purchase| format!("{}/points_earned", purchase.txn_id))
        .chain(models.values().flat_map(|model| model.tier_events.clone()))
        .collect();
    let published: BTreeSet<String> = events.keys().cloned().collect();
    assert_eq!(
        published.difference(&expected).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "{context}: events the rules do not give"
    );
    assert_eq!(
        expected.difference(&published).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "{context}: events missing"
    );
    for (member, model) in &models {
        let credited: i64 = events
            .values()
            .map(|payload| serde_json::from_str::<serde_json::Value>(payload).unwrap())
            .filter(|event| event["member_id"] == format!("M-{member}").as_str())
            .map(|event| event["points"].as_i64().unwrap())
            .sum();
        assert_eq!(credited, model.balance, "{context}: M-{member}'s ledger");
    }
    assert!(
        models.values().any(|model| model.tier_events.len() >= 3),
        "the stream reaches tiers and loses them"
    );
    for (period, index) in [("day", 0), ("month", 1)] {
        assert!(
            models.values().any(|model| model.capped[index] > 0),
            "the stream reaches the {period} cap"
        );
    }
}
