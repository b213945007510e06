//! The archive of accepted reports: search over the published entries with facets, bulk
//! metadata exports, an entry's metadata (Dublin Core terms, persistent identifier, citations),
//! its PDF and source bundle, verification by re-rendering, and the publication date.
//!
//! A published entry (publication date reached) is public. Before that only those who may read
//! the city's work see it; to everyone else it does not exist (404), so nothing unpublished leaks
//! through a status code. Search and exports go through the public catalogue
//! ([`workflow::catalog`]), which only ever holds published entries, whoever asks.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bulk;
use super::download::{self, DamageHook, StoredFile};
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::spreadsheet::Sheet;
use super::zerocopy::ZeroCopy;
use super::{ApiError, AppState, ListView, PageQuery, blocking, double_option, rfc3339};
use crate::domain::auth::{Action, CityRef, authorize};
use crate::domain::cities::{CitySlug, CountryCode, FIRST_DESIGNATION_YEAR, Language};
use crate::domain::fields::FieldSlug;
use crate::domain::regions::Region;
use crate::domain::{Invalid, Page, parse_date};
use crate::error::Error;
use crate::workflow::archive::{Entry, Verification, fixity_label};
use crate::workflow::catalog::{EXPORT_LIMIT, FacetCount, Filter, Record, query_words};
use crate::workflow::{self};

pub fn router() -> Router<AppState> {
    // The exports' static paths win over `{id}` whatever the order (static segments match first).
    Router::new()
        .route("/archive", get(list))
        .route("/archive/export.csv", get(export_csv))
        .route("/archive/export.json", get(export_json))
        .route("/archive/bulk.zip", get(bulk_zip))
        .route("/archive/{id}", get(show).patch(publish))
        .route("/archive/{id}/pdf", get(pdf))
        .route("/archive/{id}/source.zip", get(source))
        .route("/archive/{id}/source", get(source))
        .route("/archive/{id}/verify", get(verify))
}

/// Loads an entry the caller may see: published, or readable as the city's work.
async fn visible(state: &AppState, auth: &Auth, id: i64) -> Result<Entry, ApiError> {
    let (rules, now) = (state.rules, state.now());
    let entry = state.db.run(move |conn| workflow::archive::get(conn, &rules, now, id)).await?;
    let city = CityRef { id: entry.cycle.record.city.id, field: &entry.cycle.record.city.field };
    let readable = authorize(auth.principal.as_ref(), Action::ReadCityWork(city)).is_ok();
    if entry.is_published(now) || readable {
        Ok(entry)
    } else {
        Err(Error::not_found("archived report", id.to_string()).into())
    }
}

#[derive(Serialize)]
struct CityView {
    slug: String,
    name: String,
    country: String,
    field: String,
}

#[derive(Serialize)]
struct FileView<'a> {
    sha256: Cow<'a, str>,
    bytes: i64,
    url: String,
}

#[derive(Serialize)]
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
    source_bundle: FileView<'static>,
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
    /// Dublin Core terms; `null` until published.
    dublin_core: Option<DublinCoreView>,
    /// Other published versions of the same city and cycle.
    versions: Vec<VersionLink>,
    /// How to cite it; `null` until published.
    citation: Option<CitationView>,
}

#[derive(Serialize)]
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

#[derive(Serialize)]
struct CitationView {
    text: String,
    bibtex: String,
    csl_json: Value,
}

#[derive(Serialize)]
struct VersionLink {
    id: i64,
    persistent_id: String,
    version: i32,
    published_at: String,
    url: String,
}

/// What the public catalogue says of a published entry: itself and its other versions.
type Described = (Record, Vec<Record>);

/// The absolute public address of entry `id`.
fn entry_url(state: &AppState, id: i64) -> String {
    format!("{}/api/v1/archive/{id}", state.public_url)
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
            source_bundle: FileView {
                sha256: d.bundle_sha256.into(),
                bytes: d.bundle_bytes,
                url: format!("/api/v1/archive/{id}/source.zip"),
            },
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
            dublin_core: described.as_ref().map(|(r, _)| DublinCoreView::new(r, &url)),
            versions: described
                .as_ref()
                .map(|(_, others)| {
                    others
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
            citation: described.as_ref().map(|(r, _)| CitationView {
                text: r.citation_text(&url),
                bibtex: r.bibtex(&url),
                csl_json: r.csl_json(&url),
            }),
        }
    }
}

