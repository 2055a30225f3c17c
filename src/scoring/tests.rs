//! The scoring core, transaction kind by kind, plus the invariants as properties.

use super::fixtures::purchase;
use super::*;
use crate::domain::alert::Mode;
use crate::domain::{LedgerEventType, TxnKind};
use proptest::prelude::*;
use rust_decimal::Decimal;
use time::OffsetDateTime;

fn rules() -> RuleSet {
    RuleSet::from_toml(
        r#"version = "test-1"
[programs.default]
base_currency = "CNY"
points_per_unit = "1"
rounding = "floor"
default_tier = "standard"
tiers = { standard = "1", gold = "1.5" }
fx = { USD = "7.10" }
[fraud]
[[fraud.velocity]]
id = "velocity_10m"
max_count = 3
window_minutes = 10
score = 0.6
[[fraud.velocity]]
id = "velocity_trial"
max_count = 2
window_minutes = 10
score = 0.3
mode = "shadow"
"#,
    )
    .unwrap()
}

fn txn(id: &str, kind: TxnKind, amount: &str, original: Option<&str>) -> Transaction {
    Transaction {
        kind,
        original_txn_id: original.map(str::to_owned),
        ..purchase(id, amount)
    }
}

fn member(balance: i64, tier: &str) -> MemberState {
    MemberState {
        balance,
        ..MemberState::new(tier)
    }
}

fn sum_of_lines(event: &LedgerEvent) -> Decimal {
    event.breakdown.iter().map(|line| line.points).sum()
}

#[test]
fn purchase_earns_base_times_tier_rounded_down_with_a_receipt() {
    let accounts = Accounts {
        member: Some(member(0, "gold")),
        ..Accounts::default()
    };
    let decision = score(
        &txn("T-1", TxnKind::Purchase, "256.80", None),
        Some("M-1"),
        accounts,
        &rules(),
    )
    .unwrap();
    let event = &decision.ledger[0];
    assert_eq!(event.event_type, LedgerEventType::PointsEarned);
    assert_eq!(event.points, 385); // 256.80 x 1.5 = 385.2, floor
    assert_eq!(event.balance_after, 385);
    assert_eq!(event.event_id, "T-1/points_earned");
    let rules: Vec<&str> = event
        .breakdown
        .iter()
        .map(|line| line.rule.as_str())
        .collect();
    assert_eq!(rules, ["base_rate", "tier_multiplier", "rounding"]);
    assert_eq!(sum_of_lines(event), Decimal::from(385));
    assert_eq!(decision.records.earning.unwrap().points, 385);
}

#[test]
fn foreign_currency_is_converted_by_the_rate_table() {
    let mut purchase = txn("T-1", TxnKind::Purchase, "10.00", None);
    purchase.currency = "USD".into();
    let decision = score(&purchase, Some("M-1"), Accounts::default(), &rules()).unwrap();
    assert_eq!(decision.ledger[0].points, 71);
    assert!(decision.ledger[0].breakdown[0]
        .detail
        .contains("7.10 CNY/USD"));
}

#[test]
fn unknown_programme_and_currency_are_rejected() {
    let mut purchase = txn("T-1", TxnKind::Purchase, "10.00", None);
    purchase.currency = "XTS".into();
    assert_eq!(
        score(&purchase, Some("M-1"), Accounts::default(), &rules())
            .unwrap_err()
            .kind(),
        "unknown_currency"
    );
    purchase.program_id = "other".into();
    assert_eq!(
        score(&purchase, Some("M-1"), Accounts::default(), &rules())
            .unwrap_err()
            .kind(),
        "unknown_program"
    );
}

#[test]
fn authorization_holds_points_and_clearing_posts_the_final_amount() {
    let rules = rules();
    let auth = score(
        &txn("A-1", TxnKind::Authorization, "100.00", None),
        Some("M-1"),
        Accounts::default(),
        &rules,
    )
    .unwrap();
    assert_eq!(auth.ledger[0].event_type, LedgerEventType::PointsPending);
    assert_eq!(
        (auth.ledger[0].points, auth.ledger[0].pending_after),
        (0, 100)
    );

    let accounts = Accounts {
        member: auth.member.clone(),
        original: auth.records.earning.clone(),
        ..Accounts::default()
    };
    let clearing = score(
        &txn("C-1", TxnKind::Clearing, "120.00", Some("A-1")),
        Some("M-1"),
        accounts,
        &rules,
    )
    .unwrap();
    let event = &clearing.ledger[0];
    assert_eq!((event.points, event.pending_points), (120, -100));
    assert_eq!((event.balance_after, event.pending_after), (120, 0));
    assert_eq!(sum_of_lines(event), Decimal::from(20));
    assert!(!clearing.records.original_earning.unwrap().held);
}

