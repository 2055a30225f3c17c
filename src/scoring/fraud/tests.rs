//! Each fraud rule at its edges, through `assess` so state updates are exercised too.

use super::*;
use crate::scoring::fixtures::{purchase, T0};
use time::Duration;

fn rules(fraud: &str) -> RuleSet {
    RuleSet::from_toml(&format!(
        r#"version = "fraud-test"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = {{ standard = "1" }}
fx = {{ EUR = "8" }}
{fraud}"#
    ))
    .unwrap()
}

fn spend(id: &str, minutes: i64, amount: &str) -> Transaction {
    Transaction {
        timestamp: T0 + Duration::minutes(minutes),
        ..purchase(id, amount)
    }
}

/// Runs the transactions in order on one card; returns the rule ids each one tripped.
fn tripped(rules: &RuleSet, txns: &[Transaction]) -> Vec<Vec<String>> {
    let mut card = CardState::default();
    txns.iter()
        .map(|txn| {
            let rate = rules.programs["default"].fx[&txn.currency];
            let context = SpendContext {
                txn,
                amount: txn.amount * rate,
                currency: "CNY",
            };
            assess(&context, Some("M-1"), &mut card, rules, Vec::new())
                .iter()
                .flat_map(|alert| alert.reasons.iter().map(|reason| reason.rule.clone()))
                .collect()
        })
        .collect()
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn combined_score_is_noisy_or() {
    assert_eq!(combined_score([0.6].into_iter()), 0.6);
    assert_eq!(combined_score([0.6, 0.5].into_iter()), 0.8);
    assert_eq!(combined_score(std::iter::empty()), 0.0);
}

#[test]
fn velocity_by_amount_counts_the_window_exactly_across_a_boundary() {
    let rules = rules("[[fraud.velocity]]\nid = \"spend_1h\"\nmax_amount = \"1000\"\nwindow_minutes = 60\nscore = 0.5\n");
    // 400 at 10:00, 400 at 10:59, 400 at 11:00 (the first has left the window), 300 at 11:30.
    let txns = [
        spend("a", 0, "400"),
        spend("b", 59, "400"),
        spend("c", 60, "400"),
        spend("d", 90, "300"),
    ];
    assert_eq!(
        tripped(&rules, &txns),
        vec![ids(&[]), ids(&[]), ids(&[]), ids(&["spend_1h"])]
    );
}

#[test]
fn amount_anomaly_waits_for_its_warmup() {
    let rules = rules(
        "[fraud.amount_anomaly]\nid = \"anomaly\"\nwarmup = 5\nz_threshold = 3.0\nscore = 0.5\n",
    );
    let mut txns: Vec<_> = (0..4)
        .map(|i| spend(&format!("s{i}"), i * 60, "100"))
        .collect();
    txns.push(spend("early", 300, "5000"));
    assert!(
        tripped(&rules, &txns).iter().all(Vec::is_empty),
        "4 spends are not a baseline"
    );
    let mut txns: Vec<_> = (0..6)
        .map(|i| spend(&format!("s{i}"), i * 60, "100"))
        .collect();
    txns.push(spend("big", 400, "5000"));
    txns.push(spend("normal", 500, "110"));
    let result = tripped(&rules, &txns);
    assert_eq!(result[6], ids(&["anomaly"]));
    assert!(result[7].is_empty());
}

#[test]
fn impossible_travel_compares_consecutive_in_person_spends() {
    let rules = rules("[fraud.impossible_travel]\nid = \"travel\"\nmax_speed_kmh = 900\nmin_distance_km = 100\nscore = 0.7\n");
    let mut paris = spend("paris", 120, "50");
    paris.merchant.city = Some("Paris".into());
    paris.merchant.lat = Some(48.8566);
    paris.merchant.lon = Some(2.3522);
    let mut paris_online = paris.clone();
    paris_online.txn_id = "online".into();
    paris_online.card_present = false;
    let mut paris_next_day = paris.clone();
    paris_next_day.txn_id = "later".into();
    paris_next_day.timestamp = T0 + Duration::hours(30);
    let result = tripped(
        &rules,
        &[spend("home", 0, "50"), paris_online, paris, paris_next_day],
    );
    assert_eq!(result, vec![ids(&[]), ids(&[]), ids(&["travel"]), ids(&[])]);
}

#[test]
fn merchant_rules_flag_category_newness_border_and_card_not_present() {
    let rules = rules(
        "[fraud.risky_category]\nid = \"risky\"\nmccs = [\"7995\"]\nscore = 0.3\n\
         [fraud.new_merchant]\nid = \"new\"\nwarmup = 2\nscore = 0.1\n\
         [fraud.cross_border]\nid = \"abroad\"\nmin_amount = \"100\"\nscore = 0.2\n\
         [fraud.card_not_present]\nid = \"cnp\"\nmin_amount = \"1000\"\nscore = 0.2\n",
    );
    let mut casino = spend("casino", 20, "50");
    casino.merchant.id = "MER-9".into();
    casino.merchant.mcc = "7995".into();
    let mut abroad = spend("abroad", 30, "20");
    abroad.merchant.country = "FR".into();
    abroad.currency = "EUR".into(); // 20 EUR = 160 CNY, above the 100 CNY threshold
    let mut online = spend("online", 40, "1000");
    online.card_present = false;
    let result = tripped(
        &rules,
        &[
            spend("a", 0, "50"),
            spend("b", 10, "50"),
            casino,
            abroad,
            online,
        ],
    );
    assert_eq!(
        result,
        vec![
            ids(&[]),
            ids(&[]),
            ids(&["risky", "new"]),
            ids(&["abroad"]),
            ids(&["cnp"])
        ]
    );
}

#[test]
fn duplicates_are_caught_either_side_in_event_time() {
    let rules = rules("[fraud.duplicate]\nid = \"dup\"\nwindow_seconds = 120\nscore = 0.4\n");
    let mut late_twin = spend("late", 0, "88.81");
    late_twin.timestamp = T0 + Duration::seconds(290);
    let result = tripped(
        &rules,
        &[
            spend("first", 0, "88.80"),
            spend("twin", 1, "88.80"),
            spend("other", 5, "88.81"),
            late_twin,
        ],
    );
    // 10:01 repeats 10:00. 10:05 differs by a cent. 10:04:50 arrives last but happened 10 s
    // before its twin at 10:05.
    assert_eq!(
        result,
        vec![ids(&[]), ids(&["dup"]), ids(&[]), ids(&["dup"])]
    );
}

#[test]
fn card_testing_needs_enough_small_spends_before_the_large_one() {
    let rules = rules(
        "[fraud.card_testing]\nid = \"testing\"\nsmall_amount = \"5\"\nmin_small = 3\nlarge_amount = \"1000\"\nwindow_minutes = 60\nscore = 0.8\n",
    );
    let probes: Vec<_> = (0..3).map(|i| spend(&format!("p{i}"), i, "1.00")).collect();
    let mut txns = probes.clone();
    txns.push(spend("big", 10, "2500"));
    assert_eq!(tripped(&rules, &txns)[3], ids(&["testing"]));
    let mut too_few = probes[..2].to_vec();
    too_few.push(spend("big", 10, "2500"));
    assert!(tripped(&rules, &too_few)[2].is_empty());
}

#[test]
fn the_shipped_rules_trip_on_a_classic_card_testing_attack() {
    let rules = RuleSet::embedded_default();
    let mut txns: Vec<_> = (0..3).map(|i| spend(&format!("p{i}"), i, "1.00")).collect();
    let mut big = spend("big", 5, "4800");
    big.card_present = false;
    txns.push(big);
    let result = tripped(&rules, &txns);
    assert!(result[3].contains(&"card_testing".to_owned()), "{result:?}");
    assert!(
        result[3].contains(&"card_not_present".to_owned()),
        "{result:?}"
    );
}

#[test]
fn card_state_stays_bounded_under_any_volume() {
    let rules = RuleSet::embedded_default();
    let mut card = CardState::default();
    for i in 0..2_000 {
        let mut txn = spend(&format!("t{i}"), i, "10");
        txn.merchant.id = format!("MER-{i}");
        let context = SpendContext {
            txn: &txn,
            amount: txn.amount,
            currency: "CNY",
        };
        assess(&context, None, &mut card, &rules, Vec::new());
    }
    assert!(card.recent.len() <= rules.fraud.history_limit);
    assert!(card.merchants.len() <= 64);
    assert_eq!(card.spend_count, 2_000);
}

#[test]
fn a_spend_beyond_the_lateness_bound_is_assessed_as_of_now_and_marked_late() {
    let rules = rules(
        "[fraud]\nlateness_minutes = 60\n[[fraud.velocity]]\nid = \"velocity_10m\"\nmax_count = 2\nwindow_minutes = 10\nscore = 0.5\n",
    );
    let mut card = CardState::default();
    let mut run = |txn: Transaction| {
        let context = SpendContext {
            txn: &txn,
            amount: txn.amount,
            currency: "CNY",
        };
        assess(&context, Some("M-1"), &mut card, &rules, Vec::new())
    };
    for (id, minute) in [("T-1", 600), ("T-2", 601)] {
        assert!(run(spend(id, minute, "10")).is_empty());
    }
    // 59 minutes behind the newest spend: within the bound, assessed at its own time, when the
    // card had no other spend in the 10 minutes before it.
    assert!(run(spend("T-3", 542, "10")).is_empty());
    // Two hours behind: beyond the bound, so assessed as of the newest spend, whose 10-minute
    // window already holds two spends.
    let alerts = run(spend("T-4", 480, "10"));
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].late);
    assert_eq!(alerts[0].reasons[0].rule, "velocity_10m");
    assert_eq!(
        alerts[0].occurred_at,
        T0 + Duration::minutes(480),
        "its own event time"
    );
    assert_eq!(card.spend_count, 4, "late spends are still remembered");
}

