//! The programme's rule book, one row per rule: what a spend earns and which lines explain it.

use super::*;
use crate::domain::counters::Counters;
use crate::rules::RuleSet;
use crate::scoring::fixtures::purchase;
use crate::scoring::BudgetRoom;
use time::macros::datetime;

/// A programme using every earning rule. 2026-11-22 is a Sunday, 2026-11-23 a Monday.
const RULE_BOOK: &str = r#"version = "book-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1", silver = "1.25", gold = "1.5" }
[programs.default.earning]
minimum_spend = "5"
funded_by = "issuer"
[[programs.default.earning.rates]]
id = "partner_mart"
merchants = ["MER-77"]
points_per_unit = "5"
funded_by = "merchant:MER-77"
[[programs.default.earning.rates]]
id = "dining"
mccs = ["5811-5814"]
points_per_unit = "3"
period_cap = 900
[[programs.default.earning.rates]]
id = "contactless"
channels = ["contactless"]
points_per_unit = "2"
[[programs.default.earning.rates]]
id = "platinum_card"
products = ["platinum"]
points_per_unit = "1.5"
[[programs.default.earning.exclusions]]
id = "cash_advance"
mccs = ["6010-6011"]
[[programs.default.earning.campaigns]]
id = "double_weekend"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
days = ["sat", "sun"]
multiplier = "2"
[[programs.default.earning.campaigns]]
id = "gold_grocery"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
tiers = ["gold"]
mccs = ["5411"]
bonus = 50
[[programs.default.earning.campaigns]]
id = "welcome"
start = "2026-01-01T00:00:00Z"
end = "2027-01-01T00:00:00Z"
first_purchase_bonus = 200
[[programs.default.earning.campaigns]]
id = "spend_1000"
start = "2026-01-01T00:00:00Z"
end = "2027-01-01T00:00:00Z"
threshold_spend = "1000"
bonus = 300
[[programs.default.earning.campaigns]]
id = "mart_promo"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
merchants = ["MER-77"]
multiplier = "3"
per_member_cap = 100
funded_by = "merchant:MER-77"
[[programs.default.earning.campaigns]]
id = "fuel_monthly"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
mccs = ["5541"]
bonus = 80
period_cap = 100
period_cap_period = "month"
[programs.default.earning.caps]
day = 2000
"#;

/// A spend at a general retailer (MCC 5999) on Monday 2026-11-23 by a standard member who has
/// bought before.
struct Case {
    rule: &'static str,
    amount: &'static str,
    change: fn(&mut Transaction, &mut MemberState),
    points: i64,
    lines: &'static [&'static str],
}

fn no_change(_: &mut Transaction, _: &mut MemberState) {}

const CASES: &[Case] = &[
    Case { rule: "1 point per CNY, rounded down per transaction", amount: "100.50", change: no_change, points: 100, lines: &["base_rate", "rounding"] },
    Case { rule: "spend under the 5 CNY minimum earns nothing", amount: "4.99", change: no_change, points: 0, lines: &["minimum_spend"] },
    Case { rule: "cash advances (MCC 6010-6011) earn nothing", amount: "500", change: |t, _| t.merchant.mcc = "6011".into(), points: 0, lines: &["exclusion"] },
    Case { rule: "dining (MCC 5811-5814) earns 3 per CNY", amount: "100", change: |t, _| t.merchant.mcc = "5812".into(), points: 300, lines: &["rate:dining"] },
    Case { rule: "dining gives at most 900 points a month; the rest of the spend earns the base rate", amount: "100", change: |t, m| { t.merchant.mcc = "5812".into(); m.counters.periods.insert("rate:dining@2026-11".into(), 750); }, points: 150 + 50, lines: &["rate:dining", "base_rate"] },
    Case { rule: "the first matching rate wins: the partner merchant's 5 beats dining's 3, and its promotion stops at its per-member cap", amount: "100", change: |t, _| { t.merchant.id = "MER-77".into(); t.merchant.mcc = "5812".into(); }, points: 600, lines: &["rate:partner_mart", "campaign:mart_promo"] },
    Case { rule: "a promotion whose per-member cap is used up gives nothing more", amount: "100", change: |t, m| { t.merchant.id = "MER-77".into(); m.counters.campaigns.insert("mart_promo".into(), 100); }, points: 500, lines: &["rate:partner_mart"] },
    Case { rule: "contactless earns 2 per CNY", amount: "100", change: |t, _| t.channel = "contactless".into(), points: 200, lines: &["rate:contactless"] },
    Case { rule: "platinum cards earn 1.5 per CNY", amount: "100", change: |t, _| t.card_product = Some("platinum".into()), points: 150, lines: &["rate:platinum_card"] },
    Case { rule: "gold members earn x1.5", amount: "100", change: |_, m| m.tier = "gold".into(), points: 150, lines: &["base_rate", "tier_multiplier"] },
    Case { rule: "gold members get 50 extra at grocers", amount: "100", change: |t, m| { m.tier = "gold".into(); t.merchant.mcc = "5411".into(); }, points: 200, lines: &["base_rate", "tier_multiplier", "campaign:gold_grocery"] },
    Case { rule: "weekends earn double", amount: "100", change: |t, _| t.timestamp = datetime!(2026-11-22 10:00 UTC), points: 200, lines: &["base_rate", "campaign:double_weekend"] },
    Case { rule: "a member's first purchase earns a 200 welcome bonus", amount: "100", change: |_, m| m.txn_count = 0, points: 300, lines: &["base_rate", "campaign:welcome"] },
    Case { rule: "the purchase that takes the month's spend to 1,000 earns 300", amount: "100", change: |_, m| { m.counters.threshold_spend.insert("spend_1000@2026-11".into(), "950".parse().unwrap()); }, points: 400, lines: &["base_rate", "campaign:spend_1000"] },
    Case { rule: "the threshold bonus is paid once a month", amount: "100", change: |_, m| { m.counters.threshold_spend.insert("spend_1000@2026-11".into(), "950".parse().unwrap()); m.counters.thresholds_reached.insert("spend_1000@2026-11".into()); }, points: 100, lines: &["base_rate"] },
    Case { rule: "fuel (MCC 5541) earns an 80-point bonus", amount: "100", change: |t, _| t.merchant.mcc = "5541".into(), points: 180, lines: &["base_rate", "campaign:fuel_monthly"] },
    Case { rule: "the fuel bonus stops at 100 points a month", amount: "100", change: |t, m| { t.merchant.mcc = "5541".into(); m.counters.periods.insert("campaign:fuel_monthly@2026-11".into(), 50); }, points: 150, lines: &["base_rate", "campaign:fuel_monthly"] },
    Case { rule: "points above the 2,000 daily cap are not credited", amount: "500", change: |_, m| { m.counters.periods.insert("day:2026-11-23".into(), 1900); }, points: 100, lines: &["base_rate", "cap_day"] },
];

