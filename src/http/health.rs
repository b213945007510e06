//! Liveness and readiness probes; readiness also reports the archive search index's size and
//! the catalogue revision it reflects.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers; 503 otherwise. Also says what the archive search index holds.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let backend = state.db.backend().as_str();
    let db = state.db.clone();
    let index = state.catalog.stats();
    match tokio::task::spawn_blocking(move || db.ping()).await {
        Ok(Ok(())) => Ok(Json(json!({ "status": "ready", "database": backend, "search_index": index }))),
        _ => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database does not answer")),
    }
}
