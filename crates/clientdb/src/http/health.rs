//! `GET /healthz` (`{"status": "ok", "db_driver": "sqlite"}`; 503 when the database does not answer) and
//! `GET /metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;

/// A health check that cannot reach the database within this long reports it unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) async fn health(State(state): State<Arc<AppState>>) -> Response {
    let store = state.authenticator.store();
    let driver = store.driver().as_str();
    match tokio::time::timeout(PING_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => Json(json!({ "status": "ok", "db_driver": driver })).into_response(),
        Ok(Err(error)) => {
            tracing::warn!(error = %crate::error_chain(&error), "health check: the database did not answer");
            unavailable(driver, "the database did not answer")
        }
        Err(_) => unavailable(driver, "the database did not answer in time"),
    }
}

fn unavailable(driver: &str, reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "db_driver": driver, "error": reason })),
    )
        .into_response()
}

pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut response = state.metrics.encode().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
