//! The city registry: anyone reads it; the Secretariat registers and edits cities.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::{ApiError, AppState, ListView, PageQuery};
use crate::domain::auth::Action;
use crate::domain::cities::{
    City, CityInput, CityPatch, CityPatchInput, CitySlug, CityStatus, CountryCode, FieldPeriod, NewCity, fold,
};
use crate::domain::fields::FieldSlug;
use crate::domain::{Invalid, parse_date};
use crate::workflow;
use crate::workflow::cities::CityFilter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, update))
}

/// A city as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct CityView {
    #[schema(example = "krakow")]
    slug: String,
    #[schema(example = "Kraków")]
    name: String,
    /// Other names the city is found by.
    #[schema(example = json!(["Cracow", "Cracovie"]))]
    aliases: Vec<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "PL")]
    country: String,
    /// The creative field's slug.
    #[schema(example = "literature")]
    field: String,
    #[schema(format = Date, example = "2013-10-21")]
    designation_date: String,
    /// IANA time zone: deadlines fall at the end of the day there.
    #[schema(example = "Europe/Warsaw")]
    time_zone: String,
    /// The city's language for mail and the report skeleton: `en` or `fr`.
    #[schema(example = "en")]
    language: String,
    /// `active`, `withdrawn` or `suspended`.
    #[schema(example = "active")]
    status: String,
}

impl From<City> for CityView {
    fn from(c: City) -> Self {
        Self {
            slug: c.slug,
            name: c.name,
            aliases: c.aliases,
            country: c.country,
            field: c.field,
            designation_date: c.designation_date.to_string(),
            time_zone: c.time_zone,
            language: c.language,
            status: c.status,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct FieldPeriodView {
    field: String,
    #[schema(format = Date)]
    from: String,
    /// `null` for the current field.
    #[schema(format = Date)]
    until: Option<String>,
}

/// One city with the history of its creative fields.
#[derive(Serialize, ToSchema)]
struct CityDetailView {
    #[serde(flatten)]
    city: CityView,
    field_history: Vec<FieldPeriodView>,
}

impl CityDetailView {
    fn new(city: City, history: Vec<FieldPeriod>) -> Self {
        let field_history = history
            .into_iter()
            .map(|p| FieldPeriodView {
                field: p.field,
                from: p.from.to_string(),
                until: p.until.map(|d| d.to_string()),
            })
            .collect();
        Self { city: city.into(), field_history }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// A creative field's slug.
    #[param(example = "literature")]
    field: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[param(example = "PL")]
    country: Option<String>,
    /// `active`, `withdrawn` or `suspended`.
    status: Option<String>,
    /// Text matched against names and aliases, accents and case ignored (at most 200 characters).
    #[param(example = "krakow")]
    q: Option<String>,
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items a page (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

/// Lists cities, filtered by field, country, status and a text query on names and aliases;
/// public. An unknown field, country or status is a 422, not an empty list.
#[utoipa::path(get, path = "/cities", tag = "registry", params(ListQuery), security((), ("bearer" = [])),
    responses((status = 200, description = "A page of cities", body = ListView<CityView>)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ListView<CityView>>, ApiError> {
    auth.require(Action::ReadRegistry)?;
    let page = PageQuery { page: q.page, per_page: q.per_page }.parse()?;
    let field = q.field.as_deref().map(FieldSlug::parse).transpose()?;
    let filter = CityFilter {
        field: field.as_ref().map(|f| f.as_str().to_owned()),
        country: q.country.as_deref().map(CountryCode::parse).transpose()?.map(|c| c.as_str().to_owned()),
        status: q.status.as_deref().map(CityStatus::parse).transpose()?.map(|s| s.as_str().to_owned()),
        query: q.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(fold),
    };
    if filter.query.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(Invalid::new("q", "must be at most 200 characters").into());
    }
    let cities = state
        .db
        .run(move |conn| {
            if let Some(field) = &field {
                workflow::cities::check_field(conn, field)?;
            }
            workflow::cities::list(conn, &filter, page)
        })
        .await?;
    Ok(Json(ListView::from_page(cities, CityView::from)))
}

/// One city and its field history; public.
#[utoipa::path(get, path = "/cities/{slug}", tag = "registry", params(("slug" = String, Path, description = "The city's slug", example = "krakow")), security((), ("bearer" = [])),
    responses((status = 200, description = "The city", body = CityDetailView)))]
async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<CityDetailView>, ApiError> {
    auth.require(Action::ReadRegistry)?;
    let slug = path_slug(&slug)?;
    let (city, history) = state.db.run(move |conn| workflow::cities::field_history(conn, slug.as_str())).await?;
    Ok(Json(CityDetailView::new(city, history)))
}

/// The body of `POST /api/v1/cities`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewCityBody {
    /// Lower-case ASCII letters, digits and hyphens; permanent.
    #[schema(example = "braga")]
    slug: String,
    #[schema(example = "Braga")]
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "PT")]
    country: String,
    #[schema(example = "media_arts")]
    field: String,
    #[schema(format = Date, example = "2017-10-31")]
    designation_date: String,
    /// IANA time zone.
    #[schema(example = "Europe/Lisbon")]
    time_zone: String,
    /// `en` (the default) or `fr`.
    #[schema(example = "en")]
    language: Option<String>,
}

/// Registers a city (Secretariat). A taken slug is a 409.
#[utoipa::path(post, path = "/cities", tag = "registry", request_body = NewCityBody, security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = CityDetailView,
            headers(("Location" = String, description = "The city's address"))),
        (status = 409, description = "The slug is taken", body = super::openapi::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewCityBody>,
) -> Result<impl IntoResponse, ApiError> {
    auth.require(Action::EditRegistry)?;
    let now = state.now();
    let input = CityInput {
        slug: Some(&body.slug),
        name: &body.name,
        aliases: body.aliases.iter().map(String::as_str).collect(),
        country: &body.country,
        field: &body.field,
        designation_date: Some(parse_date("designation_date", &body.designation_date)?),
        time_zone: Some(&body.time_zone),
        language: body.language.as_deref(),
    };
    let city = NewCity::parse(&input, now.date())?;
    let actor = auth.actor()?;
    let (created, history) = state
        .db
        .run(move |conn| {
            let created = workflow::cities::create(conn, &actor, &city, now)?;
            workflow::cities::field_history(conn, &created.slug)
        })
        .await?;
    let location = format!("/api/v1/cities/{}", created.slug);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(CityDetailView::new(created, history))))
}