/// The view of an entry the caller may see: with its catalogue description once published.
async fn entry_view(state: &AppState, entry: Entry) -> Result<EntryView, ApiError> {
    let (id, now) = (entry.document.id, state.now());
    let described = if entry.is_published(now) {
        state
            .db
            .run(move |conn| {
                let Some(record) = workflow::catalog::record(conn, id, now)? else {
                    return Ok::<_, Error>(None);
                };
                let others = workflow::catalog::other_versions(conn, now, &record)?;
                Ok(Some((record, others)))
            })
            .await?
    } else {
        None
    };
    Ok(EntryView::new(entry, now, state, described))
}

/// An entry's metadata: hashes, sizes, versions, fixity, and once published its Dublin Core
/// terms, other versions of the same city and cycle, and citations.
async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EntryView>, ApiError> {
    let entry = visible(&state, &auth, id).await?;
    Ok(Json(entry_view(&state, entry).await?))
}

/// Which of an entry's two files a download is for.
#[derive(Debug, Clone, Copy)]
enum ArchiveFile {
    Pdf,
    SourceBundle,
}

/// The file as [`download::serve`] needs it. Refused as damaged when the last fixity check found
/// the entry's files changed or missing.
fn stored_file(entry: &Entry, which: ArchiveFile, now: chrono::NaiveDateTime) -> Result<StoredFile, ApiError> {
    let d = &entry.document;
    let facts = match which {
        ArchiveFile::Pdf => (&d.pdf_sha256, d.pdf_bytes, &d.pdf_edges_sha256),
        ArchiveFile::SourceBundle => (&d.bundle_sha256, d.bundle_bytes, &d.bundle_edges_sha256),
    };
    let c = &entry.cycle.record;
    let name = |extension: &str| download_name(&c.city.name, &c.city.slug, &c.city.field, c.period_end_year, extension);
    checked_file(which, facts, d.last_fixity_ok, d.archived_at, entry.is_published(now), name)
}

/// The file of a published entry, from its catalogue record (see [`stored_file`]).
fn published_file(r: &Record, which: ArchiveFile) -> Result<StoredFile, ApiError> {
    let facts = match which {
        ArchiveFile::Pdf => (&r.pdf_sha256, r.pdf_bytes, &r.pdf_edges_sha256),
        ArchiveFile::SourceBundle => (&r.bundle_sha256, r.bundle_bytes, &r.bundle_edges_sha256),
    };
    let name = |extension: &str| download_name(&r.city_name, &r.city_slug, &r.field_slug, r.period_end_year, extension);
    checked_file(which, facts, r.last_fixity_ok, r.archived_at, true, name)
}

/// The file `which` of an entry (its SHA-256, recorded size and edge digest), named by `name` from
/// its extension; refused as damaged when the entry is marked damaged (by the fixity check or a
/// reader that found its files changed or missing), or the recorded size is negative.
fn checked_file(
    which: ArchiveFile,
    (sha256, bytes, edges): (&String, i64, &Option<String>),
    last_fixity_ok: Option<bool>,
    archived_at: NaiveDateTime,
    public: bool,
    name: impl FnOnce(&str) -> String,
) -> Result<StoredFile, ApiError> {
    let (content_type, extension) = match which {
        ArchiveFile::Pdf => ("application/pdf", "pdf"),
        ArchiveFile::SourceBundle => ("application/zip", "source.zip"),
    };
    if last_fixity_ok == Some(false) {
        return Err(download::damaged(sha256, "this entry's files were found damaged or missing"));
    }
    let bytes = u64::try_from(bytes).map_err(|_| download::damaged(sha256, "the recorded size is negative"))?;
    Ok(StoredFile {
        sha256: sha256.to_owned(),
        bytes,
        content_type,
        modified: archived_at,
        public,
        file_name: name(extension),
        edges_sha256: edges.clone(),
    })
}

