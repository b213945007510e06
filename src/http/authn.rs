//! Authentication at the edge, for every route alike: one layer ([`check`]) that refuses a
//! presented `Authorization` header that is malformed, unknown or revoked with 401 — on `/api/v1`,
//! `/oai`, the Atom feed, the probes and unknown routes — so a client never silently runs as
//! the public; and that accounts for every failed authentication (401) and refusal (403):
//!
//! - one structured log line each (`auth.reason`: `malformed`, `unknown`, `revoked`, `missing`,
//!   `forbidden`; the request id; the token id when known; never the token);
//! - in-memory counters per reason ([`AuthFailures`], for the metrics endpoint to read);
//! - an audit record (`token.refused`) when a known token is refused (revoked, or forbidden), at
//!   most once per token and reason an hour, so a client repeating a refused request cannot flood
//!   the audit log.
//!
//! The lookup is done once per request: its outcome is kept in the request's extensions, where
//! the rate limit (which asks first) and the handlers' [`super::extract::Auth`] find it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, TimeDelta};

use super::client::ClientAddr;
use super::{ApiError, AppState, REQUEST_ID};
use crate::domain::auth::Principal;
use crate::workflow;
use crate::workflow::tokens::Authentication;

/// How often a refusal of the same token for the same reason is written to the audit log.
const AUDIT_EVERY: TimeDelta = TimeDelta::hours(1);

/// The most (token, reason) pairs remembered for the audit throttle.
const MAX_REMEMBERED: usize = 10_000;

/// Why a request failed authentication or was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The `Authorization` header is not `Bearer <token>`.
    Malformed,
    /// No token has that secret.
    Unknown,
    /// The token was revoked.
    Revoked,
    /// A route that needs a token was called without one.
    Missing,
    /// The token does not allow what was asked (403).
    Forbidden,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Missing => "missing",
            Self::Forbidden => "forbidden",
        }
    }

    const ALL: [Reason; 5] = [Self::Malformed, Self::Unknown, Self::Revoked, Self::Missing, Self::Forbidden];
}

/// Failed authentications and refusals since the server started, by reason, and when each known
/// token was last audited for one.
#[derive(Debug, Default)]
pub struct AuthFailures {
    counts: [AtomicU64; 5],
    audited: Mutex<HashMap<(i64, Reason), NaiveDateTime>>,
}

impl AuthFailures {
    /// How many requests failed for `reason`.
    pub fn count(&self, reason: Reason) -> u64 {
        self.counts[Self::index(reason)].load(Ordering::Relaxed)
    }

    /// Every reason with its count.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        Reason::ALL.iter().map(|&r| (r.as_str(), self.count(r))).collect()
    }

    fn index(reason: Reason) -> usize {
        Reason::ALL.iter().position(|&r| r == reason).unwrap_or(0)
    }

    /// Counts one failure; `true` when it should be audited (its token was not audited for this
    /// reason in the last hour).
    fn record(&self, reason: Reason, token_id: Option<i64>, now: NaiveDateTime) -> bool {
        self.counts[Self::index(reason)].fetch_add(1, Ordering::Relaxed);
        let Some(token_id) = token_id else { return false };
        let mut audited = self.audited.lock().unwrap_or_else(PoisonError::into_inner);
        if audited.get(&(token_id, reason)).is_some_and(|&at| now - at < AUDIT_EVERY && now >= at) {
            return false;
        }
        if audited.len() >= MAX_REMEMBERED {
            audited.retain(|_, at| now - *at < AUDIT_EVERY);
            if audited.len() >= MAX_REMEMBERED {
                audited.clear();
            }
        }
        audited.insert((token_id, reason), now);
        true
    }
}

/// What this request's credentials turned out to be, kept in its extensions.
#[derive(Debug, Clone)]
enum Outcome {
    Anonymous,
    Valid(Principal),
    Refused { reason: Reason, token_id: Option<i64> },
}

/// The caller of this request: `None` for the public; 401 for a malformed, unknown or revoked
/// token; 503 when the store cannot say. Looked up once per request.
pub async fn principal(parts: &mut Parts, state: &AppState) -> Result<Option<Principal>, ApiError> {
    let outcome = match parts.extensions.get::<Outcome>() {
        Some(outcome) => outcome.clone(),
        None => {
            let outcome = look_up(&parts.headers, state).await?;
            parts.extensions.insert(outcome.clone());
            outcome
        }
    };
    match outcome {
        Outcome::Anonymous => Ok(None),
        Outcome::Valid(principal) => {
            if let Some(id) = principal.token_id() {
                tracing::Span::current().record("token.id", id);
            }
            Ok(Some(principal))
        }
        Outcome::Refused { reason, .. } => Err(refusal(reason)),
    }
}

