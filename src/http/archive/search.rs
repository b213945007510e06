//! Searching the published archive: `GET /api/v1/archive`, answered from the in-memory index.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::extract::{ApiQuery, Auth};
use super::super::{ApiError, AppState, ListView};
use super::SummaryView;
use crate::domain::Page;
use crate::workflow;
use crate::workflow::catalog::{FacetCount, SearchParams};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Serialize, ToSchema)]
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

#[derive(Serialize, ToSchema)]
struct FacetsView {
    field: Vec<FacetView>,
    country: Vec<FacetView>,
    region: Vec<FacetView>,
    year: Vec<FacetView>,
}

/// A page of search results with the facets of the whole search.
/// A page of the search's results, with the facets of the whole search.
#[derive(Serialize, ToSchema)]
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
/// Searches the published reports (see the parameters); best match first with `q`, otherwise
/// newest first; public.
#[utoipa::path(get, path = "/archive", tag = "archive", params(SearchParams), security((), ("bearer" = [])),
    responses((status = 200, description = "A page of reports and the facets", body = SearchView)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let page = query.page()?;
    let filter = query.filter()?;
    let now = state.now();
    let (index, checked, caller) = (state.catalog.clone(), filter.clone(), auth.principal);
    let catalog =
        state.db.run(move |conn| workflow::catalog::searchable(&index, conn, caller.as_ref(), &checked)).await?;
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
