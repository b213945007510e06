//! The archive of accepted reports over the JSON API: an entry's metadata, files, verification
//! and publication date ([`entry`]), search with facets ([`search`]), metadata exports
//! ([`export`]) and bulk downloads ([`bulk`]).
//!
//! The rules are `workflow`'s: which entries a caller may see and which files it may read
//! ([`workflow::reading`]), what a search selects ([`workflow::catalog`]). This module parses
//! requests and writes the JSON views; the views shared by the search, the exports and the bulk
//! manifest are here.

mod bulk;
mod entry;
mod export;
mod search;

use std::borrow::Cow;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiError, AppState, rfc3339};
use crate::domain::Invalid;
use crate::domain::regions::Region;
use crate::workflow::catalog::{Filter, Record, SearchParams, page_url};

pub fn router() -> OpenApiRouter<AppState> {
    // The exports' static paths win over `{id}` whatever the order (static segments match first).
    OpenApiRouter::new().merge(search::router()).merge(export::router()).merge(bulk::router()).merge(entry::router())
}

#[derive(Serialize, ToSchema)]
struct FileView<'a> {
    #[schema(value_type = String, pattern = "^[0-9a-f]{64}$")]
    sha256: Cow<'a, str>,
    bytes: i64,
    url: String,
}

/// The absolute public address of entry `id` in the API.
fn entry_url(state: &AppState, id: i64) -> String {
    format!("{}/api/v1/archive/{id}", state.public_url)
}

/// The filter of an export or a bulk download, which are not paged: `page` and `per_page` are
/// refused, naming `bound`, how much one holds.
pub(super) fn unpaged(query: &SearchParams, bound: &str) -> Result<Filter, ApiError> {
    if query.page.is_some() || query.per_page.is_some() {
        let param = if query.page.is_some() { "page" } else { "per_page" };
        return Err(Invalid::new(param, format!("this list is not paged: it holds {bound}")).into());
    }
    Ok(query.filter()?)
}

#[derive(Serialize, ToSchema)]
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
/// A published report in a list.
#[derive(Serialize, ToSchema)]
struct SummaryView<'a> {
    id: i64,
    persistent_id: String,
    doi: Option<String>,
    url: String,
    /// The report's page for people.
    page_url: String,
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
    /// `null` for a received document (a past report archived as the city sent it).
    source_bundle: Option<FileView<'a>>,
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
            page_url: page_url(&state.public_url, r.id),
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
            source_bundle: r.bundle_sha256.as_deref().zip(r.bundle_bytes).map(|(sha256, bytes)| FileView {
                sha256: Cow::Borrowed(sha256),
                bytes,
                url: format!("{url}/source.zip"),
            }),
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
