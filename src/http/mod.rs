//! The HTTP API: the only module that imports axum. Each resource module owns its routes and
//! handlers; [`router`] merges them under `/api/v1` and wraps them in the security-header,
//! request-id, tracing, head-size, body-limit, client-address, rate-limit and authentication
//! layers; [`serve`] serves it over TCP with the connection timeouts and cap (`server`). Handlers
//! check permissions first (through [`extract::Auth`]), turn request bodies into domain values,
//! call [`crate::workflow`] on the blocking pool, and answer with the JSON views defined beside
//! them.

mod archive;
mod audit;
mod authn;
mod bulk;
mod cities;
mod client;
mod contacts;
mod cycles;
mod download;
mod error;
mod extract;
mod feeds;
mod fields;
mod health;
mod history;
pub mod metrics;
mod oai;
pub mod openapi;
mod ratelimit;
mod reminders;
mod server;
mod submissions;
mod tokens;
mod upload;
mod zerocopy;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use chrono::NaiveDateTime;
use serde::Serialize;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::storage::VerifiedFiles;
pub use authn::{AuthFailures, Reason as AuthFailure};
pub use client::{Cidr, ClientAddr, TrustedProxies};
pub use error::ApiError;
pub use ratelimit::{RateLimit, RateLimiter};
pub use server::{ConnectionLimits, MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES, serve, serve_with_pages};
pub use zerocopy::{Conn, Listener, Peer, ZeroCopyStats};

use crate::domain::Page;
use crate::domain::cycles::CycleRules;
use crate::storage::BlobStore;
use crate::workflow::Db;
use crate::workflow::catalog::BulkLimits;
use crate::workflow::catalog_index::CatalogIndex;
use crate::workflow::render::Reporting;

/// The response header carrying each request's id (also accepted from a proxy in front).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub use crate::workflow::Clock;

/// The body-size limit of the small JSON requests (cities, contacts, comments, decisions, tokens,
/// and every page form but the draft's). Only the routes that take a report (drafts, submissions,
/// previews, the history import) take `MMR_MAX_BODY_BYTES`.
pub const SMALL_BODY_BYTES: usize = 1 << 20;

/// The body-size limit of the route a request is on, for a 413 to name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// The layers that give a route (or every route below) the body-size limit `max`: extractors
/// stop reading at it, and a refusal names it.
pub fn body_limit(max: usize) -> (DefaultBodyLimit, axum::Extension<BodyLimit>) {
    (DefaultBodyLimit::max(max), axum::Extension(BodyLimit(max)))
}

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
    /// How long parsing one received PDF of a history import may take.
    pub received_pdf_budget: std::time::Duration,
    /// The limit on requests without a valid token per client address; `None` (the default
    /// here; `mmr serve` sets `MMR_RATE_LIMIT`) turns it off.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// The reverse proxies whose `X-Forwarded-For` names the client (`MMR_TRUSTED_PROXIES`; see
    /// `client`'s module doc); none by default.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// The archived files a whole-file download need not hash again (see `download`'s module doc).
    pub verified: Arc<VerifiedFiles>,
    /// The archive search's index of the published catalogue (see [`CatalogIndex`]).
    pub catalog: Arc<CatalogIndex>,
    /// What the zero-copy downloads have sent (see `zerocopy`'s module doc), for `/readyz`.
    pub zero_copy: Arc<ZeroCopyStats>,
    /// Failed authentications and refusals by reason (see `authn`), for the metrics.
    pub auth_failures: Arc<AuthFailures>,
    /// The timeouts and the cap on connections that [`serve`] applies.
    pub connection_limits: ConnectionLimits,
    /// Where an archived file found damaged by a reader is reported (the Secretariat); `None`
    /// (the default here; `mmr serve` sets it): only logged and marked.
    pub alarm: Option<Arc<crate::workflow::archive::Alarm>>,
    /// How the pages send sign-in links; `None` (the default here; `mmr serve` sets it): the
    /// sign-in page says it cannot send mail.
    /// `/metrics` is served on this router (`false` when `MMR_METRICS_BIND` gives it an address
    /// of its own).
    pub metrics_here: bool,
    pub postman: Option<Arc<crate::workflow::Postman>>,
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
            received_pdf_budget: crate::render::DEFAULT_RECEIVED_PDF_BUDGET,
            rate_limiter: None,
            trusted_proxies: Arc::default(),
            verified: Arc::default(),
            catalog: Arc::default(),
            zero_copy: Arc::default(),
            auth_failures: Arc::default(),
            connection_limits: ConnectionLimits::default(),
            alarm: None,
            postman: None,
            metrics_here: true,
        }
    }

    pub fn now(&self) -> NaiveDateTime {
        (self.clock)()
    }
}