/// The name a download is saved under, in Unicode: the city's name in lowercase with dashes for
/// spaces, the creative field, `mmr` and the last year of the period, e.g.
/// `östersund-gastronomy-mmr-2026.pdf` (sent with the ASCII form `ostersund-...`).
fn download_name(city_name: &str, city_slug: &str, field: &str, end_year: i32, extension: &str) -> String {
    let mut city = String::with_capacity(city_name.len());
    for ch in city_name.to_lowercase().chars() {
        let ch = if ch.is_alphanumeric() { ch } else { '-' };
        if !(ch == '-' && (city.is_empty() || city.ends_with('-'))) {
            city.push(ch);
        }
    }
    let city = match city.trim_end_matches('-') {
        "" => city_slug,
        name => name,
    };
    format!("{city}-{}-mmr-{end_year}.{extension}", field.replace('_', "-"))
}

/// Serves one of an entry's files to a caller who may see the entry.
async fn send_file(
    state: AppState,
    auth: Auth,
    id: i64,
    which: ArchiveFile,
    ZeroCopy(sender): ZeroCopy,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.now();
    // A published entry's files are public: its catalogue record says all a download needs, at
    // the cost of reading the catalogue revision. Others are for readers of the city's work.
    let index = state.catalog.clone();
    let published = state.db.run(move |conn| Ok::<_, ApiError>(index.sync(conn)?.public(id, now))).await?;
    let file = match published {
        Some(record) => published_file(&record, which)?,
        None => stored_file(&visible(&state, &auth, id).await?, which, now)?,
    };
    let damage = damage_hook(&state);
    download::serve(state.store.clone(), &state.verified, &damage, sender, &method, &headers, file).await
}

/// What a download or a bulk download does on finding a stored file damaged: the entries holding
/// it are marked damaged and the Secretariat alarmed, once per entry
/// ([`workflow::archive::report_damage`]). Runs on the blocking pool.
fn damage_hook(state: &AppState) -> DamageHook {
    let (db, alarm, clock) = (state.db.clone(), state.alarm.clone(), state.clock.clone());
    Arc::new(move |sha256: &str, problem: &str| {
        if let Err(e) = workflow::archive::report_damage(&db, alarm.as_deref(), sha256, problem, clock()) {
            tracing::error!(error = %e, "a damaged archive file could not be recorded as damaged");
        }
    })
}

/// The archived PDF, streamed or sent with `sendfile`, with conditional requests and byte ranges
/// (see [`download`]).
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
/// the PDF, at `source.zip` and at the older `source`.
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

#[derive(Serialize)]
struct VerificationView {
    archive_id: i64,
    pdf_sha256: String,
    /// `intact`, `missing` or `changed`, as hashed for this answer.
    stored_pdf: &'static str,
    stored_bundle: &'static str,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyQuery {
    /// `true`: re-render now and store the new verdict (Secretariat only).
    #[serde(default)]
    fresh: bool,
}

/// Whether the archived PDF is intact and re-rendering the stored bundle gives its bytes. The
/// stored files are re-hashed on every call; the re-rendering is the stored verdict of this
/// renderer and template version, made once; `?fresh=true` (Secretariat; 401/403 for anyone
/// else) renders again and replaces it. A file found damaged marks the entry damaged.
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
        stored_bundle: fixity_label(&v.bundle),
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    /// `YYYY-MM-DD`, or `null` to withdraw the entry from the public.
    #[serde(default, deserialize_with = "double_option")]
    published_on: Option<Option<String>>,
}

/// Sets the publication date (Secretariat).
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

/// The filters of `GET /archive` and the exports. An empty value is no filter.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// A city slug.
    city: Option<String>,
    /// ISO 3166-1 alpha-2.
    country: Option<String>,
    /// A UNESCO region slug (`europe_north_america`, ...).
    region: Option<String>,
    /// A creative field slug.
    field: Option<String>,
    /// The last year of the reporting period.
    year: Option<String>,
    /// `en` or `fr`.
    language: Option<String>,
    /// Words that must all occur in the report or the action plan.
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

