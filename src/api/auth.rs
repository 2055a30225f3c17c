//! Bearer-token authentication: every API request must carry `Authorization: Bearer <token>`.
//! The comparison takes the same time wherever the tokens differ.

use super::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub async fn require_bearer(
    State(token): State<Arc<String>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    if bool::from(presented.as_bytes().ct_eq(token.as_bytes())) {
        Ok(next.run(request).await)
    } else {
        Err(ApiError::Unauthorized)
    }
}
