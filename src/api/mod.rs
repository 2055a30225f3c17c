//! The query API: read-only views of member accounts, their recent ledger and a card's risk
//! state, for member-service teams. Served beside `/metrics` when `http.api_token` is set;
//! every request needs that token as a bearer token. `docs/openapi.yaml` describes it, and a
//! test checks real responses against that document.
//!
//! - [`auth`]: the bearer-token check.
//! - [`error`]: JSON error responses.
//! - [`views`]: response bodies and how they are read from the store.

mod auth;
mod error;
mod views;

use crate::rules::RulesFeed;
use crate::store::{Keyspace, StateStore};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

pub use error::ApiError;
pub use views::{AccountView, CardRiskView, LedgerPage, LedgerQuery, MemberView};

/// Every route of the API, as written in the OpenAPI document.
pub const ROUTES: &[&str] = &[
    "/members/{member_id}",
    "/members/{member_id}/ledger",
    "/cards/{card_token}/risk",
];

/// What the handlers read from.
pub struct QueryApi<S> {
    pub store: S,
    pub keys: Keyspace,
    /// The programmes a member may have accounts in come from the rules.
    pub rules: RulesFeed,
    /// Ledger events kept per member (the most a page can reach back).
    pub ledger_retention: usize,
}

/// The API's routes, requiring `token` as a bearer token.
pub fn routes<S: StateStore>(api: QueryApi<S>, token: String) -> Router {
    Router::new()
        .route(ROUTES[0], get(member::<S>))
        .route(ROUTES[1], get(ledger::<S>))
        .route(ROUTES[2], get(card_risk::<S>))
        .fallback(unknown_route)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(token),
            auth::require_bearer,
        ))
        .with_state(Arc::new(api))
}

// Extractors are taken as `Result`s so that a malformed path or query string answers with the
// API's JSON error body, like every other error, instead of axum's plain text.

async fn member<S: StateStore>(
    State(api): State<Arc<QueryApi<S>>>,
    member_id: Result<Path<String>, PathRejection>,
) -> Result<Json<MemberView>, ApiError> {
    let Path(member_id) = member_id?;
    Ok(Json(MemberView::read(&api, &member_id).await?))
}

async fn ledger<S: StateStore>(
    State(api): State<Arc<QueryApi<S>>>,
    member_id: Result<Path<String>, PathRejection>,
    query: Result<Query<LedgerQuery>, QueryRejection>,
) -> Result<Json<LedgerPage>, ApiError> {
    let (Path(member_id), Query(query)) = (member_id?, query?);
    Ok(Json(LedgerPage::read(&api, &member_id, query).await?))
}

async fn card_risk<S: StateStore>(
    State(api): State<Arc<QueryApi<S>>>,
    card_token: Result<Path<String>, PathRejection>,
) -> Result<Json<CardRiskView>, ApiError> {
    let Path(card_token) = card_token?;
    Ok(Json(CardRiskView::read(&api, &card_token).await?))
}

async fn unknown_route() -> ApiError {
    ApiError::NotFound("no such resource".into())
}
