//! API errors as JSON bodies: `{"error": "<kind>", "message": "<sentence>"}`. Messages never
//! echo a card number: ids taken from the request are masked first.

use crate::store::StoreError;
use crate::wire::pan::mask_pans;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("state store unavailable")]
    Store(#[from] StoreError),
    #[error("stored state is not valid: {0}")]
    Corrupt(String),
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(masked(&rejection.body_text()))
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest(masked(&rejection.body_text()))
    }
}

impl ApiError {
    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::NotFound(format!("no {what} {}", masked(id)))
    }

    fn status_and_kind(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Corrupt(_) => (StatusCode::INTERNAL_SERVER_ERROR, "corrupt_state"),
        }
    }
}

/// `id` with anything that looks like a card number masked.
pub fn masked(id: &str) -> String {
    String::from_utf8_lossy(&mask_pans(id.as_bytes())).into_owned()
}

#[derive(serde::Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        if status.is_server_error() {
            tracing::warn!(error = %self, "query failed");
        }
        let body = Json(ErrorBody {
            error: kind,
            message: self.to_string(),
        });
        if status == StatusCode::UNAUTHORIZED {
            (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else {
            (status, body).into_response()
        }
    }
}
