//! The metadata of a selection of published entries, whole (not paged): CSV and JSON.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::extract::{ApiQuery, Auth};
use super::super::{ApiError, AppState};
use super::{SummaryView, unpaged};
use crate::workflow;
use crate::workflow::catalog::{EXPORT_LIMIT, Record, SearchParams};
use crate::workflow::spreadsheet::Sheet;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_csv)).routes(routes!(export_json))
}

/// Every selected report's metadata.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ExportView<'a> {
    items: Vec<SummaryView<'a>>,
    total: usize,
}

/// The entries an export covers: the search's filters, no pages, at most [`EXPORT_LIMIT`].
async fn exported(state: &AppState, auth: &Auth, query: &SearchParams) -> Result<Vec<Arc<Record>>, ApiError> {
    let filter = unpaged(query, &format!("up to {EXPORT_LIMIT} entries"))?;
    let now = state.now();
    let (index, caller) = (state.catalog.clone(), auth.principal.clone());
    Ok(state
        .db
        .run(move |conn| workflow::catalog::export(&index, conn, caller.as_ref(), now, &filter, EXPORT_LIMIT))
        .await?)
}

/// The metadata of every published entry the filters select, as JSON:
/// `{"items": [...], "total": N}`; public.
/// The metadata of every published report the filters select (not paged; 413 beyond 10,000).
#[utoipa::path(get, path = "/archive/export.json", tag = "archive", params(SearchParams), security((), ("bearer" = [])),
    responses((status = 200, description = "Every selected report", body = ExportView),
        (status = 413, description = "More reports than one export holds", body = super::super::openapi::ErrorBody)))]
async fn export_json(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let records = exported(&state, &auth, &query).await?;
    let items: Vec<SummaryView> = records.iter().map(|r| SummaryView::new(r, &state)).collect();
    let total = items.len();
    let mut response = Json(ExportView { items, total }).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"mmr-archive.json\""));
    Ok(response)
}

/// The columns of the CSV export, in order.
const CSV_COLUMNS: [&str; 31] = [
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
    "page_url",
];

/// The metadata of every published entry the filters select, as CSV (UTF-8, a header row, one
/// row per entry, empty cells for absent values); public. `url` is the entry in this API,
/// `page_url` its page for people.
/// The same as CSV, one report a line.
#[utoipa::path(get, path = "/archive/export.csv", tag = "archive", params(SearchParams), security((), ("bearer" = [])),
    responses((status = 200, description = "Every selected report", content_type = "text/csv", body = String),
        (status = 413, description = "More reports than one export holds", body = super::super::openapi::ErrorBody)))]
async fn export_csv(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let records = exported(&state, &auth, &query).await?;
    let mut out = Sheet::new(&CSV_COLUMNS)?;
    for r in &records {
        let v = SummaryView::new(r, &state);
        let row: [String; 31] = [
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
            v.source_bundle.as_ref().map(|b| b.url.clone()).unwrap_or_default(),
            v.source_bundle.as_ref().map(|b| b.sha256.clone().into_owned()).unwrap_or_default(),
            v.source_bundle.as_ref().map(|b| b.bytes.to_string()).unwrap_or_default(),
            v.source_sha256.to_owned(),
            v.renderer_version.to_owned(),
            v.template_version.to_owned(),
            v.last_fixity_at.unwrap_or_default(),
            v.last_fixity_ok.map(|ok| ok.to_string()).unwrap_or_default(),
            v.page_url,
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
