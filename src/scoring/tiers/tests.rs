//! Tier qualification through `score`: upgrades as a threshold is crossed, downgrades at the
//! start of a year, refunds that undo an upgrade, and the counters refunds roll back.

use crate::domain::{LedgerEventType, MemberState, Transaction, TxnKind};
use crate::rules::RuleSet;
use crate::scoring::fixtures::purchase;
use crate::scoring::{score, Accounts, Decision};
use time::macros::datetime;
use time::OffsetDateTime;

const PROGRAMME: &str = r#"version = "tiers-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
default_tier = "standard"
tiers = { standard = "1", silver = "1.25", gold = "1.5" }
[programs.default.earning.tier_qualification]
basis = "spend"
thresholds = { silver = "1000", gold = "5000" }
[[programs.default.earning.campaigns]]
id = "mart_promo"
start = "2026-01-01T00:00:00Z"
end = "2028-01-01T00:00:00Z"
merchants = ["MER-77"]
bonus = 100
per_member_cap = 100
[programs.default.earning.caps]
day = 5000
"#;

fn at(id: &str, amount: &str, when: OffsetDateTime) -> Transaction {
    Transaction {
        timestamp: when,
        ..purchase(id, amount)
    }
}

fn run(member: Option<MemberState>, txn: &Transaction, original: Option<&Decision>) -> Decision {
    run_with(
        &RuleSet::from_toml(PROGRAMME).unwrap(),
        member,
        txn,
        original,
    )
}

/// Scores `txn` for M-1 under `rules`, with `member` as its account and `original`'s earning.
fn run_with(
    rules: &RuleSet,
    member: Option<MemberState>,
    txn: &Transaction,
    original: Option<&Decision>,
) -> Decision {
    let accounts = Accounts {
        member,
        original: original.and_then(|decision| decision.records.earning.clone()),
        ..Accounts::default()
    };
    score(txn, Some("M-1"), accounts, rules).unwrap()
}

fn types(decision: &Decision) -> Vec<(String, LedgerEventType)> {
    decision
        .ledger
        .iter()
        .map(|event| (event.event_id.clone(), event.event_type))
        .collect()
}

#[test]
fn crossing_a_threshold_upgrades_after_the_purchase_that_crossed_it() {
    let first = run(
        None,
        &at("T-1", "800", datetime!(2026-03-01 10:00 UTC)),
        None,
    );
    assert_eq!(first.member.as_ref().unwrap().tier, "standard");
    let second = run(
        first.member,
        &at("T-2", "300", datetime!(2026-03-02 10:00 UTC)),
        None,
    );
    assert_eq!(
        types(&second),
        [
            (
                "T-2/points_earned".to_owned(),
                LedgerEventType::PointsEarned
            ),
            (
                "T-2/tier_changed:silver".to_owned(),
                LedgerEventType::TierChanged
            ),
        ]
    );
    assert_eq!(
        second.ledger[0].points, 300,
        "the crossing purchase earns at the old tier"
    );
    let change = &second.ledger[1];
    assert_eq!(change.tier, "silver");
    assert!(
        change.breakdown[0]
            .detail
            .contains("qualifying 1100 CNY in 2026"),
        "{}",
        change.breakdown[0].detail
    );
    let third = run(
        second.member,
        &at("T-3", "100", datetime!(2026-03-03 10:00 UTC)),
        None,
    );
    assert_eq!(
        third.ledger[0].points, 125,
        "silver earns x1.25 from then on"
    );
}

#[test]
fn a_tier_is_kept_through_the_next_year_and_lost_at_the_start_of_the_one_after() {
    let gold = run(
        None,
        &at("T-1", "6000", datetime!(2026-06-01 10:00 UTC)),
        None,
    );
    let member = gold.member.unwrap();
    assert_eq!(member.tier, "gold");
    let next_year = run(
        Some(member),
        &at("T-2", "10", datetime!(2027-02-01 10:00 UTC)),
        None,
    );
    assert!(types(&next_year)
        .iter()
        .all(|(_, kind)| *kind != LedgerEventType::TierChanged));
    assert_eq!(next_year.ledger[0].points, 15, "still gold in 2027");
    let year_after = run(
        next_year.member,
        &at("T-3", "10", datetime!(2028-01-05 10:00 UTC)),
        None,
    );
    assert_eq!(
        types(&year_after)[0],
        (
            "T-3/tier_changed:standard".to_owned(),
            LedgerEventType::TierChanged
        ),
        "2027 qualified for nothing, so 2028 starts at standard"
    );
    assert_eq!(year_after.ledger[1].points, 10, "and earns at the new tier");
}

#[test]
fn a_refund_undoes_the_upgrade_and_rolls_back_caps_and_campaign_use() {
    let sale = Transaction {
        merchant: crate::domain::Merchant {
            id: "MER-77".into(),
            ..purchase("x", "1").merchant
        },
        ..at("T-1", "1200", datetime!(2026-03-01 10:00 UTC))
    };
    let bought = run(None, &sale, None);
    let member = bought.member.clone().unwrap();
    assert_eq!(member.tier, "silver");
    assert_eq!(member.counters.campaigns["mart_promo"], 100);
    assert_eq!(member.counters.periods["day:2026-03-01"], 1300);

    let refund = Transaction {
        kind: TxnKind::Refund,
        original_txn_id: Some("T-1".into()),
        ..at("R-1", "1200", datetime!(2026-03-01 18:00 UTC))
    };
    let refunded = run(Some(member), &refund, Some(&bought));
    let member = refunded.member.as_ref().unwrap();
    assert_eq!(member.balance, 0, "the bonus is taken back with the rest");
    assert_eq!(member.tier, "standard");
    assert_eq!(
        member.counters.campaigns["mart_promo"], 0,
        "the promotion can be earned again"
    );
    assert_eq!(member.counters.periods["day:2026-03-01"], 0);
    assert_eq!(
        types(&refunded),
        [
            (
                "R-1/points_reversed".to_owned(),
                LedgerEventType::PointsReversed
            ),
            (
                "R-1/tier_changed:standard".to_owned(),
                LedgerEventType::TierChanged
            ),
        ]
    );
}