/// Every route with its OpenAPI operation (see `openapi`): the API under `/api/v1` and, beside
/// it, the probes, OAI-PMH, the feed and (when `metrics_here`) `/metrics`.
fn routes(max_body: usize, metrics_here: bool) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(fields::router())
        .merge(cities::router())
        .merge(contacts::router())
        .merge(cycles::router())
        .merge(reminders::router())
        .merge(submissions::router(max_body))
        .merge(archive::router())
        .merge(history::router(max_body))
        .merge(audit::router())
        .merge(tokens::router())
        .routes(routes!(openapi_json))
        .fallback(|| async { ApiError::not_found("no such route") });
    OpenApiRouter::new()
        .merge(if metrics_here { metrics::router() } else { OpenApiRouter::new() })
        .merge(health::router())
        .merge(oai::router())
        .merge(feeds::router())
        .nest("/api/v1", api)
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "harvesting", security((), ("bearer" = [])),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=3600")], openapi::json())
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    router_with_pages(state, None)
}

/// The whole API, and beside it `pages` (the HTML pages, `crate::web`, which answer every
/// address outside the API, unknown ones with their 404 page), under the same layers. Without
/// pages an unknown address is the API's JSON 404.
pub fn router_with_pages(state: AppState, pages: Option<Router>) -> Router {
    // Installed before anything is counted.
    metrics::handle();
    let routes = Router::from(routes(state.max_body_bytes, state.metrics_here))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .with_state(state.clone());
    let routes = match pages {
        Some(pages) => routes.merge(pages),
        None => routes.fallback(|| async { ApiError::not_found("no such route") }),
    };
    routes
        .layer(axum::middleware::from_fn_with_state(state.clone(), authn::check))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ratelimit::limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), client::resolve))
        .layer(body_limit(SMALL_BODY_BYTES))
        .layer(axum::middleware::from_fn(server::head_limits))
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
                        client = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(|res: &Response<_>, latency: Duration, _span: &Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "done");
                })
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .layer(axum::middleware::map_response(security_headers))
}

/// The policy of every response that does not set its own (the pages set theirs): nothing may be
/// loaded, run or framed.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds to every response, errors and downloads included, `X-Content-Type-Options: nosniff` (a
/// browser must not guess a type, e.g. run an "image" as script) and, unless it set a policy of
/// its own (an HTML page), the API's `Content-Security-Policy`.
async fn security_headers(response: Response<axum::body::Body>) -> Response<axum::body::Body> {
    secure(response)
}

/// [`security_headers`] on one response (also for the few answered outside the router).
fn secure(mut response: Response<axum::body::Body>) -> Response<axum::body::Body> {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(API_CSP));
    }
    response
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
#[derive(Serialize, utoipa::ToSchema)]
struct ListView<T> {
    items: Vec<T>,
    /// Items in the whole list.
    total: i64,
    /// This page's number, from 1.
    page: i64,
    /// Items a page.
    per_page: i64,
}

impl<T> ListView<T> {
    /// The requested page of a whole list, each item through `view`.
    fn of<U>(all: Vec<U>, query: &PageQuery, view: impl FnMut(U) -> T) -> Result<Self, ApiError> {
        Ok(Self::from_page(query.parse()?.slice(all), view))
    }

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
#[derive(serde::Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items a page (default 50).
    #[param(minimum = 1, maximum = 200)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_nosniff_and_its_own_policy() {
        let api = secure(Response::new(axum::body::Body::empty()));
        assert_eq!(api.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(api.headers()[header::CONTENT_SECURITY_POLICY], API_CSP);
        let mut page = Response::new(axum::body::Body::empty());
        page.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'"));
        let page = secure(page);
        assert_eq!(page.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(page.headers()[header::CONTENT_SECURITY_POLICY], "default-src 'self'");
    }
}