impl SearchQuery {
    /// The filter, each value checked; a bad one is a 422 naming its parameter.
    fn filter(&self) -> Result<Filter, Invalid> {
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let city = given(&self.city)
            .map(|c| CitySlug::parse(&c).map_err(|e| Invalid::new("city", e.message)))
            .transpose()?
            .map(|c| c.as_str().to_owned());
        let country = given(&self.country).map(|c| CountryCode::parse(&c)).transpose()?.map(|c| c.as_str().to_owned());
        let region = given(&self.region).map(|r| Region::parse(&r)).transpose()?;
        let field = given(&self.field).map(|f| FieldSlug::parse(&f)).transpose()?.map(|f| f.as_str().to_owned());
        let year = given(&self.year).map(|y| parse_year(&y)).transpose()?;
        let language = given(&self.language).map(|l| Language::parse(&l)).transpose()?.map(|l| l.as_str().to_owned());
        let words = self.q.as_deref().map(query_words).transpose()?.unwrap_or_default();
        Ok(Filter { city, country, region, field, year, language, words })
    }
}

/// A period end year: from the first designations' first deadline on, four digits.
fn parse_year(raw: &str) -> Result<i32, Invalid> {
    raw.parse::<i32>().ok().filter(|y| (FIRST_DESIGNATION_YEAR..=9999).contains(y)).ok_or_else(|| {
        let shown: String = raw.chars().take(40).collect();
        Invalid::new(
            "year",
            format!("`{shown}` is not a year between {FIRST_DESIGNATION_YEAR} and 9999 (the period's last year)"),
        )
    })
}

#[derive(Serialize)]
struct CatalogCityView<'a> {
    slug: &'a str,
    name: &'a str,
    country: &'a str,
    country_name: &'a str,
    /// UNESCO's region (slug), when the country has one.
    region: Option<&'static str>,
    region_name: Option<&'static str>,
    field: &'a str,
    field_name: &'a str,
}

/// A published entry in search results and JSON exports: its metadata, hashes and addresses.
#[derive(Serialize)]
struct SummaryView<'a> {
    id: i64,
    persistent_id: String,
    doi: Option<String>,
    url: String,
    title: String,
    city: CatalogCityView<'a>,
    language: &'a str,
    cycle_number: i32,
    period_start_year: i32,
    period_end_year: i32,
    version: i32,
    published_at: String,
    archived_at: String,
    pdf: FileView<'a>,
    source_bundle: FileView<'a>,
    source_sha256: &'a str,
    renderer_version: &'a str,
    template_version: &'a str,
    last_fixity_at: Option<String>,
    last_fixity_ok: Option<bool>,
}

impl<'a> SummaryView<'a> {
    fn new(r: &'a Record, state: &AppState) -> Self {
        let url = entry_url(state, r.id);
        Self {
            id: r.id,
            persistent_id: r.persistent_id(),
            doi: None,
            title: r.title(),
            language: &r.language,
            cycle_number: r.cycle_number,
            period_start_year: r.period_start_year,
            period_end_year: r.period_end_year,
            version: r.version,
            published_at: rfc3339(r.published_at.and_utc()),
            archived_at: rfc3339(r.archived_at.and_utc()),
            pdf: FileView { sha256: Cow::Borrowed(&r.pdf_sha256), bytes: r.pdf_bytes, url: format!("{url}/pdf") },
            source_bundle: FileView {
                sha256: Cow::Borrowed(&r.bundle_sha256),
                bytes: r.bundle_bytes,
                url: format!("{url}/source.zip"),
            },
            source_sha256: &r.source_sha256,
            renderer_version: &r.renderer_version,
            template_version: &r.template_version,
            last_fixity_at: r.last_fixity_at.map(|t| rfc3339(t.and_utc())),
            last_fixity_ok: r.last_fixity_ok,
            city: CatalogCityView {
                slug: &r.city_slug,
                name: &r.city_name,
                country: &r.country_code,
                country_name: &r.country_name,
                region: r.region.map(Region::slug),
                region_name: r.region.map(Region::name),
                field: &r.field_slug,
                field_name: &r.field_name,
            },
            url,
        }
    }
}

