//! Liveness and readiness probes; readiness also reports the archive search index's size and
//! the catalogue revision it reflects, and what the zero-copy downloads have sent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", security((), ("bearer" = [])),
    responses((status = 200, description = "Up", body = Object, example = json!({"status": "ok"}))))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// How long `/readyz` waits for a database connection: a probe answers within a second.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(700);

/// The database answers; 503 otherwise. Also says what the archive search index holds and how
/// many responses and bytes were sent with `sendfile` (`zero_copy`).
#[utoipa::path(get, path = "/readyz", tag = "operations", security((), ("bearer" = [])),
    responses((status = 200, description = "Ready", body = Object, example = json!({"status": "ready", "database": "sqlite",
        "search_index": {"entries": 12, "revision": 3}, "zero_copy": {"responses": 0, "sendfile_calls": 0, "bytes": 0}}))))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let backend = state.db.backend().as_str();
    let db = state.db.clone();
    let index = state.catalog.stats();
    let z = &state.zero_copy;
    let zero_copy = json!({ "responses": z.responses(), "sendfile_calls": z.calls(), "bytes": z.bytes() });
    match tokio::task::spawn_blocking(move || db.ping(READY_WITHIN)).await {
        Ok(Ok(())) => {
            Ok(Json(json!({ "status": "ready", "database": backend, "search_index": index, "zero_copy": zero_copy })))
        }
        _ => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database does not answer")),
    }
}
