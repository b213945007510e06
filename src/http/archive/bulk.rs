//! A selection of published reports as one ZIP (`GET /api/v1/archive/bulk.zip`): the PDFs with
//! a manifest, checksums and citations. The ZIP itself is streamed by `http::bulk`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::bulk;
use super::super::download;
use super::super::extract::{ApiQuery, Auth};
use super::super::{ApiError, AppState, rfc3339};
use super::{SummaryView, entry_url, unpaged};
use crate::workflow;
use crate::workflow::catalog::{Record, SearchParams};
use crate::workflow::reading;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(bulk_zip))
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
#[utoipa::path(get, path = "/archive/bulk.zip", tag = "archive", params(SearchParams), security((), ("bearer" = [])),
    responses((status = 200, description = "A ZIP of the PDFs with `manifest.json`, `SHA256SUMS` and `citations.bib`", content_type = "application/zip", body = Vec<u8>),
        (status = 413, description = "More reports or bytes than one download holds", body = super::super::openapi::ErrorBody)))]
async fn bulk_zip(
    State(state): State<AppState>,
    auth: Auth,
    uri: axum::http::Uri,
    ApiQuery(query): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let limits = state.bulk_limits;
    let filter = unpaged(&query, &format!("up to {} reports", limits.reports))?;
    let now = state.now();
    let (index, caller) = (state.catalog.clone(), auth.principal.clone());
    let records =
        state.db.run(move |conn| workflow::catalog::bulk(&index, conn, caller.as_ref(), now, &filter, limits)).await?;

    let (marked, records): (Vec<Arc<Record>>, Vec<Arc<Record>>) =
        records.into_iter().partition(|r| r.last_fixity_ok == Some(false));
    let mut damaged: Vec<(Arc<Record>, &'static str)> = marked
        .into_iter()
        .map(|r| (r, "its files were found damaged or missing (by a fixity check or a reader)"))
        .collect();
    // Every PDF is checked whole before anything is sent; one found damaged now is left out too.
    let sizes = records
        .iter()
        .map(|r| Ok((r.pdf_sha256.clone(), reading::recorded_size(&r.pdf_sha256, r.pdf_bytes)?)))
        .collect::<crate::error::Result<Vec<_>>>()?;
    let checks = bulk::check(
        state.store.clone(),
        sizes.clone(),
        reading::damage_hook(state.db.clone(), state.alarm.clone(), state.clock.clone()),
    )
    .await?;
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
    metrics::counter!("mmr_downloads_total", "kind" => "bulk_zip").increment(1);
    bulk::respond(state.store.clone(), parts, &format!("mmr-archive-{}.zip", now.date()))
}

/// A report's path in a bulk download, ASCII: `pdf/` and the name its single download is saved
/// under, with `-v<version>` after a first version and `-<id>` when that name is already `taken`.
fn bulk_member_name(r: &Record, taken: &mut std::collections::BTreeSet<String>) -> String {
    let base = reading::download_name(&r.city_name, &r.city_slug, &r.field_slug, r.period_end_year, "pdf");
    let stem = download::ascii_file_name(base.trim_end_matches(".pdf"));
    let stem = if r.version > 1 { format!("{stem}-v{}", r.version) } else { stem };
    let mut name = format!("pdf/{stem}.pdf");
    if taken.contains(&name) {
        name = format!("pdf/{stem}-{}.pdf", r.id);
    }
    taken.insert(name.clone());
    name
}