/// The body of `PATCH /api/v1/cities/{slug}`: any subset of the city's values except the slug.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CityPatchBody {
    name: Option<String>,
    aliases: Option<Vec<String>>,
    country: Option<String>,
    field: Option<String>,
    #[schema(format = Date)]
    designation_date: Option<String>,
    time_zone: Option<String>,
    language: Option<String>,
    /// `active`, `withdrawn` or `suspended`.
    #[schema(example = "active")]
    status: Option<String>,
}

impl CityPatchBody {
    fn parse(&self, today: chrono::NaiveDate) -> Result<CityPatch, Invalid> {
        let input = CityPatchInput {
            name: self.name.as_deref(),
            aliases: self.aliases.as_ref().map(|a| a.iter().map(String::as_str).collect()),
            country: self.country.as_deref(),
            field: self.field.as_deref(),
            designation_date: self.designation_date.as_deref(),
            time_zone: self.time_zone.as_deref(),
            language: self.language.as_deref(),
            status: self.status.as_deref(),
        };
        CityPatch::parse(&input, today)
    }
}

/// Edits a city (Secretariat). A change of field is kept in the city's field history.
#[utoipa::path(patch, path = "/cities/{slug}", tag = "registry", params(("slug" = String, Path, description = "The city's slug", example = "krakow")), request_body = CityPatchBody,
    security(("bearer" = [])), responses((status = 200, description = "The city as it now is", body = CityDetailView)))]
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<CityPatchBody>,
) -> Result<Json<CityDetailView>, ApiError> {
    auth.require(Action::EditRegistry)?;
    let slug = path_slug(&slug)?;
    let now = state.now();
    let patch = body.parse(now.date())?;
    let actor = auth.actor()?;
    let (city, history) = state
        .db
        .run(move |conn| {
            workflow::cities::update(conn, &actor, slug.as_str(), &patch, now)?;
            workflow::cities::field_history(conn, slug.as_str())
        })
        .await?;
    Ok(Json(CityDetailView::new(city, history)))
}

/// Parses a slug from a path, so a malformed one is a 404 without a database trip.
pub(super) fn path_slug(raw: &str) -> Result<CitySlug, ApiError> {
    CitySlug::parse(raw)
        .map_err(|_| ApiError::not_found(format!("city `{}` does not exist", raw.chars().take(64).collect::<String>())))
}