#[test]
fn a_programme_with_its_own_fraud_rules_uses_them_instead_of_the_files() {
    let rules = RuleSet::from_toml(
        r#"version = "per-programme"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
[programs.partner]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1" }
[programs.partner.fraud.risky_category]
id = "partner_groceries"
mccs = ["5411"]
score = 0.5
[fraud.risky_category]
id = "gambling"
mccs = ["7995"]
score = 0.5
"#,
    )
    .unwrap();
    let assess_in = |program: &str| {
        let txn = Transaction {
            program_id: program.into(),
            ..purchase("T-1", "10")
        };
        let context = SpendContext {
            txn: &txn,
            amount: txn.amount,
            currency: "CNY",
        };
        assess(
            &context,
            Some("M-1"),
            &mut CardState::default(),
            &rules,
            Vec::new(),
        )
    };
    assert!(
        assess_in("default").is_empty(),
        "groceries are not risky by default"
    );
    assert_eq!(assess_in("partner")[0].reasons[0].rule, "partner_groceries");

    let error = RuleSet::from_toml(
        "version = \"x\"\n[programs.p]\nbase_currency = \"CNY\"\npoints_per_unit = \"1\"\ndefault_tier = \"s\"\ntiers = { s = \"1\" }\n[[programs.p.fraud.velocity]]\nid = \"v\"\nwindow_minutes = 10\nscore = 0.5\n",
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("`programs.p.fraud.velocity[0]`"),
        "{error}"
    );
}