#[derive(Serialize)]
struct FacetView {
    code: String,
    name: String,
    count: i64,
}

impl From<FacetCount> for FacetView {
    fn from(f: FacetCount) -> Self {
        Self { code: f.code, name: f.name, count: f.count }
    }
}

#[derive(Serialize)]
struct FacetsView {
    field: Vec<FacetView>,
    country: Vec<FacetView>,
    region: Vec<FacetView>,
    year: Vec<FacetView>,
}

/// A page of search results with the facets of the whole search.
#[derive(Serialize)]
struct SearchView<'a> {
    #[serde(flatten)]
    list: ListView<SummaryView<'a>>,
    facets: FacetsView,
}

/// Searches the published archive; public. Filters `city`, `country`, `region`, `field`, `year`
/// (period end), `language` and `q` (words, all required, in the report or action plan; best
/// match first, otherwise newest first), paged, with counts per field, country, region and year
/// over the whole search. Answered from the in-memory index, brought up to the catalogue's
/// revision first ([`CatalogIndex`](crate::workflow::catalog_index::CatalogIndex)).
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Response, ApiError> {
    auth.require(Action::ReadArchive)?;
    let page = PageQuery { page: query.page, per_page: query.per_page }.parse()?;
    let filter = query.filter()?;
    let now = state.now();
    let (index, checked) = (state.catalog.clone(), filter.clone());
    let catalog = state.db.run(move |conn| workflow::catalog::searchable(&index, conn, &checked)).await?;
    // The search and the JSON are memory work of well under a millisecond, done here like any
    // response's serialisation: a hop to the blocking pool would cost more than it saves.
    let found = workflow::catalog::search(&state.catalog, &catalog, now, &filter, page);
    let facets = FacetsView {
        field: found.facets.fields.into_iter().map(FacetView::from).collect(),
        country: found.facets.countries.into_iter().map(FacetView::from).collect(),
        region: found.facets.regions.into_iter().map(FacetView::from).collect(),
        year: found.facets.years.into_iter().map(FacetView::from).collect(),
    };
    let Page { items, total, page, per_page } = &found.page;
    let items = items.iter().map(|r| SummaryView::new(r, &state)).collect();
    let list = ListView { items, total: *total, page: *page, per_page: *per_page };
    let view = SearchView { list, facets };
    // Sized for a whole page at once: growing a large buffer step by step costs more.
    let mut body = Vec::with_capacity(16 * 1024 + view.list.items.len() * 1536);
    serde_json::to_writer(&mut body, &view).map_err(|e| ApiError::interrupted(&e))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

/// The filter of an export or a bulk download, which are not paged: `page` and `per_page` are
/// refused, naming `bound`, how much one holds.
fn unpaged(auth: &Auth, query: &SearchQuery, bound: &str) -> Result<Filter, ApiError> {
    auth.require(Action::ReadArchive)?;
    if query.page.is_some() || query.per_page.is_some() {
        let param = if query.page.is_some() { "page" } else { "per_page" };
        return Err(Invalid::new(param, format!("this list is not paged: it holds {bound}")).into());
    }
    Ok(query.filter()?)
}

/// The entries an export covers: the search's filters, no pages, at most [`EXPORT_LIMIT`].
async fn exported(state: &AppState, auth: &Auth, query: &SearchQuery) -> Result<Vec<Arc<Record>>, ApiError> {
    let filter = unpaged(auth, query, &format!("up to {EXPORT_LIMIT} entries"))?;
    let now = state.now();
    let index = state.catalog.clone();
    Ok(state.db.run(move |conn| workflow::catalog::export(&index, conn, now, &filter, EXPORT_LIMIT)).await?)
}

/// The metadata of every published entry the filters select, as JSON:
/// `{"items": [...], "total": N}`; public.
async fn export_json(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Response, ApiError> {
    let records = exported(&state, &auth, &query).await?;
    let items: Vec<SummaryView> = records.iter().map(|r| SummaryView::new(r, &state)).collect();
    let total = items.len();
    let mut response = Json(serde_json::json!({ "items": items, "total": total })).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"mmr-archive.json\""));
    Ok(response)
}

