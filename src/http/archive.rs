//! The archive of accepted reports: an entry's metadata, its PDF and source bundle, verification
//! by re-rendering, and the publication date.
//!
//! A published entry (publication date reached) is public. Before that only those who may read
//! the city's work see it; to everyone else it does not exist (404), so nothing unpublished leaks
//! through a status code.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::download::{self, StoredFile};
use super::extract::{ApiJson, Auth};
use super::{ApiError, AppState, blocking, double_option, rfc3339};
use crate::domain::auth::{Action, CityRef, authorize};
use crate::domain::parse_date;
use crate::error::Error;
use crate::workflow::archive::{Entry, Verification, fixity_label};
use crate::workflow::{self};

pub fn router() -> Router<AppState> {
    Router::new()
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
struct FileView {
    sha256: String,
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
    pdf: FileView,
    source_bundle: FileView,
    renderer_version: String,
    template_version: String,
    archived_at: String,
    published_at: Option<String>,
    published: bool,
    last_fixity_at: Option<String>,
    last_fixity_ok: Option<bool>,
}

impl EntryView {
    fn new(e: Entry, now: chrono::NaiveDateTime) -> Self {
        let published = e.is_published(now);
        let (d, city) = (e.document, e.cycle.record.city);
        let id = d.id;
        Self {
            id,
            submission_id: d.submission_id,
            city: CityView { slug: city.slug, name: city.name, country: city.country, field: city.field },
            cycle_number: e.cycle.record.number,
            period_start_year: e.cycle.record.period_start_year,
            period_end_year: e.cycle.record.period_end_year,
            version: e.submission.version,
            source_sha256: e.submission.bundle_sha256,
            pdf: FileView { sha256: d.pdf_sha256, bytes: d.pdf_bytes, url: format!("/api/v1/archive/{id}/pdf") },
            source_bundle: FileView {
                sha256: d.bundle_sha256,
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
        }
    }
}

/// An entry's metadata.
async fn show(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Json<EntryView>, ApiError> {
    let entry = visible(&state, &auth, id).await?;
    Ok(Json(EntryView::new(entry, state.now())))
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
    let (sha256, bytes, content_type, extension) = match which {
        ArchiveFile::Pdf => (&d.pdf_sha256, d.pdf_bytes, "application/pdf", "pdf"),
        ArchiveFile::SourceBundle => (&d.bundle_sha256, d.bundle_bytes, "application/zip", "source.zip"),
    };
    if d.last_fixity_ok == Some(false) {
        return Err(download::damaged(sha256, "the last fixity check found this entry's files damaged or missing"));
    }
    let bytes = u64::try_from(bytes).map_err(|_| download::damaged(sha256, "the recorded size is negative"))?;
    Ok(StoredFile {
        sha256: sha256.clone(),
        bytes,
        content_type,
        modified: d.archived_at,
        public: entry.is_published(now),
        file_name: file_name(entry, extension),
    })
}

/// The name a download is saved under, in Unicode: the city's name in lowercase with dashes for
/// spaces, the creative field, `mmr` and the last year of the period, e.g.
/// `östersund-gastronomy-mmr-2026.pdf` (sent with the ASCII form `ostersund-...`).
fn file_name(e: &Entry, extension: &str) -> String {
    let c = &e.cycle.record;
    let mut city = String::with_capacity(c.city.name.len());
    for ch in c.city.name.to_lowercase().chars() {
        let ch = if ch.is_alphanumeric() { ch } else { '-' };
        if !(ch == '-' && (city.is_empty() || city.ends_with('-'))) {
            city.push(ch);
        }
    }
    let city = match city.trim_end_matches('-') {
        "" => c.city.slug.as_str(),
        name => name,
    };
    format!("{city}-{}-mmr-{}.{extension}", c.city.field.replace('_', "-"), c.period_end_year)
}

/// Serves one of an entry's files to a caller who may see the entry.
async fn send_file(
    state: AppState,
    auth: Auth,
    id: i64,
    which: ArchiveFile,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let entry = visible(&state, &auth, id).await?;
    let file = stored_file(&entry, which, state.now())?;
    download::serve(state.store.clone(), &method, &headers, file).await
}

/// The archived PDF, streamed, with conditional requests and byte ranges (see [`download`]).
async fn pdf(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    send_file(state, auth, id, ArchiveFile::Pdf, method, headers).await
}

/// The source bundle: a ZIP of the Markdown, the attachments and a manifest of hashes; served like
/// the PDF, at `source.zip` and at the older `source`.
async fn source(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    send_file(state, auth, id, ArchiveFile::SourceBundle, method, headers).await
}

#[derive(Serialize)]
struct VerificationView {
    archive_id: i64,
    pdf_sha256: String,
    /// `intact`, `missing` or `changed`.
    stored_pdf: &'static str,
    stored_bundle: &'static str,
    rerendered_sha256: Option<String>,
    /// Re-rendering the stored bundle gives exactly the archived PDF.
    matches: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// Re-renders the stored bundle and says whether the bytes match the archived PDF.
async fn verify(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<VerificationView>, ApiError> {
    let entry = visible(&state, &auth, id).await?;
    let st = state.clone();
    let document = entry.document.clone();
    let v: Verification =
        blocking(move || workflow::archive::verify(&st.reporting, st.store.as_ref(), &document)).await?;
    Ok(Json(VerificationView {
        archive_id: id,
        pdf_sha256: entry.document.pdf_sha256,
        stored_pdf: fixity_label(&v.pdf),
        stored_bundle: fixity_label(&v.bundle),
        rerendered_sha256: v.rerendered_sha256,
        matches: v.matches,
        problem: v.problem,
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
    Path(id): Path<i64>,
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
    Ok(Json(EntryView::new(entry, now)))
}