#[test]
fn the_rule_book() {
    let rules = RuleSet::from_toml(RULE_BOOK).unwrap();
    let program = &rules.programs["default"];
    for case in CASES {
        let mut txn = Transaction {
            timestamp: datetime!(2026-11-23 10:00 UTC),
            merchant: crate::domain::Merchant {
                mcc: "5999".into(),
                ..purchase("T-1", "1").merchant
            },
            ..purchase("T-1", case.amount)
        };
        let mut member = MemberState {
            txn_count: 1,
            ..MemberState::new("standard")
        };
        (case.change)(&mut txn, &mut member);
        let earned = earn(&txn, txn.amount, program, &member, &BudgetRoom::Unreserved).unwrap();
        let lines: Vec<&str> = earned.breakdown.iter().map(|l| l.rule.as_str()).collect();
        assert_eq!(
            earned.points, case.points,
            "{}: {:#?}",
            case.rule, earned.breakdown
        );
        assert_eq!(lines, case.lines, "{}", case.rule);
        let sum: Decimal = earned.breakdown.iter().map(|l| l.points).sum();
        assert_eq!(
            sum,
            Decimal::from(earned.points),
            "{}: lines add up",
            case.rule
        );
    }
}

#[test]
fn each_line_names_who_funds_it() {
    let rules = RuleSet::from_toml(RULE_BOOK).unwrap();
    let txn = Transaction {
        merchant: crate::domain::Merchant {
            id: "MER-77".into(),
            ..purchase("T-1", "1").merchant
        },
        ..purchase("T-1", "10")
    };
    let earned = earn(
        &txn,
        txn.amount,
        &rules.programs["default"],
        &MemberState::new("standard"),
        &BudgetRoom::Unreserved,
    )
    .unwrap();
    let funders: Vec<(&str, Option<&str>)> = earned
        .breakdown
        .iter()
        .map(|l| (l.rule.as_str(), l.funded_by.as_deref()))
        .collect();
    assert_eq!(
        funders,
        [
            ("rate:partner_mart", Some("merchant:MER-77")),
            ("campaign:double_weekend", Some("issuer")),
            ("campaign:mart_promo", Some("merchant:MER-77")),
            ("campaign:welcome", Some("issuer")),
        ]
    );
}

fn stacking_programme(stacking: &str) -> RuleSet {
    RuleSet::from_toml(&format!(
        r#"version = "stack"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = {{ standard = "1" }}
[programs.default.earning]
{stacking}
[[programs.default.earning.campaigns]]
id = "double"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
multiplier = "2"
[[programs.default.earning.campaigns]]
id = "triple"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
multiplier = "3"
"#
    ))
    .unwrap()
}