/// The columns of the CSV export, in order.
const CSV_COLUMNS: [&str; 30] = [
    "id",
    "persistent_id",
    "doi",
    "url",
    "title",
    "city",
    "city_name",
    "country",
    "country_name",
    "region",
    "field",
    "field_name",
    "language",
    "cycle_number",
    "period_start_year",
    "period_end_year",
    "version",
    "published_at",
    "archived_at",
    "pdf_url",
    "pdf_sha256",
    "pdf_bytes",
    "source_bundle_url",
    "source_bundle_sha256",
    "source_bundle_bytes",
    "source_sha256",
    "renderer_version",
    "template_version",
    "last_fixity_at",
    "last_fixity_ok",
];

/// The metadata of every published entry the filters select, as CSV (UTF-8, a header row, one
/// row per entry, empty cells for absent values); public.
async fn export_csv(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Response, ApiError> {
    let records = exported(&state, &auth, &query).await?;
    let mut out = Sheet::new(&CSV_COLUMNS)?;
    for r in &records {
        let v = SummaryView::new(r, &state);
        let row: [String; 30] = [
            v.id.to_string(),
            v.persistent_id,
            String::new(),
            v.url,
            v.title,
            v.city.slug.to_owned(),
            v.city.name.to_owned(),
            v.city.country.to_owned(),
            v.city.country_name.to_owned(),
            v.city.region.unwrap_or_default().to_owned(),
            v.city.field.to_owned(),
            v.city.field_name.to_owned(),
            v.language.to_owned(),
            v.cycle_number.to_string(),
            v.period_start_year.to_string(),
            v.period_end_year.to_string(),
            v.version.to_string(),
            v.published_at,
            v.archived_at,
            v.pdf.url,
            v.pdf.sha256.into_owned(),
            v.pdf.bytes.to_string(),
            v.source_bundle.url,
            v.source_bundle.sha256.into_owned(),
            v.source_bundle.bytes.to_string(),
            v.source_sha256.to_owned(),
            v.renderer_version.to_owned(),
            v.template_version.to_owned(),
            v.last_fixity_at.unwrap_or_default(),
            v.last_fixity_ok.map(|ok| ok.to_string()).unwrap_or_default(),
        ];
        out.row(&row)?;
    }
    let body = out.finish()?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"mmr-archive.csv\"")),
        ],
        body,
    )
        .into_response())
}

/// A report in a bulk download's manifest: its file in the ZIP and its metadata.
#[derive(Serialize)]
struct BulkItem<'a> {
    /// Its path in the ZIP.
    file: String,
    #[serde(flatten)]
    entry: SummaryView<'a>,
}

/// A selected report left out of a bulk download.
#[derive(Serialize)]
struct LeftOut {
    id: i64,
    persistent_id: String,
    url: String,
    reason: &'static str,
}

/// `manifest.json` of a bulk download.
#[derive(Serialize)]
struct BulkManifest<'a> {
    /// `mmr-bulk/1`.
    format: &'static str,
    generated_at: String,
    /// The request, with the public address.
    request: String,
    /// How many PDFs the ZIP holds, and their bytes.
    count: usize,
    pdf_bytes: u64,
    items: Vec<BulkItem<'a>>,
    /// Selected reports whose files were found damaged (marked so, or by this download's check);
    /// they are not included.
    unavailable: Vec<LeftOut>,
}

