//! The HTML pages: the second HTTP entry point beside the JSON API ([`crate::http`]). Both call
//! [`crate::workflow`] and neither calls the other; no rule lives here, only what a page shows
//! and how.
//!
//! - Server-rendered with askama (templates in `templates/`, checked and compiled with the
//!   binary, escaping everything but the server's own SVG and JSON-LD), in English and French
//!   ([`i18n`]), with static files embedded under content-hashed names ([`assets`]).
//! - Every page works without JavaScript: links, GET forms, and the desk's POST forms
//!   ([`forms`]: the form's token first, then Post/Redirect/Get). `static/site.js` only adds copy
//!   buttons to citations.
//! - Every page carries a strict Content-Security-Policy (no inline script or style) and the
//!   other security headers ([`page::page_headers`]); errors are pages too ([`page::PageError`]).
//! - Public pages show published reports only: they read the public catalogue
//!   ([`workflow::catalog`], [`workflow::public`]), which holds nothing else.

mod access;
mod api_docs;
mod assets;
mod chart;
mod dashboard;
mod desk;
mod desk_city;
mod drafting;
mod forms;
mod home;
pub mod i18n;
mod page;
mod portal;
mod registry;
mod reports;
mod review;
mod session;
mod views;

use std::fmt::Write;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use assets::page_weight;
use page::{Ctx, PageError};

use crate::domain::cycles::CycleRules;
use crate::error::Error;
use crate::storage::BlobStore;
use crate::workflow::Postman;
use crate::workflow::catalog_index::CatalogIndex;
use crate::workflow::excerpts::Excerpts;
use crate::workflow::render::Reporting;
use crate::workflow::sign_in::ClientThrottle;
use crate::workflow::{self, Clock, Db};

/// What the pages share: the same database, clock, rules, template and search index as the API
/// (the server hands them over), and the pages' own cache of report texts.
#[derive(Clone)]
pub struct WebState {
    pub db: Db,
    pub clock: Clock,
    pub rules: CycleRules,
    /// The template (where a report's executive summary is), limits and rendering gate, for
    /// abstracts, drafts' checks and previews.
    pub reporting: Reporting,
    /// The archive's store: archived PDFs, and archiving a version the Secretariat accepts.
    pub store: Arc<dyn BlobStore>,
    pub catalog: Arc<CatalogIndex>,
    /// The public base URL (no trailing slash), for absolute addresses in metadata.
    pub public_url: String,
    /// The plain text of reports shown lately, for abstracts and snippets.
    pub excerpts: Arc<Excerpts>,
    /// How sign-in links and decisions are sent; `None`: this server sends no mail, and says so.
    pub postman: Option<Arc<Postman>>,
    /// The body-size limit of the drafting form (`MMR_MAX_BODY_BYTES`: the texts and their
    /// images); every other form takes [`crate::http::SMALL_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// Requests for sign-in links and token sign-ins per client.
    pub sign_in_throttle: Arc<ClientThrottle>,
}

impl WebState {
    pub fn now(&self) -> chrono::NaiveDateTime {
        (self.clock)()
    }
}

