//! Request extractors: the caller's identity from the bearer token, and JSON bodies and query
//! strings whose rejections speak our error format.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::client::ClientAddr;
use super::error::ApiError;
use crate::domain::auth::{Action, Denied, Principal, authorize};
use crate::workflow::{self, Actor};

/// Who is calling: `principal` is `None` for the public. A malformed, unknown or revoked token is
/// refused with 401 even on public routes, so a client never silently runs as anonymous.
pub struct Auth {
    pub principal: Option<Principal>,
    pub request_id: Option<String>,
    /// The client's address (see `client`'s module doc), recorded with every change it makes.
    pub client: ClientAddr,
}

impl Auth {
    /// Checks the permission table for `action`.
    pub fn require(&self, action: Action<'_>) -> Result<(), ApiError> {
        authorize(self.principal.as_ref(), action).map_err(ApiError::from)
    }

    /// The caller, who must be signed in (before looking anything up for them).
    pub fn signed_in(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or_else(|| Denied::Unauthenticated.into())
    }

    /// The audit actor for a change made by this (signed-in) caller.
    pub fn actor(&self) -> Result<Actor, ApiError> {
        let client = self.client.0.map(|ip| ip.to_string());
        Ok(Actor::from_principal(self.signed_in()?, self.request_id.clone(), client))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let request_id = parts.headers.get(super::REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let client = parts.extensions.get::<ClientAddr>().copied().unwrap_or_default();
        let Some(secret) = bearer(&parts.headers)? else {
            return Ok(Self { principal: None, request_id, client });
        };
        let now = state.now();
        let principal = state.db.run(move |conn| workflow::tokens::authenticate(conn, &secret, now)).await?;
        match principal {
            Some(principal) => {
                tracing::Span::current().record("token.id", principal.token_id);
                Ok(Self { principal: Some(principal), request_id, client })
            }
            None => Err(ApiError::unauthenticated("the bearer token is unknown or revoked")),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || ApiError::unauthenticated("the Authorization header must be `Bearer <token>`");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, secret) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
        return Err(malformed());
    }
    Ok(Some(secret.trim().to_owned()))
}

/// `axum::Json` with our error format for bad bodies.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state).await.map(|axum::Json(v)| Self(v)).map_err(ApiError::from)
    }
}

/// `axum::extract::Query` with our error format for bad query strings.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state).await.map(|Query(v)| Self(v)).map_err(ApiError::from)
    }
}
