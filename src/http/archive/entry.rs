//! One archive entry: its metadata (Dublin Core terms, persistent identifier, citations), its PDF
//! and source bundle, verification by re-rendering, and the publication date.
//!
//! Who sees what is [`workflow::reading`]'s rule: a published entry is public, an unpublished one
//! exists only for those who may read the city's work (404 for anyone else).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::download;
use super::super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::super::zerocopy::ZeroCopy;
use super::super::{ApiError, AppState, blocking, double_option, rfc3339};
use super::{FileView, entry_url};
use crate::domain::auth::Action;
use crate::domain::parse_date;
use crate::workflow;
use crate::workflow::archive::{Entry, Verification, fixity_label};
use crate::workflow::catalog::{Record, page_url};
use crate::workflow::reading::{self, ArchiveFile, Described};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, publish))
        .routes(routes!(pdf))
        .routes(routes!(source))
        .routes(routes!(source_by_old_name))
        .routes(routes!(verify))
}

/// Loads an entry the caller may see ([`reading::visible`]).
async fn visible(state: &AppState, auth: &Auth, id: i64) -> Result<Entry, ApiError> {
    let (rules, now, caller) = (state.rules, state.now(), auth.principal.clone());
    Ok(state.db.run(move |conn| reading::visible(conn, &rules, caller.as_ref(), id, now)).await?)
}

#[derive(Serialize, ToSchema)]
#[schema(as = ArchivedCityView)]
struct CityView {
    slug: String,
    name: String,
    country: String,
    field: String,
}

#[derive(Serialize, ToSchema)]
struct EntryView {
    id: i64,
    submission_id: i64,
    city: CityView,
    cycle_number: i32,
    period_start_year: i32,
    period_end_year: i32,
    version: i32,
    /// The digest of the accepted sources (printed on the PDF's cover).
    source_sha256: String,
    pdf: FileView<'static>,
    /// `null` for a received document (a past report archived as the city sent it): it has none.
    source_bundle: Option<FileView<'static>>,
    renderer_version: String,
    template_version: String,
    archived_at: String,
    published_at: Option<String>,
    published: bool,
    last_fixity_at: Option<String>,
    last_fixity_ok: Option<bool>,
    /// The persistent identifier, `mmr:archive/<id>`.
    persistent_id: String,
    /// A DOI once one is minted; none yet.
    doi: Option<String>,
    /// This entry's public address.
    url: String,
    /// Its page for people.
    page_url: String,
    /// Dublin Core terms; `null` until published.
    dublin_core: Option<DublinCoreView>,
    /// Other published versions of the same city and cycle.
    versions: Vec<VersionLink>,
    /// How to cite it; `null` until published.
    citation: Option<CitationView>,
}

#[derive(Serialize, ToSchema)]
struct DublinCoreView {
    title: String,
    creator: String,
    subject: String,
    description: String,
    publisher: &'static str,
    date: String,
    #[serde(rename = "type")]
    kind: &'static str,
    format: &'static str,
    identifier: Vec<String>,
    language: String,
    coverage: Vec<String>,
    rights: String,
}