#[test]
fn a_second_clearing_of_one_authorization_earns_its_own_amount() {
    let rules = rules();
    let auth = score(
        &txn("A-1", TxnKind::Authorization, "200.00", None),
        Some("M-1"),
        Accounts::default(),
        &rules,
    )
    .unwrap();
    let first = score(
        &txn("C-1", TxnKind::Clearing, "120.00", Some("A-1")),
        Some("M-1"),
        Accounts {
            member: auth.member.clone(),
            original: auth.records.earning.clone(),
            ..Accounts::default()
        },
        &rules,
    )
    .unwrap();
    let second = score(
        &txn("C-2", TxnKind::Clearing, "80.00", Some("A-1")),
        Some("M-1"),
        Accounts {
            member: first.member.clone(),
            original: first.records.original_earning.clone(),
            ..Accounts::default()
        },
        &rules,
    )
    .unwrap();
    let event = &second.ledger[0];
    assert_eq!((event.points, event.pending_points), (80, 0));
    assert_eq!((event.balance_after, event.pending_after), (200, 0));
    assert_eq!(sum_of_lines(event), Decimal::from(80));
    assert!(event
        .breakdown
        .iter()
        .any(|line| line.rule == "authorization_cleared" && line.detail.contains("already")));
    assert_eq!(
        second.records.original_earning, None,
        "the authorization's record is left as it is"
    );
}

#[test]
fn clearing_needs_an_authorization() {
    let error = score(
        &txn("C-1", TxnKind::Clearing, "1.00", Some("A-0")),
        Some("M-1"),
        Accounts::default(),
        &rules(),
    )
    .unwrap_err();
    assert_eq!(error, Rejection::UnknownOriginal("A-0".into()));
    let purchase = score(
        &txn("P-1", TxnKind::Purchase, "5.00", None),
        Some("M-1"),
        Accounts::default(),
        &rules(),
    )
    .unwrap();
    let accounts = Accounts {
        original: purchase.records.earning,
        ..Accounts::default()
    };
    let error = score(
        &txn("C-1", TxnKind::Clearing, "1.00", Some("P-1")),
        Some("M-1"),
        accounts,
        &rules(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), "original_mismatch");
}

#[test]
fn partial_refunds_add_up_to_exactly_what_was_earned() {
    let rules = rules();
    let purchase = score(
        &txn("P-1", TxnKind::Purchase, "256.80", None),
        Some("M-1"),
        Accounts::default(),
        &rules,
    )
    .unwrap();
    let mut member_state = purchase.member;
    let mut original = purchase.records.earning;
    let mut taken = 0;
    for (id, amount) in [
        ("R-1", "100.00"),
        ("R-2", "100.00"),
        ("R-3", "56.80"),
        ("R-4", "10.00"),
    ] {
        let accounts = Accounts {
            member: member_state.clone(),
            original: original.clone(),
            ..Accounts::default()
        };
        let refund = score(
            &txn(id, TxnKind::Refund, amount, Some("P-1")),
            Some("M-1"),
            accounts,
            &rules,
        )
        .unwrap();
        taken -= refund.ledger[0].points;
        member_state = refund.member;
        original = refund.records.original_earning;
    }
    assert_eq!(taken, 256);
    assert_eq!(member_state.unwrap().balance, 0);
}

#[test]
fn reversal_after_redemption_records_a_shortfall_not_a_negative_balance() {
    let rules = rules();
    let purchase = score(
        &txn("P-1", TxnKind::Purchase, "100.00", None),
        Some("M-1"),
        Accounts::default(),
        &rules,
    )
    .unwrap();
    let spent = Some(member(30, "standard"));
    let accounts = Accounts {
        member: spent,
        original: purchase.records.earning,
        ..Accounts::default()
    };
    let chargeback = score(
        &txn("CB-1", TxnKind::Chargeback, "100.00", Some("P-1")),
        Some("M-1"),
        accounts,
        &rules,
    )
    .unwrap();
    let event = &chargeback.ledger[0];
    assert_eq!((event.points, event.balance_after), (-30, 0));
    assert_eq!(chargeback.member.unwrap().shortfall, 70);
    assert_eq!(sum_of_lines(event), Decimal::from(-30));
}

