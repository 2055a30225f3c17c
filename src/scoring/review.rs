//! A reviewer's verdict on points a fraud alert held: approve posts them, reject drops them.
//! Either way the hold ends, once: a second verdict on the same transaction is rejected.

use super::entry::Entry;
use super::{Decision, Rejection};
use crate::domain::review::{Review, Verdict};
use crate::domain::{BreakdownLine, Earning, LedgerEventType, MemberState};
use crate::rules::RuleSet;
use rust_decimal::Decimal;

/// Applies `review` to the member's account and the held transaction's earning.
pub fn review(
    review: &Review,
    member: Option<MemberState>,
    held: Option<Earning>,
    rules: &RuleSet,
) -> Result<Decision, Rejection> {
    let program = super::program(rules, &review.program_id)?;
    let mut earning = held.ok_or_else(|| Rejection::UnknownOriginal(review.txn_id.clone()))?;
    Rejection::unless_same_program(
        &review.txn_id,
        &earning.program_id,
        "review",
        &review.program_id,
    )?;
    let (Some(mut member), true, true) = (member, earning.held, earning.under_review) else {
        return Err(Rejection::NotHeld(format!(
            "transaction `{}` has no points held for review (never held, already reviewed or refunded)",
            review.txn_id
        )));
    };
    let mut ledger = super::expiry::pass_time(
        &mut member,
        &review.member_id,
        &review.review_id,
        review.timestamp,
        program,
        rules,
    );
    let outstanding = earning.points - earning.reversed_points;
    let by = review
        .reviewer
        .as_deref()
        .map_or(String::new(), |reviewer| format!(" by {reviewer}"));
    let (event_type, points, breakdown) = match review.verdict {
        Verdict::Approve => {
            let lots =
                super::expiry::lots_to_post(program, review.timestamp, &earning.lots, outstanding);
            member.credit(&lots);
            let detail = format!(
                "review {}{by} approved: {outstanding} held points moved from pending to the balance",
                review.review_id
            );
            let lines = super::expiry::posting_lines("review_approved", detail, &lots);
            (LedgerEventType::PointsReleased, outstanding, lines)
        }
        Verdict::Reject => (
            LedgerEventType::HoldRejected,
            0,
            vec![BreakdownLine {
                rule: "review_rejected".into(),
                detail: format!(
                    "review {}{by} rejected: {outstanding} held points will not be credited",
                    review.review_id
                ),
                points: -Decimal::from(outstanding),
                funded_by: None,
            }],
        ),
    };
    member.pending -= outstanding;
    member.held -= outstanding;
    member.lifetime_earned += points;
    member.last_event_at = member.last_event_at.max(Some(review.timestamp));
    earning.held = false;
    earning.under_review = false;
    if review.verdict == Verdict::Reject {
        earning.reversed_points = earning.points;
    }
    let verdict = Entry {
        event_type,
        txn_id: &review.txn_id,
        qualifier: None,
        points,
        pending_points: -outstanding,
        breakdown,
        at: review.timestamp,
    }
    .into_event(&review.member_id, &member, program, rules);
    ledger.push(verdict);
    Ok(Decision {
        member: Some(member),
        ledger,
        records: super::RecordChanges {
            original_earning: Some(earning),
            ..super::RecordChanges::default()
        },
        ..Decision::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::review::Verdict;
    use crate::domain::{Transaction, TxnKind};
    use crate::scoring::fixtures::{programme, purchase, T0};
    use crate::scoring::{score, Accounts};
    use time::Duration;

    /// Groceries (MCC 5411) are "risky" here so every purchase raises a critical alert, and
    /// critical alerts hold points.
    fn rules(action: &str) -> RuleSet {
        programme(&format!(
            r#"[fraud]
actions = {{ critical = "{action}" }}
[fraud.risky_category]
id = "risky_groceries"
mccs = ["5411"]
score = 0.95
"#
        ))
    }

    fn held_purchase(rules: &RuleSet) -> (MemberState, Earning, Decision) {
        let decision = score(
            &purchase("T-1", "120.00"),
            Some("M-1"),
            Accounts::default(),
            rules,
        )
        .unwrap();
        let member = decision.member.clone().unwrap();
        (member, decision.records.earning.clone().unwrap(), decision)
    }

    fn verdict(verdict: Verdict, review_id: &str) -> Review {
        Review {
            review_id: review_id.into(),
            txn_id: "T-1".into(),
            member_id: "M-1".into(),
            program_id: "default".into(),
            verdict,
            reviewer: Some("analyst-7".into()),
            timestamp: T0 + Duration::hours(2),
        }
    }

    #[test]
    fn a_hold_action_keeps_the_points_pending_with_the_alert_in_the_receipt() {
        let (member, earning, decision) = held_purchase(&rules("hold_points"));
        assert_eq!((member.balance, member.pending, member.held), (0, 120, 120));
        assert!(earning.held && earning.under_review);
        let event = &decision.ledger[0];
        assert_eq!(event.event_type, LedgerEventType::PointsHeld);
        assert_eq!((event.points, event.pending_points), (0, 120));
        let hold_line = event
            .breakdown
            .iter()
            .find(|l| l.rule == "fraud_hold")
            .unwrap();
        assert!(
            hold_line.detail.contains("T-1/alert"),
            "{}",
            hold_line.detail
        );
        assert_eq!(
            decision.alerts[0].action,
            crate::domain::alert::Action::HoldPoints
        );

        let (flagged, _, _) = held_purchase(&rules("flag"));
        assert_eq!(
            (flagged.balance, flagged.pending),
            (120, 0),
            "flag never holds"
        );
    }

    #[test]
    fn approval_posts_the_held_points_and_rejection_drops_them() {
        let rules = rules("hold_points");
        let (member, earning, _) = held_purchase(&rules);

        let approved = review(
            &verdict(Verdict::Approve, "RV-1"),
            Some(member.clone()),
            Some(earning.clone()),
            &rules,
        )
        .unwrap();
        let account = approved.member.unwrap();
        assert_eq!(
            (account.balance, account.pending, account.lifetime_earned),
            (120, 0, 120)
        );
        let event = &approved.ledger[0];
        assert_eq!(event.event_id, "T-1/points_released");
        assert_eq!((event.points, event.pending_points), (120, -120));
        assert_eq!(event.occurred_at, T0 + Duration::hours(2));
        assert!(!approved.records.original_earning.as_ref().unwrap().held);

        let rejected = review(
            &verdict(Verdict::Reject, "RV-1"),
            Some(member.clone()),
            Some(earning.clone()),
            &rules,
        )
        .unwrap();
        let account = rejected.member.unwrap();
        assert_eq!((account.balance, account.pending), (0, 0));
        let event = &rejected.ledger[0];
        assert_eq!(event.event_type, LedgerEventType::HoldRejected);
        assert_eq!(
            event.breakdown.iter().map(|l| l.points).sum::<Decimal>(),
            Decimal::from(-120)
        );
        let after = rejected.records.original_earning.unwrap();
        assert_eq!(
            after.reversed_points, 120,
            "a later refund has nothing left to take"
        );

        let again = review(
            &verdict(Verdict::Approve, "RV-2"),
            Some(account),
            Some(after),
            &rules,
        );
        assert_eq!(again.unwrap_err().kind(), "not_held");
    }

    #[test]
    fn a_review_in_another_programme_than_the_held_sale_is_refused() {
        let rules = rules("hold_points");
        let (member, mut earning, _) = held_purchase(&rules);
        earning.program_id = "airline".into();
        let error = review(
            &verdict(Verdict::Approve, "RV-1"),
            Some(member),
            Some(earning),
            &rules,
        )
        .unwrap_err();
        assert_eq!(error.kind(), "original_mismatch", "{error}");
        assert!(error.to_string().contains("`airline`"), "{error}");
    }

    #[test]
    fn a_review_of_points_never_held_is_refused() {
        let rules = rules("flag");
        let (member, earning, _) = held_purchase(&rules);
        let error = review(
            &verdict(Verdict::Approve, "RV-1"),
            Some(member),
            Some(earning),
            &rules,
        )
        .unwrap_err();
        assert_eq!(error.kind(), "not_held");
        let error = review(&verdict(Verdict::Approve, "RV-1"), None, None, &rules).unwrap_err();
        assert_eq!(error.kind(), "unknown_original");
    }

    #[test]
    fn a_refund_of_a_held_sale_cancels_pending_and_approval_releases_only_the_rest() {
        let rules = rules("hold_points");
        let (member, earning, _) = held_purchase(&rules);
        let refund = Transaction {
            kind: TxnKind::Refund,
            original_txn_id: Some("T-1".into()),
            ..purchase("R-1", "20.00")
        };
        let refunded = score(
            &refund,
            Some("M-1"),
            Accounts {
                member: Some(member),
                original: Some(earning),
                ..Accounts::default()
            },
            &rules,
        )
        .unwrap();
        assert_eq!(
            refunded.ledger[0].event_type,
            LedgerEventType::PendingCancelled
        );
        let approved = review(
            &verdict(Verdict::Approve, "RV-1"),
            refunded.member,
            refunded.records.original_earning,
            &rules,
        )
        .unwrap();
        let account = approved.member.unwrap();
        assert_eq!(
            (account.balance, account.pending, account.held),
            (100, 0, 0)
        );
    }
}
