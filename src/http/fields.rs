//! `GET /api/v1/fields`: the creative fields, public.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiQuery, Auth};
use super::{ApiError, AppState, ListView, PageQuery};
use crate::domain::auth::Action;
use crate::workflow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Serialize, ToSchema)]
struct FieldView {
    #[schema(example = "gastronomy")]
    slug: String,
    #[schema(example = "Gastronomy")]
    name: String,
    /// The French name (UNESCO's), `null` where none is recorded.
    name_fr: Option<String>,
    since_year: i32,
    /// Cities currently in the field.
    cities: i64,
}

/// Every creative field with its number of cities; anyone may read it.
#[utoipa::path(get, path = "/fields", tag = "registry", params(PageQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "The fields", body = ListView<FieldView>)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListView<FieldView>>, ApiError> {
    auth.require(Action::ReadRegistry)?;
    let fields = state.db.run(workflow::cities::list_fields).await?;
    let view = |(f, cities): (crate::domain::fields::CreativeField, i64)| FieldView {
        slug: f.slug,
        name: f.name,
        name_fr: f.name_fr,
        since_year: f.since_year,
        cities,
    };
    Ok(Json(ListView::of(fields, &page, view)?))
}
