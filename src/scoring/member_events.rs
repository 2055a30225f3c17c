//! Member events against the account: bonuses for enrolment (once), sign-in (once a day),
//! surveys and reviews; a referral remembered until the member's first purchase posts; tier
//! overrides; freezing. (Card links are kept by the pipeline, not in the account.)

use super::entry::Entry;
use super::{expiry, program, tiers, Decision, Rejection};
use crate::domain::member::Referral;
use crate::domain::member_event::{MemberEvent, MemberEventKind};
use crate::domain::{BreakdownLine, LedgerEventType, MemberState};
use crate::rules::earning::Period;
use crate::rules::RuleSet;
use rust_decimal::Decimal;

pub fn apply(
    event: &MemberEvent,
    member: Option<MemberState>,
    rules: &RuleSet,
) -> Result<Decision, Rejection> {
    let program = program(rules, &event.program_id)?;
    let mut member = member.unwrap_or_else(|| MemberState::new(&program.default_tier));
    let id = &event.event_id;
    let mut ledger = expiry::pass_time(
        &mut member,
        &event.member_id,
        id,
        event.timestamp,
        program,
        rules,
    );
    let entry = |event_type, points, rule: &str, detail: String| Entry {
        event_type,
        txn_id: id,
        qualifier: None,
        points,
        pending_points: 0,
        breakdown: vec![BreakdownLine {
            rule: rule.into(),
            detail,
            points: Decimal::from(points),
            funded_by: (points != 0).then(|| program.earning.funded_by.clone()),
        }],
        at: event.timestamp,
    };
    let bonus = |name: &str, points: i64, why: String| {
        (points > 0).then(|| {
            entry(
                LedgerEventType::BonusEarned,
                points,
                &format!("bonus:{name}"),
                why,
            )
        })
    };
    let bonuses = &program.bonuses;
    let earned = match &event.kind {
        MemberEventKind::Enrolled if member.enrolled => None,
        MemberEventKind::Enrolled => {
            member.enrolled = true;
            bonus("enrolment", bonuses.enrolment, "enrolment bonus".into())
        }
        MemberEventKind::SignedIn => {
            let day = format!("signed_in@{}", Period::Day.key(event.timestamp));
            if member.counters.thresholds_reached.insert(day) {
                bonus(
                    "sign_in",
                    bonuses.sign_in,
                    "first sign-in of the day".into(),
                )
            } else {
                None
            }
        }
        MemberEventKind::SurveyCompleted => {
            bonus("survey", bonuses.survey, "survey completed".into())
        }
        MemberEventKind::ReviewCompleted => {
            bonus("review", bonuses.review, "review written".into())
        }
        MemberEventKind::Referred { referrer_id } => {
            if referrer_id == &event.member_id || member.referral.is_some() || member.txn_count > 0
            {
                return Err(Rejection::InvalidEvent(format!(
                    "member `{}` cannot be referred by `{referrer_id}`: self-referral, already referred, or already purchasing",
                    event.member_id
                )));
            }
            member.referral = Some(Referral {
                referrer_id: referrer_id.clone(),
                issued: false,
            });
            None
        }
        MemberEventKind::TierOverride { tier } => {
            if let Some(tier) = tier
                .as_ref()
                .filter(|tier| !program.tiers.contains_key(*tier))
            {
                return Err(Rejection::InvalidEvent(format!(
                    "`{tier}` is not a tier of programme `{}`",
                    program.id
                )));
            }
            member.tier_override = tier.clone();
            None
        }
        MemberEventKind::Frozen | MemberEventKind::Unfrozen => {
            let frozen = event.kind == MemberEventKind::Frozen;
            (member.frozen != frozen).then(|| {
                member.frozen = frozen;
                let (event_type, what) = if frozen {
                    (
                        LedgerEventType::AccountFrozen,
                        "frozen: redemptions and transfers out are refused",
                    )
                } else {
                    (LedgerEventType::AccountUnfrozen, "unfrozen")
                };
                entry(event_type, 0, "member_event", format!("account {what}"))
            })
        }
        MemberEventKind::CardLinked { .. } => None,
    };
    if let Some(entry) = earned {
        if entry.points > 0 {
            member.credit(&expiry::programme_lots(
                program,
                event.timestamp,
                entry.points,
            ));
            member.lifetime_earned += entry.points;
        }
        ledger.push(entry.into_event(&event.member_id, &member, program, rules));
    }
    if let Some(entry) = tiers::settle_tier(program, &mut member, id, event.timestamp) {
        ledger.push(entry.into_event(&event.member_id, &member, program, rules));
    }
    member.last_event_at = member.last_event_at.max(Some(event.timestamp));
    Ok(Decision {
        member: Some(member),
        ledger,
        ..Decision::default()
    })
}