#[test]
fn over_rolling_months_the_tier_follows_the_window_total() {
    let rules = RuleSet::from_toml(
        &PROGRAMME.replace("basis = \"spend\"", "basis = \"spend\"\nrolling_months = 3"),
    )
    .unwrap();
    let next = |member: Option<MemberState>, id: &str, amount: &str, when| {
        run_with(&rules, member, &at(id, amount, when), None)
    };
    let december = next(None, "T-1", "600", datetime!(2025-12-10 10:00 UTC));
    let january = next(
        december.member,
        "T-2",
        "500",
        datetime!(2026-01-20 10:00 UTC),
    );
    let change = &january.ledger[1];
    assert_eq!(
        change.event_id, "T-2/tier_changed:silver",
        "no year boundary resets it"
    );
    assert!(
        change.breakdown[0]
            .detail
            .contains("qualifying 1100 CNY in the 3 months to 2026-01 (thresholds"),
        "{}",
        change.breakdown[0].detail
    );
    let february = next(january.member, "T-3", "10", datetime!(2026-02-28 10:00 UTC));
    assert_eq!(
        february.member.as_ref().unwrap().tier,
        "silver",
        "December still counts"
    );

    let march = next(
        february.member,
        "T-4",
        "10",
        datetime!(2026-03-01 10:00 UTC),
    );
    assert_eq!(
        types(&march),
        [
            (
                "T-4/tier_changed:standard".to_owned(),
                LedgerEventType::TierChanged
            ),
            (
                "T-4/points_earned".to_owned(),
                LedgerEventType::PointsEarned
            ),
        ],
        "December left the window (510 CNY is below silver) before T-4 earns"
    );
    let member = march.member.unwrap();
    assert_eq!(
        member.counters.qualifying.len(),
        4,
        "the window's months are kept, and December, which a sale dated inside the lateness \
         (92 days) can still count toward"
    );
    let error = RuleSet::from_toml(
        &PROGRAMME.replace("basis = \"spend\"", "basis = \"spend\"\nrolling_months = 0"),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("tier_qualification.rolling_months"),
        "{error}"
    );
}

/// The programme qualifying on spend and points with `basis`: silver at 1,000 CNY or 300
/// points, gold at 5,000 CNY or 2,000 points.
fn on_spend_and_points(basis: &str) -> RuleSet {
    RuleSet::from_toml(&PROGRAMME.replace(
        "basis = \"spend\"",
        &format!(
            "basis = \"{basis}\"\npoints_thresholds = {{ silver = \"300\", gold = \"2000\" }}"
        ),
    ))
    .unwrap()
}

#[test]
fn spend_or_points_upgrades_on_whichever_total_reaches_a_threshold() {
    let rules = on_spend_and_points("spend_or_points");
    let promotion = Transaction {
        merchant: crate::domain::Merchant {
            id: "MER-77".into(),
            ..purchase("T-1", "1").merchant
        },
        ..at("T-1", "200", datetime!(2026-03-01 10:00 UTC))
    };
    let decision = run_with(&rules, None, &promotion, None);
    let change = &decision.ledger[1];
    assert_eq!(
        change.event_id, "T-1/tier_changed:silver",
        "300 points, 200 CNY"
    );
    assert!(
        change.breakdown[0]
            .detail
            .contains("qualifying 200 CNY and 300 points in 2026"),
        "{}",
        change.breakdown[0].detail
    );
}

#[test]
fn spend_and_points_needs_both_and_a_refund_of_either_undoes_it() {
    let rules = on_spend_and_points("spend_and_points");
    let next = |member: Option<MemberState>, txn: &Transaction, original: Option<&Decision>| {
        run_with(&rules, member, txn, original)
    };
    let first = next(
        None,
        &at("T-1", "900", datetime!(2026-03-01 10:00 UTC)),
        None,
    );
    assert_eq!(
        first.member.as_ref().unwrap().tier,
        "standard",
        "points, not spend"
    );
    let second = next(
        first.member,
        &at("T-2", "100", datetime!(2026-03-02 10:00 UTC)),
        None,
    );
    assert_eq!(second.member.as_ref().unwrap().tier, "silver");
    let refund = Transaction {
        kind: TxnKind::Refund,
        original_txn_id: Some("T-2".into()),
        ..at("R-2", "100", datetime!(2026-03-03 10:00 UTC))
    };
    let refunded = next(second.member.clone(), &refund, Some(&second));
    assert_eq!(refunded.member.as_ref().unwrap().tier, "standard");
    let error =
        RuleSet::from_toml(&PROGRAMME.replace("basis = \"spend\"", "basis = \"spend_or_points\""))
            .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("tier_qualification.points_thresholds"),
        "{error}"
    );
}