/// The published reports the filters select, as one ZIP: their PDFs under `pdf/`, with
/// `manifest.json` (metadata of each, as in `export.json`, and its file), `SHA256SUMS` (checked
/// with `sha256sum -c SHA256SUMS`) and `citations.bib` first. Within the state's
/// [`BulkLimits`](workflow::catalog::BulkLimits) (413 beyond, naming the bound); streamed in
/// bounded memory (see [`bulk`]); public.
async fn bulk_zip(
    State(state): State<AppState>,
    auth: Auth,
    uri: axum::http::Uri,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Response, ApiError> {
    let limits = state.bulk_limits;
    let filter = unpaged(&auth, &query, &format!("up to {} reports", limits.reports))?;
    let now = state.now();
    let index = state.catalog.clone();
    let records = state.db.run(move |conn| workflow::catalog::bulk(&index, conn, now, &filter, limits)).await?;

    let (marked, records): (Vec<Arc<Record>>, Vec<Arc<Record>>) =
        records.into_iter().partition(|r| r.last_fixity_ok == Some(false));
    let mut damaged: Vec<(Arc<Record>, &'static str)> = marked
        .into_iter()
        .map(|r| (r, "its files were found damaged or missing (by a fixity check or a reader)"))
        .collect();
    // Every PDF is checked whole before anything is sent; one found damaged now is left out too.
    let sizes = records
        .iter()
        .map(|r| {
            let bytes = u64::try_from(r.pdf_bytes)
                .map_err(|_| download::damaged(&r.pdf_sha256, "the recorded size is negative"))?;
            Ok((r.pdf_sha256.clone(), bytes))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let checks = bulk::check(state.store.clone(), sizes.clone(), damage_hook(&state)).await?;
    let mut names = std::collections::BTreeSet::new();
    let mut pdfs = Vec::with_capacity(records.len());
    let mut items = Vec::with_capacity(records.len());
    let (mut sums, mut citations, mut pdf_bytes) = (String::new(), String::new(), 0);
    for ((r, (sha256, bytes)), crc32) in records.iter().zip(sizes).zip(checks) {
        let Some(crc32) = crc32 else {
            damaged.push((r.clone(), "its PDF was found damaged or missing while this download was prepared"));
            continue;
        };
        let name = bulk_member_name(r, &mut names);
        sums.push_str(&format!("{}  {name}\n", r.pdf_sha256));
        citations.push_str(&r.bibtex(&entry_url(&state, r.id)));
        citations.push('\n');
        pdf_bytes += bytes;
        pdfs.push(bulk::Part {
            name: name.clone(),
            modified: r.archived_at,
            content: bulk::Content::Stored { sha256, bytes, crc32 },
        });
        items.push(BulkItem { file: name, entry: SummaryView::new(r, &state) });
    }
    let manifest = BulkManifest {
        format: "mmr-bulk/1",
        generated_at: rfc3339(now.and_utc()),
        request: format!(
            "{}/api/v1/archive/bulk.zip{}",
            state.public_url,
            uri.query().map(|q| format!("?{q}")).unwrap_or_default()
        ),
        count: items.len(),
        pdf_bytes,
        items,
        unavailable: damaged
            .into_iter()
            .map(|(r, reason)| LeftOut {
                id: r.id,
                persistent_id: r.persistent_id(),
                url: entry_url(&state, r.id),
                reason,
            })
            .collect(),
    };
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| ApiError::interrupted(&e))?;
    json.push(b'\n');
    let inline = |name: &str, bytes: Vec<u8>| bulk::Part {
        name: name.to_owned(),
        modified: now,
        content: bulk::Content::Inline(bytes.into()),
    };
    let mut parts = vec![
        inline("manifest.json", json),
        inline("SHA256SUMS", sums.into_bytes()),
        inline("citations.bib", citations.into_bytes()),
    ];
    parts.extend(pdfs);
    bulk::respond(state.store.clone(), parts, &format!("mmr-archive-{}.zip", now.date()))
}

/// A report's path in a bulk download, ASCII: `pdf/` and the name its single download is saved
/// under, with `-v<version>` after a first version and `-<id>` when that name is already `taken`.
fn bulk_member_name(r: &Record, taken: &mut std::collections::BTreeSet<String>) -> String {
    let base = download_name(&r.city_name, &r.city_slug, &r.field_slug, r.period_end_year, "pdf");
    let stem = download::ascii_file_name(base.trim_end_matches(".pdf"));
    let stem = if r.version > 1 { format!("{stem}-v{}", r.version) } else { stem };
    let mut name = format!("pdf/{stem}.pdf");
    if taken.contains(&name) {
        name = format!("pdf/{stem}-{}.pdf", r.id);
    }
    taken.insert(name.clone());
    name
}
