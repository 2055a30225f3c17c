//! Response bodies, each read from the store in one or two round trips.

use super::error::masked;
use super::{ApiError, QueryApi};
use crate::domain::{CardState, MemberState};
use crate::rules::Program;
use crate::store::{Owner, StateStore, Versioned};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Entries a ledger page returns unless `limit` says otherwise, and the most it may ask for.
const DEFAULT_PAGE: usize = 20;
const MAX_PAGE: usize = 100;

/// `GET /members/{member_id}`: the member's account in each programme.
#[derive(Debug, Serialize, Deserialize)]
pub struct MemberView {
    pub member_id: String,
    pub accounts: Vec<AccountView>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AccountView {
    pub program_id: String,
    pub balance: i64,
    pub pending: i64,
    pub held: i64,
    pub tier: String,
    pub lifetime_earned: i64,
    pub shortfall: i64,
    pub txn_count: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_event_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_progress: Option<TierProgress>,
    /// Points that expire within the next 30, 60 and 90 days (each includes the shorter).
    pub expiring: Expiring,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Expiring {
    pub days_30: i64,
    pub days_60: i64,
    pub days_90: i64,
}

/// How far a member is toward the next tier in the current qualifying period.
#[derive(Debug, Serialize, Deserialize)]
pub struct TierProgress {
    /// The calendar year, or `the 12 months to 2026-11` under rolling qualification.
    pub period: String,
    pub qualifying: Decimal,
    /// With a combined basis: the points counted beside spend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifying_points: Option<Decimal>,
    /// `spend` (in the base currency), `points`, `spend_or_points` or `spend_and_points`.
    pub basis: String,
    pub next_tier: Option<String>,
    pub needed: Option<Decimal>,
}

impl AccountView {
    fn new(program_id: String, state: MemberState, program: Option<&Program>) -> AccountView {
        let now = OffsetDateTime::now_utc();
        let within =
            |days| state.expiring_between(now, now.saturating_add(time::Duration::days(days)));
        let expiring = Expiring {
            days_30: within(30),
            days_60: within(60),
            days_90: within(90),
        };
        let tier_progress = program
            .and_then(|program| program.earning.tier_qualification.as_ref())
            .map(|qualification| {
                let current = qualification.current(&state.counters, now);
                let qualifying = current.total;
                let next = qualification.next_after(&state.tier);
                TierProgress {
                    period: qualification.period.describe(now),
                    qualifying_points: qualification.basis.is_combined().then_some(current.points),
                    qualifying,
                    basis: qualification.basis.as_str().to_owned(),
                    next_tier: next.map(|(tier, _)| tier.to_owned()),
                    needed: next.map(|(_, threshold)| (threshold - qualifying).max(Decimal::ZERO)),
                }
            });
        AccountView {
            program_id,
            balance: state.balance,
            pending: state.pending,
            held: state.held,
            tier: state.tier,
            lifetime_earned: state.lifetime_earned,
            shortfall: state.shortfall,
            txn_count: state.txn_count,
            last_event_at: state.last_event_at,
            tier_progress,
            expiring,
        }
    }
}

/// `GET /members/{member_id}/ledger` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct LedgerQuery {
    /// Entries to return, 1 to 100 (default 20).
    pub limit: Option<usize>,
    /// Return entries older than this `event_id` (the previous page's `next_before`).
    pub before: Option<String>,
}

/// A page of the member's recent ledger, newest first.
#[derive(Debug, Serialize, Deserialize)]
pub struct LedgerPage {
    pub member_id: String,
    /// Ledger events exactly as published on the ledger topic.
    pub entries: Vec<serde_json::Value>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// `GET /cards/{card_token}/risk`: what the fraud rules remember about a card.
#[derive(Debug, Serialize, Deserialize)]
pub struct CardRiskView {
    pub card_token: String,
    /// The member the card's state is kept under; absent for a card with no member.
    pub member_id: Option<String>,
    #[serde(flatten)]
    pub state: CardState,
}

impl MemberView {
    pub async fn read<S: StateStore>(
        api: &QueryApi<S>,
        member_id: &str,
    ) -> Result<MemberView, ApiError> {
        let owner = Owner::Member(member_id.to_owned());
        let book = api.rules.borrow().clone();
        let programs: BTreeSet<String> = book
            .versions()
            .iter()
            .flat_map(|rules| rules.programs.keys().cloned())
            .collect();
        let keys: Vec<String> = programs
            .iter()
            .map(|program| api.keys.account(&owner, program))
            .collect();
        let loaded = api.store.get_many(&keys).await?;
        let accounts = programs
            .into_iter()
            .zip(&loaded)
            .filter_map(|(program_id, doc)| Some((program_id, doc.as_ref()?)))
            .map(|(program_id, doc)| {
                let program = book.latest().programs.get(&program_id);
                Ok(AccountView::new(program_id, decode(doc)?, program))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        if accounts.is_empty() {
            return Err(ApiError::not_found("member", member_id));
        }
        Ok(MemberView {
            member_id: member_id.to_owned(),
            accounts,
        })
    }
}

impl LedgerPage {
    pub async fn read<S: StateStore>(
        api: &QueryApi<S>,
        member_id: &str,
        query: LedgerQuery,
    ) -> Result<LedgerPage, ApiError> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let owner = Owner::Member(member_id.to_owned());
        let retained = api
            .store
            .list_head(&api.keys.ledger(&owner), api.ledger_retention)
            .await?;
        if retained.is_empty() {
            // A member with accounts but no retained events has an empty ledger, not none.
            MemberView::read(api, member_id).await?;
        }
        let entries: Vec<serde_json::Value> = retained
            .iter()
            .map(|entry| serde_json::from_str(entry).map_err(|e| ApiError::Corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        let start = match &query.before {
            None => 0,
            Some(before) => {
                let position = entries
                    .iter()
                    .position(|entry| entry["event_id"].as_str() == Some(before.as_str()))
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "before: event {} is not in the member's retained ledger",
                            masked(before)
                        ))
                    })?;
                position + 1
            }
        };
        let page: Vec<serde_json::Value> =
            entries.iter().skip(start).take(limit).cloned().collect();
        let next_before = (start + page.len() < entries.len())
            .then(|| page.last()?["event_id"].as_str().map(str::to_owned))
            .flatten();
        Ok(LedgerPage {
            member_id: member_id.to_owned(),
            entries: page,
            next_before,
        })
    }
}

impl CardRiskView {
    pub async fn read<S: StateStore>(
        api: &QueryApi<S>,
        card_token: &str,
    ) -> Result<CardRiskView, ApiError> {
        let not_found = || ApiError::not_found("card", card_token);
        let tag = api
            .store
            .get_value(&api.keys.card_owner(card_token))
            .await?
            .ok_or_else(not_found)?;
        let owner = Owner::from_tag(&tag)
            .ok_or_else(|| ApiError::Corrupt(format!("card owner entry `{tag}`")))?;
        let loaded = api
            .store
            .get_many(&[api.keys.card(&owner, card_token)])
            .await?;
        let doc = loaded
            .first()
            .and_then(Option::as_ref)
            .ok_or_else(not_found)?;
        Ok(CardRiskView {
            card_token: card_token.to_owned(),
            member_id: owner.member().map(str::to_owned),
            state: decode(doc)?,
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(doc: &Versioned) -> Result<T, ApiError> {
    serde_json::from_str(&doc.data).map_err(|e| ApiError::Corrupt(e.to_string()))
}