impl DublinCoreView {
    fn new(r: &Record, url: &str) -> Self {
        Self {
            title: r.title(),
            creator: r.city_name.clone(),
            subject: r.field_name.clone(),
            description: r.description(),
            publisher: "UNESCO Creative Cities Network",
            date: r.published_at.date().to_string(),
            kind: "Text",
            format: "application/pdf",
            identifier: vec![r.persistent_id(), url.to_owned(), format!("{url}/pdf")],
            language: r.language.clone(),
            coverage: vec![r.country_name.clone(), r.period()],
            rights: r.rights(),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct CitationView {
    text: String,
    bibtex: String,
    /// CSL-JSON, for reference managers.
    #[schema(value_type = Object)]
    csl_json: Value,
}

#[derive(Serialize, ToSchema)]
struct VersionLink {
    id: i64,
    persistent_id: String,
    version: i32,
    published_at: String,
    url: String,
}

impl EntryView {
    fn new(e: Entry, now: NaiveDateTime, state: &AppState, described: Option<Described>) -> Self {
        let published = e.is_published(now);
        let (d, city) = (e.document, e.cycle.record.city);
        let id = d.id;
        let url = entry_url(state, id);
        Self {
            id,
            submission_id: d.submission_id,
            city: CityView { slug: city.slug, name: city.name, country: city.country, field: city.field },
            cycle_number: e.cycle.record.number,
            period_start_year: e.cycle.record.period_start_year,
            period_end_year: e.cycle.record.period_end_year,
            version: e.submission.version,
            source_sha256: e.submission.bundle_sha256,
            pdf: FileView { sha256: d.pdf_sha256.into(), bytes: d.pdf_bytes, url: format!("/api/v1/archive/{id}/pdf") },
            source_bundle: d.bundle_sha256.zip(d.bundle_bytes).map(|(sha256, bytes)| FileView {
                sha256: sha256.into(),
                bytes,
                url: format!("/api/v1/archive/{id}/source.zip"),
            }),
            renderer_version: d.renderer_version,
            template_version: d.template_version,
            archived_at: rfc3339(d.archived_at.and_utc()),
            published_at: d.published_at.map(|t| rfc3339(t.and_utc())),
            published,
            last_fixity_at: d.last_fixity_at.map(|t| rfc3339(t.and_utc())),
            last_fixity_ok: d.last_fixity_ok,
            persistent_id: workflow::catalog::persistent_id(id),
            doi: None,
            url: url.clone(),
            page_url: page_url(&state.public_url, id),
            dublin_core: described.as_ref().map(|d| DublinCoreView::new(&d.record, &url)),
            versions: described
                .as_ref()
                .map(|d| {
                    d.others
                        .iter()
                        .map(|o| VersionLink {
                            id: o.id,
                            persistent_id: o.persistent_id(),
                            version: o.version,
                            published_at: rfc3339(o.published_at.and_utc()),
                            url: entry_url(state, o.id),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            citation: described.as_ref().map(|Described { record: r, .. }| CitationView {
                text: r.citation_text(&url),
                bibtex: r.bibtex(&url),
                csl_json: r.csl_json(&url),
            }),
        }
    }
}

/// The view of an entry the caller may see: with its catalogue description once published.
async fn entry_view(state: &AppState, entry: Entry) -> Result<EntryView, ApiError> {
    let now = state.now();
    let (described, entry) =
        state.db.run(move |conn| Ok::<_, crate::error::Error>((reading::describe(conn, &entry, now)?, entry))).await?;
    Ok(EntryView::new(entry, now, state, described))
}

/// An entry's metadata: hashes, sizes, versions, fixity, and once published its Dublin Core
/// terms, other versions of the same city and cycle, and citations.
#[utoipa::path(get, path = "/archive/{id}", tag = "archive", params(("id" = i64, Path, description = "The archive entry's id")), security((), ("bearer" = [])),
    responses((status = 200, description = "The entry", body = EntryView)))]
async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EntryView>, ApiError> {
    let (rules, now, caller) = (state.rules, state.now(), auth.principal.clone());
    let (entry, described) = state.db.run(move |conn| reading::entry(conn, &rules, caller.as_ref(), id, now)).await?;
    Ok(Json(EntryView::new(entry, now, &state, described)))
}

/// Serves one of an entry's files to a caller who may see the entry ([`reading::file`]).
async fn send_file(
    state: AppState,
    auth: Auth,
    id: i64,
    which: ArchiveFile,
    ZeroCopy(sender): ZeroCopy,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (rules, now, caller, index) = (state.rules, state.now(), auth.principal, state.catalog.clone());
    let file = state.db.run(move |conn| reading::file(conn, &index, &rules, caller.as_ref(), id, which, now)).await?;
    let damage = reading::damage_hook(state.db.clone(), state.alarm.clone(), state.clock.clone());
    let response =
        download::serve(state.store.clone(), &state.verified, &damage, sender, &method, &headers, file).await?;
    if method == Method::GET && response.status().is_success() {
        let kind = match which {
            ArchiveFile::Pdf => "pdf",
            ArchiveFile::SourceBundle => "source_bundle",
        };
        metrics::counter!("mmr_downloads_total", "kind" => kind).increment(1);
    }
    Ok(response)
}

/// The archived PDF, streamed or sent with `sendfile`, with conditional requests and byte ranges
/// (see [`download`]).
#[utoipa::path(get, path = "/archive/{id}/pdf", tag = "archive", params(("id" = i64, Path, description = "The archive entry's id"), ("Range" = Option<String>, Header, description = "Byte ranges, e.g. `bytes=0-1023`"), ("If-None-Match" = Option<String>, Header), ("If-Modified-Since" = Option<String>, Header), ("If-Range" = Option<String>, Header)), security((), ("bearer" = [])),
    responses((status = 200, description = "The whole file", content_type = "application/pdf", body = Vec<u8>,
            headers(("ETag" = String, description = "The file's SHA-256, quoted"), ("Last-Modified" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "The range asked for (several: `multipart/byteranges`)", content_type = "application/pdf", body = Vec<u8>),
        (status = 304, description = "Not modified (`If-None-Match`, `If-Modified-Since`)"),
        (status = 416, description = "No range asked for is in the file", body = super::super::openapi::ErrorBody)))]
async fn pdf(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    zero_copy: ZeroCopy,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    send_file(state, auth, id, ArchiveFile::Pdf, zero_copy, method, headers).await
}

/// The source bundle: a ZIP of the Markdown, the attachments and a manifest of hashes; served like
/// the PDF. A received document has none: 404 `no_source_bundle`.
#[utoipa::path(get, path = "/archive/{id}/source.zip", tag = "archive", params(("id" = i64, Path, description = "The archive entry's id"), ("Range" = Option<String>, Header, description = "Byte ranges, e.g. `bytes=0-1023`"), ("If-None-Match" = Option<String>, Header), ("If-Modified-Since" = Option<String>, Header), ("If-Range" = Option<String>, Header)), security((), ("bearer" = [])),
    responses((status = 200, description = "The whole file", content_type = "application/zip", body = Vec<u8>,
            headers(("ETag" = String, description = "The file's SHA-256, quoted"), ("Last-Modified" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "The range asked for (several: `multipart/byteranges`)", content_type = "application/zip", body = Vec<u8>),
        (status = 304, description = "Not modified (`If-None-Match`, `If-Modified-Since`)"),
        (status = 416, description = "No range asked for is in the file", body = super::super::openapi::ErrorBody)))]
async fn source(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    zero_copy: ZeroCopy,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    send_file(state, auth, id, ArchiveFile::SourceBundle, zero_copy, method, headers).await
}

/// The source bundle at its older address, `source` (as `source.zip`).
#[utoipa::path(get, path = "/archive/{id}/source", tag = "archive", params(("id" = i64, Path, description = "The archive entry's id"), ("Range" = Option<String>, Header, description = "Byte ranges, e.g. `bytes=0-1023`"), ("If-None-Match" = Option<String>, Header), ("If-Modified-Since" = Option<String>, Header), ("If-Range" = Option<String>, Header)), security((), ("bearer" = [])),
    responses((status = 200, description = "The whole file", content_type = "application/zip", body = Vec<u8>,
            headers(("ETag" = String, description = "The file's SHA-256, quoted"), ("Last-Modified" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "The range asked for (several: `multipart/byteranges`)", content_type = "application/zip", body = Vec<u8>),
        (status = 304, description = "Not modified (`If-None-Match`, `If-Modified-Since`)"),
        (status = 416, description = "No range asked for is in the file", body = super::super::openapi::ErrorBody)))]
async fn source_by_old_name(
    state: State<AppState>,
    auth: Auth,
    id: ApiPath<i64>,
    zero_copy: ZeroCopy,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    source(state, auth, id, zero_copy, method, headers).await
}

#[derive(Serialize, ToSchema)]
struct VerificationView {
    archive_id: i64,
    pdf_sha256: String,
    /// `intact`, `missing` or `changed`, as hashed for this answer.
    stored_pdf: &'static str,
    /// `null` for a received document, which has no bundle.
    stored_bundle: Option<&'static str>,
    rerendered_sha256: Option<String>,
    /// Both stored files are intact (as `stored_pdf` and `stored_bundle` say).
    intact: bool,
    /// Both stored files are intact and re-rendering the stored bundle gives exactly the PDF's
    /// bytes; `null` when the PDF was made by another renderer version (`made_by`), which this
    /// server does not re-render.
    matches: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    /// Why the PDF was not re-rendered here and how to re-render it; not a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// The renderer version that made the archived PDF.
    made_by: String,
    /// When the re-rendering was made (`null` when the bundle could not be read).
    rendered_at: Option<String>,
    /// The re-rendering is the stored verdict of this renderer and template version, not one
    /// made for this request.
    cached: bool,
    renderer: &'static str,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct VerifyQuery {
    /// `true`: re-render now and store the new verdict (Secretariat only).
    #[serde(default)]
    fresh: bool,
}

/// Whether the archived PDF is intact and re-rendering the stored bundle gives its bytes. The
/// stored files are re-hashed on every call; the re-rendering is the stored verdict of this
/// renderer and template version, made once; `?fresh=true` (Secretariat; 401/403 for anyone
/// else) renders again and replaces it. A file found damaged marks the entry damaged.
#[utoipa::path(get, path = "/archive/{id}/verify", tag = "archive", params(("id" = i64, Path, description = "The archive entry's id"), VerifyQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "The verdict", body = VerificationView),
        (status = 403, description = "`fresh=true` is the Secretariat's", body = super::super::openapi::ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<VerifyQuery>,
) -> Result<Json<VerificationView>, ApiError> {
    if query.fresh {
        auth.require(Action::Administer)?;
    }
    let entry = visible(&state, &auth, id).await?;
    let st = state.clone();
    let document = entry.document.clone();
    let now = state.now();
    let v: Verification = blocking(move || {
        let alarm = st.alarm.as_deref();
        workflow::archive::verify(&st.db, &st.reporting, st.store.as_ref(), alarm, &document, query.fresh, now)
    })
    .await?;
    let intact = v.intact();
    Ok(Json(VerificationView {
        archive_id: id,
        pdf_sha256: entry.document.pdf_sha256,
        stored_pdf: fixity_label(&v.pdf),
        stored_bundle: v.bundle.as_ref().map(fixity_label),
        rerendered_sha256: v.rerendered_sha256,
        intact,
        matches: v.matches,
        problem: v.problem,
        note: v.note,
        made_by: v.made_by,
        rendered_at: v.rendered_at.map(|t| rfc3339(t.and_utc())),
        cached: v.cached,
        renderer: crate::render::RENDERER,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    /// `YYYY-MM-DD`, or `null` to withdraw the entry from the public.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Date, example = "2027-01-15")]
    published_on: Option<Option<String>>,
}

/// Sets the publication date (Secretariat).
#[utoipa::path(patch, path = "/archive/{id}", tag = "archive", params(("id" = i64, Path, description = "The archive entry's id")), request_body = PublishBody, security(("bearer" = [])),
    responses((status = 200, description = "The entry as it now is", body = EntryView)))]
async fn publish(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PublishBody>,
) -> Result<Json<EntryView>, ApiError> {
    auth.require(Action::Decide)?;
    let on = match body.published_on {
        None => return Err(crate::domain::Invalid::new("published_on", "is required (a date, or null)").into()),
        Some(on) => on.as_deref().map(|d| parse_date("published_on", d)).transpose()?,
    };
    let (actor, rules, now) = (auth.actor()?, state.rules, state.now());
    let entry = state
        .db
        .run(move |conn| {
            workflow::archive::publish(conn, &actor, id, on, now)?;
            workflow::archive::get(conn, &rules, now, id)
        })
        .await?;
    Ok(Json(entry_view(&state, entry).await?))
}
