//! API tokens over HTTP (Secretariat): issue a token to a city or coordinator, list tokens
//! (never their secrets), revoke one. `mmr token create` does the same at the command line.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::{ApiError, AppState, ListView, PageQuery};
use crate::domain::auth::{Action, Role};
use crate::workflow;
use crate::workflow::tokens::TokenSpec;
use crate::workflow::tokens::TokenWithCity;

pub fn router() -> Router<AppState> {
    Router::new().route("/tokens", get(list).post(create)).route("/tokens/{id}", delete(revoke))
}

#[derive(Serialize)]
struct TokenView {
    id: i64,
    name: String,
    role: String,
    field: Option<String>,
    city: Option<String>,
    created_at: String,
    last_used_at: Option<String>,
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
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListView<TokenView>>, ApiError> {
    auth.require(Action::Administer)?;
    let tokens = state.db.run(workflow::tokens::list).await?;
    Ok(Json(ListView::of(tokens, &page, TokenView::from)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    role: String,
    field: Option<String>,
    city: Option<String>,
    name: String,
}

#[derive(Serialize)]
struct CreatedTokenView {
    id: i64,
    /// The secret, shown this once.
    token: String,
}

/// Issues a token (Secretariat). The secret is in this response only.
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
async fn revoke(State(state): State<AppState>, auth: Auth, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    auth.require(Action::Administer)?;
    let (actor, now) = (auth.actor()?, state.now());
    state.db.run(move |conn| workflow::tokens::revoke(conn, &actor, id, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}