#[test]
fn window_edges_compare_instants_whatever_the_offset_they_were_written_in() {
    let rules = rules(
        "[[fraud.velocity]]\nid = \"velocity_10m\"\nmax_count = 1\nwindow_minutes = 10\nscore = 0.5\n",
    );
    let shanghai = time::UtcOffset::from_hms(8, 0, 0).unwrap();
    let first = spend("T-1", 0, "10");
    let nine_minutes_later_in_shanghai = Transaction {
        timestamp: (T0 + Duration::minutes(9)).to_offset(shanghai),
        ..purchase("T-2", "10")
    };
    let tripped = tripped(&rules, &[first, nine_minutes_later_in_shanghai]);
    assert_eq!(tripped[1], ids(&["velocity_10m"]));
}

proptest::proptest! {
    #[test]
    fn card_state_stays_bounded_whatever_the_stream(
        gaps in proptest::collection::vec(0i64..600_000, 1..400),
        amounts in proptest::collection::vec(1u32..100_000, 400),
    ) {
        let rules = rules(
            "[fraud]\nhistory_limit = 32\n[[fraud.velocity]]\nid = \"v\"\nmax_count = 5\nwindow_minutes = 60\nscore = 0.5\n[fraud.new_merchant]\nid = \"n\"\nwarmup = 1\nscore = 0.1\n",
        );
        let mut card = CardState::default();
        let mut at = T0;
        for (index, gap) in gaps.iter().enumerate() {
            at += Duration::milliseconds(*gap * 1000);
            let mut txn = Transaction { timestamp: at, ..purchase(&format!("T-{index}"), "1") };
            txn.amount = Decimal::from(amounts[index]);
            txn.merchant.id = format!("MER-{index}");
            let context = SpendContext { txn: &txn, amount: txn.amount, currency: "CNY" };
            assess(&context, Some("M-1"), &mut card, &rules, Vec::new());
            proptest::prop_assert!(card.recent.len() <= 32);
            proptest::prop_assert!(card.merchants.len() <= 64);
            let span = card.recent.back().unwrap().at_ms - card.recent.front().unwrap().at_ms;
            proptest::prop_assert!(span <= 60 * 60 * 1000);
        }
    }
}
