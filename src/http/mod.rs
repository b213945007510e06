//! The HTTP API: the only module that imports axum. Each resource module owns its routes and
//! handlers; [`router`] merges them under `/api/v1` and wraps them in the request-id, tracing,
//! body-limit and rate-limit layers. Handlers check permissions first (through [`extract::Auth`]), turn request
//! bodies into domain values, call [`crate::workflow`] on the blocking pool, and answer with the
//! JSON views defined beside them.

mod archive;
mod audit;
mod bulk;
mod cities;
mod contacts;
mod cycles;
mod download;
mod error;
mod extract;
mod feeds;
mod fields;
mod health;
mod oai;
mod ratelimit;
mod reminders;
mod submissions;
mod tokens;
mod upload;
mod zerocopy;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, Response};
use chrono::NaiveDateTime;
use serde::Serialize;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use download::VerifiedFiles;
pub use error::ApiError;
pub use ratelimit::{RateLimit, RateLimiter};
pub use zerocopy::{Conn, Listener, Peer, ZeroCopyStats, serve};

use crate::db::Db;
use crate::domain::Page;
use crate::domain::cycles::CycleRules;
use crate::storage::BlobStore;
use crate::workflow::catalog::BulkLimits;
use crate::workflow::catalog_index::CatalogIndex;
use crate::workflow::render::Reporting;

/// The response header carrying each request's id (also accepted from a proxy in front).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The current time, as the handlers see it; tests pin it.
pub type Clock = Arc<dyn Fn() -> NaiveDateTime + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The reporting calendar.
    pub rules: CycleRules,
    /// The report template and input limits.
    pub reporting: Reporting,
    /// Where archived PDFs and source bundles are kept.
    pub store: Arc<dyn BlobStore>,
    /// The public base URL (no trailing slash), for absolute links in OAI-PMH and feeds.
    pub public_url: String,
    /// The Secretariat's address (`MMR_SECRETARIAT_EMAIL`): OAI-PMH's `adminEmail`.
    pub secretariat_email: String,
    /// How many records one OAI-PMH list response carries.
    pub oai_page_size: usize,
    /// The bounds on one bulk download.
    pub bulk_limits: BulkLimits,
    /// The limit on requests without a valid token per client address; `None` (the default
    /// here; `mmr serve` sets `MMR_RATE_LIMIT`) turns it off.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// The archived files a whole-file download need not hash again (see `download`'s module doc).
    pub verified: Arc<VerifiedFiles>,
    /// The archive search's index of the published catalogue (see [`CatalogIndex`]).
    pub catalog: Arc<CatalogIndex>,
    /// What the zero-copy downloads have sent (see `zerocopy`'s module doc), for `/readyz`.
    pub zero_copy: Arc<ZeroCopyStats>,
    /// Where an archived file found damaged by a reader is reported (the Secretariat); `None`
    /// (the default here; `mmr serve` sets it): only logged and marked.
    pub alarm: Option<Arc<crate::workflow::archive::Alarm>>,
}

impl AppState {
    pub fn new(db: Db, max_body_bytes: usize, rules: CycleRules, store: Arc<dyn BlobStore>) -> Self {
        Self {
            db,
            clock: Arc::new(|| chrono::Utc::now().naive_utc()),
            max_body_bytes,
            rules,
            reporting: Reporting::default(),
            store,
            public_url: "http://127.0.0.1:8080".to_owned(),
            secretariat_email: crate::config::DEFAULT_SECRETARIAT_EMAIL.to_owned(),
            oai_page_size: crate::workflow::catalog::PAGE_SIZE,
            bulk_limits: BulkLimits::default(),
            rate_limiter: None,
            verified: Arc::default(),
            catalog: Arc::default(),
            zero_copy: Arc::default(),
            alarm: None,
        }
    }

    pub fn now(&self) -> NaiveDateTime {
        (self.clock)()
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(fields::router())
        .merge(cities::router())
        .merge(contacts::router())
        .merge(cycles::router())
        .merge(reminders::router())
        .merge(submissions::router())
        .merge(archive::router())
        .merge(audit::router())
        .merge(tokens::router());
    Router::new()
        .merge(health::router())
        .merge(oai::router())
        .merge(feeds::router())
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), ratelimit::limit))
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        request.id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                        token.id = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(|res: &Response<_>, latency: Duration, _span: &Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "done");
                })
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .with_state(state)
}

/// Request ids: 16 random hex digits, unless a proxy in front already set one.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = format!("{:016x}", rand::random::<u64>());
        axum::http::HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Runs blocking work (rendering, reading or writing the archive) on the blocking pool, inside
/// the request's span.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let span = tracing::Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(f)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::interrupted(&e)),
    }
}

/// A UTC instant as RFC 3339 with seconds, e.g. `2027-11-30T22:59:00Z`.
fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A page of a list: `{"items": [...], "total": N, "page": P, "per_page": K}`.
#[derive(Serialize)]
struct ListView<T> {
    items: Vec<T>,
    total: i64,
    page: i64,
    per_page: i64,
}

impl<T> ListView<T> {
    fn from_page<U>(page: Page<U>, view: impl FnMut(U) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(view).collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}

/// `?page=&per_page=`, shared by every list.
#[derive(serde::Deserialize, Default)]
struct PageQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

impl PageQuery {
    fn parse(&self) -> Result<crate::domain::PageRequest, ApiError> {
        Ok(crate::domain::PageRequest::parse(self.page, self.per_page)?)
    }
}

/// Lets a JSON body tell "absent" (`None`) from `null` (`Some(None)`) for clearable values.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}
