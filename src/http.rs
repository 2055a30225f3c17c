//! The HTTP server. Operators get `/metrics` (Prometheus), `/healthz` (liveness: fails when
//! the consumer has lag but makes no progress) and `/readyz` (readiness: consuming); the
//! query API ([`crate::api`]) is merged in when configured.

use crate::health::Health;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Clone)]
struct AppState {
    metrics: PrometheusHandle,
    health: Arc<Health>,
}

/// The operator endpoints.
pub fn operator_routes(metrics: PrometheusHandle, health: Arc<Health>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(liveness))
        .route("/readyz", get(readiness))
        .with_state(AppState { metrics, health })
}

/// Binds `addr` and serves `app` until the returned task is aborted. Returns the bound
/// address (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    app: Router,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "http server stopped");
        }
    });
    Ok((bound, task))
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn liveness(State(state): State<AppState>) -> Response {
    let liveness = state.health.liveness();
    let status = if liveness.alive {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(liveness)).into_response()
}

async fn readiness(State(state): State<AppState>) -> Response {
    if state.health.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}