async fn look_up(headers: &HeaderMap, state: &AppState) -> Result<Outcome, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Outcome::Anonymous) };
    let Some(secret) = bearer(value) else {
        return Ok(Outcome::Refused { reason: Reason::Malformed, token_id: None });
    };
    let now = state.now();
    let found = state.db.run(move |conn| workflow::tokens::authenticate(conn, &secret, now)).await?;
    Ok(match found {
        Authentication::Valid(principal) => Outcome::Valid(principal),
        Authentication::Unknown => Outcome::Refused { reason: Reason::Unknown, token_id: None },
        Authentication::Revoked { token_id } => Outcome::Refused { reason: Reason::Revoked, token_id: Some(token_id) },
    })
}

/// The secret of `Bearer <secret>`, or `None` when the header is not that.
fn bearer(value: &axum::http::HeaderValue) -> Option<String> {
    let (scheme, secret) = value.to_str().ok()?.split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then(|| secret.to_owned())
}

fn refusal(reason: Reason) -> ApiError {
    match reason {
        Reason::Malformed => ApiError::unauthenticated("the Authorization header must be `Bearer <token>`"),
        _ => ApiError::unauthenticated("the bearer token is unknown or revoked"),
    }
}

/// The layer: refuses bad credentials on every route, and accounts for every 401 and 403.
pub(super) async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let request_id = parts.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let path = parts.uri.path().to_owned();
    let client = parts.extensions.get::<ClientAddr>().and_then(|c| c.0);
    let caller = principal(&mut parts, &state).await;
    let outcome = parts.extensions.get::<Outcome>().cloned();
    let (response, token_id) = match caller {
        Err(error) => (error.into_response(), None),
        Ok(caller) => (next.run(Request::from_parts(parts, body)).await, caller.and_then(|p| p.token_id())),
    };
    let reason = match (response.status(), &outcome) {
        (StatusCode::UNAUTHORIZED, Some(Outcome::Refused { reason, token_id })) => Some((*reason, *token_id)),
        (StatusCode::UNAUTHORIZED, _) => Some((Reason::Missing, None)),
        (StatusCode::FORBIDDEN, _) => Some((Reason::Forbidden, token_id)),
        _ => None,
    };
    if let Some((reason, token_id)) = reason {
        failed(&state, reason, token_id, request_id, client, &path).await;
    }
    response
}

/// Logs, counts and (throttled) audits one failed authentication or refusal.
async fn failed(
    state: &AppState,
    reason: Reason,
    token_id: Option<i64>,
    request_id: Option<String>,
    client: Option<std::net::IpAddr>,
    path: &str,
) {
    tracing::warn!(
        auth.reason = reason.as_str(),
        request.id = request_id.as_deref().unwrap_or("-"),
        token.id = token_id,
        path,
        "authentication failed"
    );
    let now = state.now();
    let audit = state.auth_failures.record(reason, token_id, now);
    if let Some(token_id) = token_id.filter(|_| audit) {
        let recorded = state
            .db
            .run(move |conn| {
                let client = client.map(|ip| ip.to_string());
                workflow::tokens::record_refusal(conn, token_id, reason.as_str(), request_id, client, now)
            })
            .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, token.id = token_id, "recording a refused token in the audit log failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap().and_hms_opt(3, 0, 0).unwrap()
            + TimeDelta::minutes(minutes)
    }

    #[test]
    fn every_failure_counts_and_a_token_is_audited_once_an_hour() {
        let failures = AuthFailures::default();
        assert!(!failures.record(Reason::Unknown, None, at(0)), "no token id, nothing to audit");
        assert!(failures.record(Reason::Revoked, Some(7), at(0)));
        assert!(!failures.record(Reason::Revoked, Some(7), at(59)));
        assert!(failures.record(Reason::Forbidden, Some(7), at(59)), "another reason");
        assert!(failures.record(Reason::Revoked, Some(8), at(59)), "another token");
        assert!(failures.record(Reason::Revoked, Some(7), at(60)), "an hour later");
        assert_eq!(failures.count(Reason::Revoked), 4);
        assert_eq!(failures.count(Reason::Unknown), 1);
        assert_eq!(failures.count(Reason::Missing), 0);
        assert!(failures.counts().contains(&("forbidden", 1)));
    }

    #[test]
    fn only_bearer_headers_carry_a_secret() {
        let v = |s: &'static str| axum::http::HeaderValue::from_static(s);
        assert_eq!(bearer(&v("Bearer mmr_x")).as_deref(), Some("mmr_x"));
        assert_eq!(bearer(&v("bearer  mmr_x ")).as_deref(), Some("mmr_x"));
        assert_eq!(bearer(&v("Basic eDp5")), None);
        assert_eq!(bearer(&v("Bearer ")), None);
        assert_eq!(bearer(&v("Bearer")), None);
    }
}
