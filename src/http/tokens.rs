//! API tokens over HTTP (Secretariat): issue a token to a city or coordinator, list tokens
//! (never their secrets), revoke one. `mmr token create` does the same at the command line.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::{ApiError, AppState, ListView, PageQuery};
use crate::domain::auth::{Action, Role};
use crate::workflow;
use crate::workflow::tokens::TokenSpec;
use crate::workflow::tokens::TokenWithCity;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

#[derive(Serialize, ToSchema)]
struct TokenView {
    id: i64,
    name: String,
    /// `city`, `coordinator` or `secretariat`.
    role: String,
    field: Option<String>,
    city: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
}

fn timestamp(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl From<TokenWithCity> for TokenView {
    fn from((t, city): TokenWithCity) -> Self {
        Self {
            id: t.id,
            name: t.name,
            role: t.role,
            field: t.field,
            city,
            created_at: timestamp(t.created_at),
            last_used_at: t.last_used_at.map(timestamp),
            revoked_at: t.revoked_at.map(timestamp),
        }
    }
}

/// Every token, newest first, without secrets (Secretariat).
#[utoipa::path(get, path = "/tokens", tag = "administration", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of tokens", body = ListView<TokenView>)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListView<TokenView>>, ApiError> {
    auth.require(Action::Administer)?;
    let tokens = state.db.run(workflow::tokens::list).await?;
    Ok(Json(ListView::of(tokens, &page, TokenView::from)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    /// `city`, `coordinator` or `secretariat`.
    #[schema(example = "city")]
    role: String,
    /// A coordinator's field.
    field: Option<String>,
    /// A city token's city (slug).
    #[schema(example = "braga")]
    city: Option<String>,
    /// Who or what holds it, for the list and the audit log.
    #[schema(example = "Braga focal point")]
    name: String,
}

#[derive(Serialize, ToSchema)]
struct CreatedTokenView {
    id: i64,
    /// The secret, shown this once.
    token: String,
}

/// Issues a token (Secretariat). The secret is in this response only.
#[utoipa::path(post, path = "/tokens", tag = "administration", request_body = NewTokenBody, security(("bearer" = [])),
    responses((status = 201, description = "Issued; the secret is in this response only", body = CreatedTokenView)))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> Result<(StatusCode, Json<CreatedTokenView>), ApiError> {
    auth.require(Action::Administer)?;
    let spec = TokenSpec::parse(Role::parse(&body.role)?, body.field.as_deref(), body.city.as_deref(), &body.name)?;
    let (actor, now) = (auth.actor()?, state.now());
    let (id, token) = state.db.run(move |conn| workflow::tokens::create(conn, &actor, &spec, now)).await?;
    Ok((StatusCode::CREATED, Json(CreatedTokenView { id, token })))
}

/// Revokes a token at once (Secretariat).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "administration", params(("id" = i64, Path, description = "The token's id")),
    security(("bearer" = [])), responses((status = 204, description = "Revoked")))]
async fn revoke(State(state): State<AppState>, auth: Auth, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    auth.require(Action::Administer)?;
    let (actor, now) = (auth.actor()?, state.now());
    state.db.run(move |conn| workflow::tokens::revoke(conn, &actor, id, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}
