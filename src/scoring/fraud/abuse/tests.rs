//! Each points-abuse rule at its edges, through `score` and the commands so activity is
//! recorded the way the pipeline records it.

use crate::domain::command::{Command, CommandAction, Debit};
use crate::domain::lots::LotUse;
use crate::domain::{MemberState, Transaction, TxnKind, TxnRecord};
use crate::rules::RuleSet;
use crate::scoring::fixtures::{programme, purchase, T0};
use crate::scoring::{commands, score, Accounts, Decision};
use time::Duration;

fn rules() -> RuleSet {
    programme(
        r#"[fraud.split_purchases]
id = "split_purchases"
threshold = "1000"
margin = "0.1"
min_count = 3
window_minutes = 60
score = 0.4
[fraud.refund_churn]
id = "refund_churn"
min_refunds = 3
window_days = 7
score = 0.5
[fraud.redemption_after_burst]
id = "redemption_after_burst"
min_points = 5000
window_hours = 24
score = 0.5
[fraud.transfer_ring]
id = "transfer_ring"
min_senders = 3
window_days = 7
score = 0.6
"#,
    )
}

/// Scores `txns` in order on one member; the abuse rule ids each one tripped.
fn run(txns: &[Transaction]) -> (Vec<Vec<String>>, Option<MemberState>) {
    let rules = rules();
    let mut member = None;
    let mut earnings = std::collections::HashMap::new();
    let tripped = txns
        .iter()
        .map(|txn| {
            let accounts = Accounts {
                member: member.clone(),
                original: txn
                    .original_txn_id
                    .as_ref()
                    .and_then(|id| earnings.get(id).cloned()),
                ..Accounts::default()
            };
            let decision: Decision = score(txn, Some("M-1"), accounts, &rules).unwrap();
            member = decision.member.clone();
            if let Some(earning) = decision.records.earning.clone() {
                earnings.insert(txn.txn_id.clone(), earning);
            }
            rule_ids(&decision)
        })
        .collect();
    (tripped, member)
}

fn rule_ids(decision: &Decision) -> Vec<String> {
    decision
        .alerts
        .iter()
        .flat_map(|alert| alert.reasons.iter().map(|reason| reason.rule.clone()))
        .collect()
}

fn spend(id: &str, minutes: i64, amount: &str, merchant: &str) -> Transaction {
    let mut txn = Transaction {
        timestamp: T0 + Duration::minutes(minutes),
        ..purchase(id, amount)
    };
    txn.merchant.id = merchant.into();
    txn
}

fn refund(id: &str, original: &str, days: i64) -> Transaction {
    Transaction {
        kind: TxnKind::Refund,
        original_txn_id: Some(original.into()),
        timestamp: T0 + Duration::days(days),
        ..purchase(id, "10")
    }
}

#[test]
fn split_purchases_trip_on_the_third_just_under_the_threshold_at_one_merchant() {
    let (tripped, _) = run(&[
        spend("T-1", 0, "950", "MER-1"),
        spend("T-2", 10, "960", "MER-1"),
        spend("T-3", 20, "999.99", "MER-1"),
    ]);
    assert_eq!(
        tripped,
        [vec![], vec![], vec!["split_purchases".to_owned()]]
    );
    let (tripped, _) = run(&[
        spend("T-1", 0, "950", "MER-1"),
        spend("T-2", 10, "960", "MER-1"),
        spend("T-3", 20, "1000", "MER-1"),
        spend("T-4", 30, "990", "MER-2"),
        spend("T-5", 61, "990", "MER-1"),
    ]);
    assert!(
        tripped.iter().all(Vec::is_empty),
        "at the threshold, elsewhere, or after the window: {tripped:?}"
    );
}

#[test]
fn refund_churn_counts_refunds_within_the_window() {
    let mut txns: Vec<Transaction> = (1..=4)
        .map(|n| spend(&format!("T-{n}"), n, "10", "MER-1"))
        .collect();
    txns.extend([
        refund("R-1", "T-1", 1),
        refund("R-2", "T-2", 2),
        refund("R-3", "T-3", 3),
    ]);
    let (tripped, _) = run(&txns);
    assert_eq!(tripped[6], ["refund_churn"]);
    assert!(tripped[5].is_empty());
    let mut spaced: Vec<Transaction> = (1..=3)
        .map(|n| spend(&format!("T-{n}"), n, "10", "MER-1"))
        .collect();
    spaced.extend([
        refund("R-1", "T-1", 1),
        refund("R-2", "T-2", 2),
        refund("R-3", "T-3", 9),
    ]);
    let (tripped, _) = run(&spaced);
    assert!(
        tripped[5].is_empty(),
        "the first refund is out of the 7-day window"
    );
}

fn command(id: &str, hours: i64, action: CommandAction) -> Command {
    Command {
        command_id: id.into(),
        member_id: "M-1".into(),
        program_id: "default".into(),
        action,
        timestamp: T0 + Duration::hours(hours),
    }
}

#[test]
fn a_redemption_right_after_a_burst_of_earning_raises_a_member_alert() {
    let (_, member) = run(&[
        spend("T-1", 0, "3000", "MER-1"),
        spend("T-2", 30, "3000", "MER-2"),
    ]);
    let redeem = |hours| {
        command(
            "C-1",
            hours,
            CommandAction::Redeem {
                points: 100,
                reward: "r".into(),
            },
        )
    };
    let soon = commands::apply(&redeem(2), member.clone(), None, None, &rules()).unwrap();
    assert_eq!(rule_ids(&soon), ["redemption_after_burst"]);
    let alert = &soon.alerts[0];
    assert_eq!(
        (alert.alert_id.as_str(), alert.card_token.as_ref()),
        ("C-1/alert", None)
    );
    let later = commands::apply(&redeem(25), member, None, None, &rules()).unwrap();
    assert!(later.alerts.is_empty());
}

#[test]
fn transfers_in_from_three_members_make_a_ring() {
    let credit = |id: &str, hours, from: &str| {
        let action = CommandAction::TransferCredit {
            transfer_id: format!("X-{id}"),
            from_member_id: from.into(),
            points: 10,
        };
        let sent = Debit {
            program_id: Some("default".into()),
            points: 10,
            lots: vec![LotUse {
                lot: "2026-11".into(),
                points: 10,
                expires_at: None,
                funded_by: "issuer".into(),
            }],
            to_member_id: Some("M-1".into()),
            cancelled: false,
        };
        (command(id, hours, action), sent)
    };
    let mut member = None;
    let mut tripped = Vec::new();
    for (id, hours, from) in [
        ("C-1", 0, "M-2"),
        ("C-2", 1, "M-2"),
        ("C-3", 2, "M-3"),
        ("C-4", 3, "M-4"),
    ] {
        let (command, sent) = credit(id, hours, from);
        let decision = commands::apply(
            &command,
            member,
            Some(TxnRecord {
                // The sender's record holds the credit it published: the proof a credit needs.
                outputs: vec![crate::domain::record::OutputMessage {
                    topic: crate::domain::record::OutputTopic::Commands,
                    key: command.member_id.clone(),
                    payload: crate::wire::encode_command(&command),
                }],
                earning: None,
                debit: Some(sent),
                budget: None,
                fingerprint: None,
            }),
            None,
            &rules(),
        )
        .unwrap();
        tripped.push(rule_ids(&decision));
        member = decision.member;
    }
    assert_eq!(
        tripped,
        [vec![], vec![], vec![], vec!["transfer_ring".to_owned()]]
    );
}
