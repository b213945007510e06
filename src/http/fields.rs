//! `GET /api/v1/fields`: the creative fields, public.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::extract::{ApiQuery, Auth};
use super::{ApiError, AppState, ListView, PageQuery};
use crate::domain::auth::Action;
use crate::workflow;

pub fn router() -> Router<AppState> {
    Router::new().route("/fields", get(list))
}

#[derive(Serialize)]
struct FieldView {
    slug: String,
    name: String,
    /// The French name (UNESCO's), `null` where none is recorded.
    name_fr: Option<String>,
    since_year: i32,
    /// Cities currently in the field.
    cities: i64,
}

/// Every creative field with its number of cities; anyone may read it.
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
