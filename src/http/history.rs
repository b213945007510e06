//! `POST /api/v1/history/import` (Secretariat): `mmr history import` over HTTP. The body is the
//! manifest alone (`text/csv`), or `multipart/form-data` with a `manifest` part (the CSV) and a
//! `file` part per PDF the manifest names, each with its file name. `?dry_run=true` checks
//! everything and writes nothing. A manifest with any bad line is 422 `invalid` with every bad
//! line in `problems`; the answer is otherwise the summary and one entry per round.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::extract::{ApiQuery, Auth};
use super::upload::multipart_error;
use super::{ApiError, AppState, blocking};
use crate::workflow;
use crate::workflow::history::{Files, HistorySummary};

/// The import takes PDFs with its manifest: up to `max_body` bytes (`MMR_MAX_BODY_BYTES`).
pub fn router(max_body: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import).layer(super::body_limit(max_body)))
}

/// The import as `multipart/form-data`.
#[derive(ToSchema)]
#[allow(dead_code, reason = "the multipart form's description: `read_body` reads its parts")]
struct ImportForm {
    /// The manifest (CSV; see README, "Past rounds").
    #[schema(content_media_type = "text/csv")]
    manifest: String,
    /// A PDF the manifest names, per part, with its file name.
    #[schema(content_media_type = "application/pdf")]
    file: Option<Vec<String>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// `true`: check everything and write nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ImportedRoundView)]
struct RoundView {
    line: u64,
    city: String,
    cycle_number: i32,
    cycle_id: Option<i64>,
    due_date: String,
    action: &'static str,
    outcome: &'static str,
    days_late: Option<i64>,
    archive_id: Option<i64>,
    text_note: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ImportSummaryView)]
struct SummaryView {
    dry_run: bool,
    imported: usize,
    unchanged: usize,
    archived: usize,
    summary: String,
    rounds: Vec<RoundView>,
}

impl From<HistorySummary> for SummaryView {
    fn from(s: HistorySummary) -> Self {
        Self {
            summary: s.line(),
            dry_run: s.dry_run,
            imported: s.imported,
            unchanged: s.unchanged,
            archived: s.archived,
            rounds: s
                .rounds
                .into_iter()
                .map(|r| RoundView {
                    line: r.line,
                    city: r.city,
                    cycle_number: r.cycle_number,
                    cycle_id: r.cycle_id,
                    due_date: r.due_date.to_string(),
                    action: r.action,
                    outcome: r.outcome,
                    days_late: r.days_late,
                    archive_id: r.archive_id,
                    text_note: r.text_note,
                })
                .collect(),
        }
    }
}

/// Imports past reporting rounds (Secretariat): all or nothing, idempotent, every bad line named.
#[utoipa::path(post, path = "/history/import", tag = "history", params(ImportQuery),
    request_body(description = "The manifest alone (CSV), or the manifest with the PDFs it names",
        content((String = "text/csv"), (ImportForm = "multipart/form-data"))),
    security(("bearer" = [])), responses((status = 200, description = "What was imported, round by round", body = SummaryView)))]
async fn import(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ImportQuery>,
    request: Request,
) -> Result<Json<SummaryView>, ApiError> {
    workflow::history::may_import(auth.principal.as_ref())?;
    let actor = auth.actor()?;
    let (manifest, files) = read_body(request, &state).await?;
    let now = state.now();
    let st = state.clone();
    let summary = blocking(move || {
        let manifest_rows = workflow::history::parse_manifest(&manifest, now.date())?;
        let request = workflow::history::ImportRequest {
            manifest: &manifest_rows,
            files: &files,
            dry_run: q.dry_run,
            pdf_budget: st.received_pdf_budget,
        };
        workflow::history::import(&st.db, st.store.as_ref(), &actor, &st.rules, &request, &workflow::Silent, now)
    })
    .await?;
    Ok(Json(summary.into()))
}

/// The manifest and the uploaded files.
async fn read_body(request: Request, state: &AppState) -> Result<(Vec<u8>, Files), ApiError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "text/csv" => {
            let limit = super::BodyLimit(state.max_body_bytes);
            let body = axum::body::to_bytes(request.into_body(), limit.0)
                .await
                .map_err(|_| ApiError::too_large(Some(limit)))?;
            Ok((body.to_vec(), Files::Uploaded(HashMap::new())))
        }
        "multipart/form-data" => {
            let limit = Some(super::BodyLimit(state.max_body_bytes));
            let part_error = |e| multipart_error(e, limit);
            let mut multipart = Multipart::from_request(request, state)
                .await
                .map_err(|r| ApiError::new(r.status(), "bad_request", r.body_text()))?;
            let mut manifest = None;
            let mut files = HashMap::new();
            while let Some(field) = multipart.next_field().await.map_err(part_error)? {
                let name = field.name().unwrap_or("").to_owned();
                match name.as_str() {
                    "manifest" => {
                        let bytes = field.bytes().await.map_err(part_error)?.to_vec();
                        if manifest.replace(bytes).is_some() {
                            return Err(invalid("the part `manifest` appears twice"));
                        }
                    }
                    "file" => {
                        let file_name = field
                            .file_name()
                            .map(str::to_owned)
                            .ok_or_else(|| invalid("a `file` part needs a file name (filename=...)"))?;
                        let bytes = field.bytes().await.map_err(part_error)?.to_vec();
                        if files.insert(file_name.clone(), bytes).is_some() {
                            return Err(invalid(&format!("two `file` parts are named `{file_name}`")));
                        }
                    }
                    other => return Err(invalid(&format!("unknown part `{other}` (expected manifest, file)"))),
                }
            }
            let manifest = manifest.ok_or_else(|| invalid("the multipart body has no `manifest` part"))?;
            Ok((manifest, Files::Uploaded(files)))
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("a manifest is sent as text/csv or multipart/form-data, not `{other}`"),
        )),
    }
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}