#[test]
fn reversing_an_authorization_cancels_its_pending_points() {
    let rules = rules();
    let auth = score(
        &txn("A-1", TxnKind::Authorization, "80.00", None),
        Some("M-1"),
        Accounts::default(),
        &rules,
    )
    .unwrap();
    let accounts = Accounts {
        member: auth.member,
        original: auth.records.earning,
        ..Accounts::default()
    };
    let reversal = score(
        &txn("V-1", TxnKind::Reversal, "80.00", Some("A-1")),
        Some("M-1"),
        accounts,
        &rules,
    )
    .unwrap();
    let event = &reversal.ledger[0];
    assert_eq!(event.event_type, LedgerEventType::PendingCancelled);
    assert_eq!(
        (event.points, event.pending_points, event.pending_after),
        (0, -80, 0)
    );
}

#[test]
fn card_without_member_is_checked_for_fraud_but_earns_nothing() {
    let decision = score(
        &txn("T-1", TxnKind::Purchase, "10.00", None),
        None,
        Accounts::default(),
        &rules(),
    )
    .unwrap();
    assert!(decision.ledger.is_empty() && decision.member.is_none());
    assert_eq!(decision.card.map(|card| card.spend_count), Some(1));
}

#[test]
fn velocity_trips_on_the_spend_over_the_limit_with_enforced_and_shadow_alerts() {
    let rules = rules();
    let mut card = CardState::default();
    let mut alerts_per_spend = Vec::new();
    for minute in 0..4 {
        let mut spend = txn(&format!("T-{minute}"), TxnKind::Purchase, "1.00", None);
        spend.timestamp += time::Duration::minutes(minute);
        let accounts = Accounts {
            card: card.clone(),
            ..Accounts::default()
        };
        let decision = score(&spend, Some("M-1"), accounts, &rules).unwrap();
        card = decision.card.expect("a purchase records the card's state");
        alerts_per_spend.push(decision.alerts);
    }
    let modes: Vec<Vec<Mode>> = alerts_per_spend
        .iter()
        .map(|alerts| alerts.iter().map(|a| a.mode).collect())
        .collect();
    assert_eq!(
        modes,
        vec![
            vec![],
            vec![],
            vec![Mode::Shadow],
            vec![Mode::Enforce, Mode::Shadow]
        ]
    );
    let enforced = &alerts_per_spend[3][0];
    assert_eq!(enforced.alert_id, "T-3/alert");
    assert_eq!(enforced.reasons[0].rule, "velocity_10m");
    assert!(
        enforced.reasons[0].description.contains("4 spends"),
        "{}",
        enforced.reasons[0].description
    );
    assert_eq!(
        (enforced.score, enforced.severity),
        (0.6, crate::domain::Severity::Medium)
    );
    assert_eq!(
        alerts_per_spend[3][1].action,
        crate::domain::alert::Action::None
    );
}

fn amount() -> impl Strategy<Value = Decimal> {
    (0u64..10_000_000).prop_map(|minor| Decimal::new(minor as i64, 2))
}

