//! Request extractors: the caller's identity from the bearer token, and JSON bodies, query
//! strings and path parameters whose rejections speak our error format.
//!
//! These are also where text from outside is held to the control-character rule
//! ([`crate::domain::forbidden_control`]): a query or path parameter (single-line) with any C0
//! control character, or a JSON string value with one other than TAB, LF or CR, is refused with
//! 422 naming the parameter or the JSON member, before any handler or store sees it. (Multipart
//! report parts are checked in `upload`, OAI-PMH arguments in `oai`, with the same rule.)

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::AppState;
use super::client::ClientAddr;
use super::error::ApiError;
use crate::domain::auth::{Action, Denied, Principal, authorize};
use crate::workflow::Actor;

/// Who is calling: `principal` is `None` for the public. A malformed, unknown or revoked token is
/// refused with 401 even on public routes, so a client never silently runs as anonymous (the
/// lookup and its accounting are `authn`'s).
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
        let principal = super::authn::principal(parts, state).await?;
        Ok(Self { principal, request_id, client })
    }
}

/// `axum::Json` with our error format for bad bodies, and the control-character rule applied to
/// every string value (multi-line: TAB, LF and CR pass).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let limit = parts.extensions.get::<super::BodyLimit>().copied();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(limit)
            } else {
                ApiError::new(r.status(), "bad_request", r.body_text())
            }
        })?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
        let value = axum::Json::<T>::from_request(req, state).await.map(|axum::Json(v)| v).map_err(ApiError::from)?;
        // A control character can only be in a string written as an escape (`\u0000`, `\b`,
        // `\f`; raw ones are a syntax error): walk the document only when one may be there.
        if may_escape_control(&bytes)
            && let Ok(document) = serde_json::from_slice::<Value>(&bytes)
            && let Some((member, c)) = control_in_json(&document, "")
        {
            return Err(ApiError::invalid_field(member, crate::domain::control_message(c)));
        }
        Ok(Self(value))
    }
}

/// Whether a JSON text has an escape that may stand for a forbidden control character.
fn may_escape_control(json: &[u8]) -> bool {
    json.windows(2).any(|w| w[0] == b'\\' && matches!(w[1], b'u' | b'b' | b'f'))
}

/// The first string (member names included) holding a forbidden control character: the path of
/// the member (`attachments[0].name`) and the character.
fn control_in_json(value: &Value, at: &str) -> Option<(String, char)> {
    let bad = |text: &str| crate::domain::forbidden_control(text.as_bytes(), true);
    match value {
        Value::String(text) => bad(text).map(|c| (at.to_owned(), c)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| control_in_json(v, &format!("{at}[{i}]"))),
        Value::Object(members) => members.iter().find_map(|(name, v)| {
            let path = if at.is_empty() { name.clone() } else { format!("{at}.{name}") };
            match bad(name) {
                Some(c) => Some((path, c)),
                None => control_in_json(v, &path),
            }
        }),
        _ => None,
    }
}

/// `axum::extract::Query` with our error format for bad query strings, and the control-character
/// rule (single-line: none at all) applied to every name and value.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default().as_bytes();
        for (name, value) in url::form_urlencoded::parse(query) {
            let bad = crate::domain::forbidden_control(name.as_bytes(), false)
                .or_else(|| crate::domain::forbidden_control(value.as_bytes(), false));
            if let Some(c) = bad {
                return Err(ApiError::invalid_field(name.into_owned(), crate::domain::control_message(c)));
            }
        }
        Query::<T>::from_request_parts(parts, state).await.map(|Query(v)| Self(v)).map_err(ApiError::from)
    }
}

/// `axum::extract::Path` with our error format: a parameter that does not parse (`/archive/abc`)
/// is 400 naming it; one with a control character is 422 naming it.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // The values are percent-decoded already: what the handler would get.
        let params: Vec<(String, String)> = match RawPathParams::from_request_parts(parts, state).await {
            Ok(raw) => raw.iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect(),
            Err(_) => Vec::new(),
        };
        for (name, value) in &params {
            if let Some(c) = crate::domain::forbidden_control(value.as_bytes(), false) {
                return Err(ApiError::invalid_field(name.clone(), crate::domain::control_message(c)));
            }
        }
        Path::<T>::from_request_parts(parts, state).await.map(|Path(v)| Self(v)).map_err(|r| path_rejection(r, &params))
    }
}

/// 400 naming the path parameter that does not parse, e.g. "the path parameter `id` must be an
/// i64, not `abc`".
fn path_rejection(r: PathRejection, params: &[(String, String)]) -> ApiError {
    if let PathRejection::FailedToDeserializePathParams(e) = &r {
        let named = match e.kind() {
            ErrorKind::ParseErrorAtKey { key, value, expected_type } => Some((key.as_str(), value, *expected_type)),
            ErrorKind::ParseErrorAtIndex { index, value, expected_type } => {
                params.get(*index).map(|(key, _)| (key.as_str(), value, *expected_type))
            }
            ErrorKind::ParseError { value, expected_type } => {
                params.iter().find(|(_, v)| v == value).map(|(key, _)| (key.as_str(), value, *expected_type))
            }
            _ => None,
        };
        if let Some((key, value, expected)) = named {
            return ApiError::bad_request(format!("the path parameter `{key}` must be an {expected}, not `{value}`"));
        }
    }
    ApiError::new(r.status(), "bad_request", r.body_text())
}