#[test]
fn campaigns_stack_as_the_programme_declares() {
    let txn = purchase("T-1", "100");
    let member = MemberState::new("standard");
    let points = |stacking: &str| {
        let rules = stacking_programme(stacking);
        earn(
            &txn,
            txn.amount,
            &rules.programs["default"],
            &member,
            &BudgetRoom::Unreserved,
        )
        .unwrap()
        .points
    };
    assert_eq!(points(""), 100 + 100 + 200, "add: every extra counts");
    assert_eq!(
        points("campaign_stacking = \"highest\""),
        300,
        "highest: only x3"
    );
    assert_eq!(
        points("campaign_stacking = \"capped\"\nmax_multiplier = \"2.5\""),
        250,
        "capped: never more than x2.5 in all"
    );
}

#[test]
fn earning_rules_are_checked_with_the_field_named() {
    let bad = [
        ("mccs = [\"58\"]", "programs.default.earning.rates[0].mccs"),
        (
            "points_per_unit = \"-1\"",
            "programs.default.earning.rates[0].points_per_unit",
        ),
    ];
    for (change, field) in bad {
        let text = RULE_BOOK.replacen(
            "merchants = [\"MER-77\"]\npoints_per_unit = \"5\"",
            change,
            1,
        );
        let text = if change.starts_with("mccs") {
            text.replacen(
                "id = \"partner_mart\"",
                "id = \"partner_mart\"\npoints_per_unit = \"5\"",
                1,
            )
        } else {
            text
        };
        let error = RuleSet::from_toml(&text).unwrap_err().to_string();
        assert!(error.contains(&format!("`{field}`")), "{change}: {error}");
    }
    let two_rewards = RULE_BOOK.replace("bonus = 50", "bonus = 50\nmultiplier = \"2\"");
    let error = RuleSet::from_toml(&two_rewards).unwrap_err().to_string();
    assert!(
        error.contains("programs.default.earning.campaigns[1]"),
        "{error}"
    );
    let unknown_tier = RULE_BOOK.replace("tiers = [\"gold\"]", "tiers = [\"diamond\"]");
    let error = RuleSet::from_toml(&unknown_tier).unwrap_err().to_string();
    assert!(error.contains("`diamond`"), "{error}");
}

#[test]
fn counters_keep_every_period_a_late_event_can_still_need() {
    let mut counters = Counters::default();
    for key in [
        "day:2026-08-23",
        "day:2026-08-24",
        "day:2026-11-23",
        "month:2026-07",
        "month:2026-08",
        "year:2025",
        "year:2026",
    ] {
        counters.periods.insert(key.into(), 5);
    }
    counters
        .threshold_spend
        .insert("spend_1000@2026-07".into(), Decimal::ONE);
    counters
        .threshold_spend
        .insert("spend_1000@2026-12".into(), Decimal::ONE);
    counters
        .thresholds_reached
        .insert("spend_1000@2025-12".into());
    counters.qualifying.insert(2024, Decimal::ONE);
    counters.qualifying.insert(2025, Decimal::ONE);
    // The latest event on 2026-11-23 10:00 less 92 days: 2026-08-23 10:00.
    counters.prune(datetime!(2026-08-23 10:00 UTC), 2025);
    assert_eq!(
        counters.periods.keys().collect::<Vec<_>>(),
        [
            "day:2026-08-23",
            "day:2026-08-24",
            "day:2026-11-23",
            "month:2026-08",
            "year:2026"
        ],
        "a period is kept while an event inside the lateness can fall in it"
    );
    assert_eq!(
        counters.threshold_spend.keys().collect::<Vec<_>>(),
        ["spend_1000@2026-12"]
    );
    assert!(counters.thresholds_reached.is_empty());
    assert_eq!(counters.qualifying.keys().collect::<Vec<_>>(), [&2025]);
}

#[test]
fn a_capped_rate_counts_what_it_gave_toward_its_cap() {
    let rules = RuleSet::from_toml(RULE_BOOK).unwrap();
    let program = &rules.programs["default"];
    let dinner = Transaction {
        timestamp: datetime!(2026-11-23 10:00 UTC),
        merchant: crate::domain::Merchant {
            mcc: "5812".into(),
            ..purchase("T-1", "1").merchant
        },
        ..purchase("T-1", "100")
    };
    let mut member = MemberState {
        txn_count: 1,
        ..MemberState::new("standard")
    };
    let counted = |member: &MemberState| {
        let earned = earn(
            &dinner,
            dinner.amount,
            program,
            member,
            &BudgetRoom::Unreserved,
        );
        earned.unwrap().counted.periods["rate:dining@2026-11"]
    };
    assert_eq!(counted(&member), 300);
    member
        .counters
        .periods
        .insert("rate:dining@2026-11".into(), 750);
    assert_eq!(
        counted(&member),
        150,
        "only what the rate gave, up to its cap"
    );

    let error = RuleSet::from_toml(&RULE_BOOK.replace(
        "period_cap = 900",
        "period_cap = 900\nperiod_cap_period = \"week\"",
    ))
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("programs.default.earning.rates[1].period_cap_period"),
        "{error}"
    );
}
