//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4), for the people who run
//! the service.
//!
//! Kept in memory by the process's one recorder (the `metrics` facade, rendered by
//! `metrics-exporter-prometheus`):
//! - `mmr_http_requests_total{method, route, status}` and `mmr_http_request_duration_seconds`
//!   (histogram) by route *template* (`/api/v1/cities/{slug}`, never the raw path; `unmatched`
//!   for an address no route serves, so a scan cannot blow up the label set);
//! - `mmr_render_seconds` and `mmr_render_pages_total` ([`crate::workflow::render`]), and
//!   `mmr_downloads_total{kind}` (archived PDFs and bundles, bulk ZIPs).
//!
//! Read at each scrape: the database pool (`mmr_db_connections{state}`, `mmr_db_connections_max`),
//! `mmr_cycles_overdue`, `mmr_reminders{state}`, `mmr_archive_entries`, `mmr_archive_bytes`,
//! `mmr_archive_damaged_entries`, `mmr_fixity_last_check_timestamp_seconds`,
//! `mmr_search_index_entries`, and what was sent with `sendfile`. A scrape whose database reads
//! fail still answers, with `mmr_database_up 0`.
//!
//! The endpoint is on the main address unless `MMR_METRICS_BIND` gives it one of its own (then
//! only there).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::workflow;

/// Upper bounds of the duration histograms, in seconds: from a cached page to a long rendering.
const SECONDS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed the first time it is asked for; `None` when another
/// recorder was installed first (metrics are then not served).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The `/metrics` route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(scrape))
}

/// Counts each request and times it, by method, route template and status.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method: &'static str = match request.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!("mmr_http_requests_total", "method" => method, "route" => route.clone(), "status" => status).increment(1);
    histogram!("mmr_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The service's metrics (see the module doc); on the main address unless `MMR_METRICS_BIND`
/// gives them one of their own.
#[utoipa::path(get, path = "/metrics", tag = "operations", security((), ("bearer" = [])),
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain; version=0.0.4", body = String)))]
async fn scrape(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not recorded by this process\n").into_response();
    };
    let (open, idle, most) = state.db.pool_state();
    gauge!("mmr_db_connections", "state" => "in_use").set(f64::from(open.saturating_sub(idle)));
    gauge!("mmr_db_connections", "state" => "idle").set(f64::from(idle));
    gauge!("mmr_db_connections_max").set(f64::from(most));
    gauge!("mmr_search_index_entries").set(state.catalog.stats().entries as f64);
    counter!("mmr_sendfile_responses_total").absolute(state.zero_copy.responses());
    counter!("mmr_sendfile_bytes_total").absolute(state.zero_copy.bytes());

    let (rules, now) = (state.rules, state.now().and_utc());
    match state.db.run(move |conn| workflow::operations::snapshot(conn, &rules, now)).await {
        Ok(s) => {
            gauge!("mmr_database_up").set(1.0);
            gauge!("mmr_cycles_overdue").set(s.cycles_overdue as f64);
            for (reminder_state, n) in s.reminders {
                gauge!("mmr_reminders", "state" => reminder_state).set(n as f64);
            }
            gauge!("mmr_archive_entries").set(s.archive.entries as f64);
            gauge!("mmr_archive_bytes").set(s.archive.bytes as f64);
            gauge!("mmr_archive_damaged_entries").set(s.archive.damaged as f64);
            if let Some(at) = s.archive.last_fixity_at {
                gauge!("mmr_fixity_last_check_timestamp_seconds").set(at.and_utc().timestamp() as f64);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "the metrics' database reads failed");
            gauge!("mmr_database_up").set(0.0);
        }
    }
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