/// Every page, the static files, the sitemap and robots.txt, and the page shown for an unknown
/// address.
pub fn router(state: WebState) -> Router {
    let draft_limit = crate::http::body_limit(state.max_body_bytes);
    Router::new()
        .route("/", get(home::home))
        .route("/reports", get(reports::search))
        .route("/reports/{key}", get(reports::report))
        .route("/cities", get(registry::cities))
        .route("/cities/{slug}", get(registry::city))
        .route("/fields", get(registry::fields))
        .route("/fields/{slug}", get(registry::field))
        .route("/about", get(home::about))
        .route("/api/docs", get(api_docs::reference))
        .route("/sign-in", get(session::page))
        .route("/sign-in/email", post(session::email))
        .route("/sign-in/token", post(session::token))
        .route("/sign-in/link/{secret}", get(session::link).post(session::use_link))
        .route("/sign-out", post(session::sign_out))
        .route("/portal", get(portal::portal))
        .route("/desk", get(desk::board))
        .route("/desk/board.csv", get(desk::board_csv_download))
        .route("/cycles/{id}/draft", get(drafting::show).post(drafting::save).layer(draft_limit))
        .route("/cycles/{id}/draft.pdf", get(drafting::pdf))
        .route("/cycles/{id}/draft/images/{name}", get(drafting::image))
        .route("/cycles/{id}/submit", get(drafting::confirm).post(drafting::submit))
        .route("/submissions/{id}", get(review::show))
        .route("/submissions/{id}/pdf", get(review::pdf))
        .route("/submissions/{id}/comments", post(review::comment))
        .route("/submissions/{id}/decision", post(review::decide))
        .route("/desk/dashboard", get(dashboard::dashboard))
        .route("/desk/cities/{slug}", get(desk_city::city))
        .route("/desk/cities/{slug}/registry", post(desk_city::edit_city))
        .route("/desk/cities/{slug}/contacts", post(desk_city::add_contact))
        .route("/desk/cities/{slug}/contacts/{id}/{change}", post(desk_city::contact))
        .route("/desk/cities/{slug}/cycles/{id}/{change}", post(desk_city::deadline))
        .route("/desk/cities/{slug}/holds", post(desk_city::hold))
        .route("/desk/cities/{slug}/holds/{id}/lift", post(desk_city::lift))
        .route("/desk/cities/{slug}/archive/{id}/publication", post(desk_city::publication))
        .route("/desk/access", get(access::access))
        .route("/desk/access/tokens", post(access::issue))
        .route("/desk/access/tokens/{id}/revoke", post(access::revoke))
        .route("/desk/access/staff", post(access::add_staff))
        .route("/desk/access/staff/remove", post(access::remove_staff))
        .route("/desk/access/sessions", post(access::end_sessions))
        .route("/static/{name}", get(asset))
        .route("/robots.txt", get(robots))
        .route("/sitemap.xml", get(sitemap))
        .fallback(not_found)
        .with_state(state)
}

/// An unknown address outside the API: the 404 page.
async fn not_found(ctx: Ctx) -> Response {
    PageError::NotFound.page(&ctx)
}

async fn asset(ctx: Ctx, Path(name): Path<String>) -> Response {
    match assets::find(&name) {
        Some(asset) => {
            let mut response = asset.body.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            response
        }
        None => PageError::NotFound.page(&ctx),
    }
}

async fn robots(State(state): State<WebState>) -> Response {
    let body = format!(
        "# The public pages may be crawled; the API's downloads and exports are for programs.\n\
         User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /oai\n\nSitemap: {}/sitemap.xml\n",
        state.public_url
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// Every public page: the fixed ones, every city and field, every published report (with the
/// date it became public in its current form).
async fn sitemap(State(state): State<WebState>, ctx: Ctx) -> Response {
    let (index, now) = (state.catalog.clone(), state.now());
    let loaded = state
        .db
        .run(move |conn| {
            let reports = workflow::public::reports(&index, conn, now, &Default::default())?;
            let cities = workflow::public::every_city(conn, &Default::default())?;
            let fields = workflow::cities::list_fields(conn)?;
            Ok::<_, Error>((reports, cities, fields))
        })
        .await;
    let (reports, cities, fields) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let base = &state.public_url;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for path in ["/", "/reports", "/cities", "/fields", "/about"] {
        let _ = writeln!(xml, "<url><loc>{base}{path}</loc></url>");
    }
    for (f, _) in &fields {
        let _ = writeln!(xml, "<url><loc>{base}/fields/{}</loc></url>", f.slug);
    }
    for c in &cities {
        let _ = writeln!(xml, "<url><loc>{base}/cities/{}</loc></url>", c.slug);
    }
    for r in &reports {
        let _ = writeln!(
            xml,
            "<url><loc>{}</loc><lastmod>{}</lastmod></url>",
            workflow::catalog::page_url(base, r.id),
            r.public_since.date()
        );
    }
    xml.push_str("</urlset>\n");
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response()
}
