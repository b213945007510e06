//! A city's focal points: the Secretariat writes them; the city itself and the Secretariat read
//! them (e-mail addresses are personal data, so coordinators and the public do not).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cities::path_slug;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::openapi::ErrorBody;
use super::{ApiError, AppState, ListView, PageQuery, double_option};
use crate::domain::auth::{Action, CityRef};
use crate::domain::contacts::{Contact, ContactPatch, NewContact};
use crate::workflow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(update, delete))
}

#[derive(Serialize, ToSchema)]
struct ContactView {
    id: i64,
    name: String,
    email: String,
    role: Option<String>,
    phone: Option<String>,
    primary: bool,
}

impl From<Contact> for ContactView {
    fn from(c: Contact) -> Self {
        Self { id: c.id, name: c.name, email: c.email, role: c.role, phone: c.phone, primary: c.is_primary }
    }
}

/// A city's contacts, the primary first (the city itself and the Secretariat).
#[utoipa::path(get, path = "/cities/{slug}/contacts", tag = "registry", params(("slug" = String, Path, description = "The city's slug", example = "krakow"), PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of contacts", body = ListView<ContactView>)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListView<ContactView>>, ApiError> {
    auth.signed_in()?;
    let slug = path_slug(&slug)?;
    let principal = auth.principal.clone();
    let contacts = state
        .db
        .run(move |conn| {
            let city = workflow::cities::get(conn, slug.as_str())?;
            crate::domain::auth::authorize(
                principal.as_ref(),
                Action::ReadContacts(CityRef { id: city.id, field: &city.field }),
            )?;
            workflow::contacts::list(conn, &city)
        })
        .await?;
    Ok(Json(ListView::of(contacts, &page, ContactView::from)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewContactBody {
    #[schema(example = "Ana Sousa")]
    name: String,
    #[schema(format = Email, example = "ana.sousa@cm-braga.pt")]
    email: String,
    role: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    primary: bool,
}

/// Adds a contact (Secretariat); `primary: true` demotes the previous primary.
#[utoipa::path(post, path = "/cities/{slug}/contacts", tag = "registry", params(("slug" = String, Path, description = "The city's slug", example = "krakow")), request_body = NewContactBody,
    security(("bearer" = [])), responses((status = 201, description = "Added", body = ContactView),
        (status = 409, description = "The address is already a contact of the city", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewContactBody>,
) -> Result<(StatusCode, Json<ContactView>), ApiError> {
    auth.require(Action::EditRegistry)?;
    let slug = path_slug(&slug)?;
    let new = NewContact::parse(&body.name, &body.email, body.role.as_deref(), body.phone.as_deref(), body.primary)?;
    let (actor, now) = (auth.actor()?, state.now());
    let contact = state
        .db
        .run(move |conn| {
            let city = workflow::cities::get(conn, slug.as_str())?;
            workflow::contacts::create(conn, &actor, &city, &new, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(contact.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactPatchBody {
    name: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    role: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    phone: Option<Option<String>>,
    primary: Option<bool>,
}

impl ContactPatchBody {
    fn parse(&self) -> Result<ContactPatch, crate::domain::Invalid> {
        ContactPatch::parse(
            self.name.as_deref(),
            self.email.as_deref(),
            self.role.as_ref().map(Option::as_deref),
            self.phone.as_ref().map(Option::as_deref),
            self.primary,
        )
    }
}

/// Changes a contact (Secretariat); `null` clears the role or phone.
#[utoipa::path(patch, path = "/cities/{slug}/contacts/{id}", tag = "registry", params(("slug" = String, Path, description = "The city's slug", example = "krakow"), ("id" = i64, Path, description = "The contact's id")), request_body = ContactPatchBody,
    security(("bearer" = [])), responses((status = 200, description = "The contact as it now is", body = ContactView),
        (status = 409, description = "The address is already a contact of the city", body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<ContactPatchBody>,
) -> Result<Json<ContactView>, ApiError> {
    auth.require(Action::EditRegistry)?;
    let slug = path_slug(&slug)?;
    let patch = body.parse()?;
    let (actor, now) = (auth.actor()?, state.now());
    let contact = state
        .db
        .run(move |conn| {
            let city = workflow::cities::get(conn, slug.as_str())?;
            workflow::contacts::update(conn, &actor, &city, id, &patch, now)
        })
        .await?;
    Ok(Json(contact.into()))
}

/// Removes a contact (Secretariat).
#[utoipa::path(delete, path = "/cities/{slug}/contacts/{id}", tag = "registry", params(("slug" = String, Path, description = "The city's slug", example = "krakow"), ("id" = i64, Path, description = "The contact's id")), security(("bearer" = [])),
    responses((status = 204, description = "Removed")))]
async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    auth.require(Action::EditRegistry)?;
    let slug = path_slug(&slug)?;
    let (actor, now) = (auth.actor()?, state.now());
    state
        .db
        .run(move |conn| {
            let city = workflow::cities::get(conn, slug.as_str())?;
            workflow::contacts::delete(conn, &actor, &city, id, now)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