proptest! {
    #[test]
    fn breakdown_always_adds_up_to_the_points(value in amount(), gold in any::<bool>()) {
        let mut purchase = txn("T-1", TxnKind::Purchase, "0", None);
        purchase.amount = value;
        let tier = if gold { "gold" } else { "standard" };
        let accounts = Accounts { member: Some(member(0, tier)), ..Accounts::default() };
        let decision = score(&purchase, Some("M-1"), accounts, &rules()).unwrap();
        let event = &decision.ledger[0];
        prop_assert_eq!(sum_of_lines(event), Decimal::from(event.points));
        prop_assert!(event.points >= 0);
    }

    #[test]
    fn refunds_never_take_back_more_than_was_earned(
        value in amount(),
        refunds in proptest::collection::vec(amount(), 1..6),
        balance_spent in any::<bool>(),
    ) {
        let rules = rules();
        let mut purchase = txn("P-1", TxnKind::Purchase, "0", None);
        purchase.amount = value;
        let earned = score(&purchase, Some("M-1"), Accounts::default(), &rules).unwrap();
        let earned_points = earned.ledger[0].points;
        let mut member_state = earned.member.map(|m| if balance_spent { MemberState { balance: 0, lots: Vec::new(), ..m } } else { m });
        let mut original = earned.records.earning;
        let mut taken = 0;
        for (index, refund_amount) in refunds.into_iter().enumerate() {
            let mut refund = txn(&format!("R-{index}"), TxnKind::Refund, "0", Some("P-1"));
            refund.amount = refund_amount;
            let accounts = Accounts { member: member_state.clone(), original: original.clone(), ..Accounts::default() };
            let decision = score(&refund, Some("M-1"), accounts, &rules).unwrap();
            let event = &decision.ledger[0];
            taken += -event.points + (decision.member.as_ref().unwrap().shortfall - member_state.as_ref().unwrap().shortfall);
            prop_assert!(event.balance_after >= 0);
            let after = decision.member.as_ref().unwrap();
            prop_assert_eq!(
                after.lots.iter().map(|lot| lot.points).sum::<i64>(),
                after.balance.max(0),
                "lots hold exactly the positive balance"
            );
            member_state = decision.member;
            original = decision.records.original_earning;
        }
        prop_assert!(taken <= earned_points, "took {} of {}", taken, earned_points);
        prop_assert!(original.unwrap().reversed_points <= earned_points);
    }

    #[test]
    fn same_input_same_decision(value in amount(), minutes in 0i64..100_000) {
        let mut purchase = txn("T-9", TxnKind::Purchase, "0", None);
        purchase.amount = value;
        purchase.timestamp = OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(minutes);
        let first = score(&purchase, Some("M-1"), Accounts::default(), &rules()).unwrap();
        let second = score(&purchase, Some("M-1"), Accounts::default(), &rules()).unwrap();
        prop_assert_eq!(first, second);
    }
}

#[test]
fn each_funders_share_of_an_earning_has_its_own_lot_and_a_refund_takes_back_from_each() {
    let rules = super::fixtures::programme(
        r#"[programs.default.expiry]
months = 24
[[programs.default.earning.campaigns]]
id = "partner"
start = "2026-11-01T00:00:00Z"
end = "2026-12-01T00:00:00Z"
multiplier = "3"
funded_by = "merchant:MER-1"
"#,
    );
    let sale = score(
        &purchase("T-1", "100"),
        Some("M-1"),
        Accounts::default(),
        &rules,
    )
    .unwrap();
    let member = sale.member.clone().unwrap();
    let lots: Vec<(&str, i64)> = member
        .lots
        .iter()
        .map(|lot| (lot.funded_by.as_str(), lot.points))
        .collect();
    assert_eq!(lots, [("issuer", 100), ("merchant:MER-1", 200)]);

    let refund = txn("R-1", TxnKind::Refund, "30", Some("T-1"));
    let accounts = Accounts {
        member: Some(member),
        original: sale.records.earning.clone(),
        ..Accounts::default()
    };
    let refunded = score(&refund, Some("M-1"), accounts, &rules).unwrap();
    let lots: Vec<(&str, i64)> = refunded
        .member
        .as_ref()
        .unwrap()
        .lots
        .iter()
        .map(|lot| (lot.funded_by.as_str(), lot.points))
        .collect();
    assert_eq!(
        lots,
        [("issuer", 70), ("merchant:MER-1", 140)],
        "90 points back, 30 and 60"
    );
    let reversed = &refunded.ledger[0];
    let lines: Vec<(&str, Decimal, Option<&str>)> = reversed
        .breakdown
        .iter()
        .map(|line| (line.rule.as_str(), line.points, line.funded_by.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [
            ("refund", Decimal::ZERO, None),
            ("lot:2026-11", Decimal::from(-30), Some("issuer")),
            ("lot:2026-11", Decimal::from(-60), Some("merchant:MER-1")),
        ]
    );
    assert_eq!(sum_of_lines(reversed), Decimal::from(reversed.points));
}
