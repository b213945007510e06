//! HTTP outcomes. Every failure leaves as `{"error": {"code", "message", ...}}` with its status:
//! 400 malformed request, 401 no or bad token, 403 not allowed, 404 unknown resource, 409
//! conflict, 413 too large, 415 wrong content type, 422 invalid content, 429 rate limited (see
//! [`super::ratelimit`]; a caller's previews, see [`crate::workflow::admission`]), 503 store
//! unavailable or too many renderings at once (`render_busy`); both with `Retry-After`.
//! A 500 logs its whole cause and tells the client only that something failed on our side.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::Invalid;
use crate::domain::auth::Denied;
use crate::error::DbError;
use crate::error::Error;
use crate::render::{Finding, RenderError};
use crate::storage::StorageError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Extra members of the error object (`field`, `problems`).
    extra: Option<Value>,
    /// Seconds for `Retry-After` (429, 503).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), extra: None, retry_after: None }
    }

    /// 413 `payload_too_large`, naming the route's limit when it is known.
    pub fn too_large(limit: Option<super::BodyLimit>) -> Self {
        let message = match limit {
            Some(super::BodyLimit(bytes)) if bytes % (1 << 20) == 0 => {
                format!("the request body exceeds this route's limit of {} MiB", bytes >> 20)
            }
            Some(super::BodyLimit(bytes)) => format!("the request body exceeds this route's limit of {bytes} bytes"),
            None => "the request body exceeds the size limit".to_owned(),
        };
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422 `invalid` naming the input `field` (a query or path parameter, a JSON member).
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("{field}: {}", message.into());
        Self {
            extra: Some(json!({ "field": field })),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Blocking work that panicked or was cancelled.
    pub fn interrupted(cause: &dyn std::error::Error) -> Self {
        Self::internal(cause)
    }

    fn internal(cause: &dyn std::error::Error) -> Self {
        let chain: Vec<String> = std::iter::successors(Some(cause), |e| e.source()).map(ToString::to_string).collect();
        tracing::error!(error.chain = %chain.join(": "), "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side; it has been logged")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(Value::Object(extra)), Some(obj)) = (self.extra, error.as_object_mut()) {
            obj.extend(extra);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A response body that could not be written (a CSV sheet in memory): logged, 500.
impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        Self::interrupted(&e)
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self {
            extra: Some(json!({ "field": e.field })),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
        }
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Unauthenticated => {
                Self::unauthenticated("this needs a bearer token (Authorization: Bearer mmr_...)")
            }
            Denied::Forbidden => Self::new(StatusCode::FORBIDDEN, "forbidden", "this token does not allow that"),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(invalid) => invalid.into(),
            Error::InvalidMany { summary, problems } => Self {
                extra: Some(json!({ "problems": problems })),
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", summary)
            },
            Error::NotFound { .. } => Self::not_found(e.to_string()),
            Error::NoSourceBundle { .. } => Self::new(StatusCode::NOT_FOUND, "no_source_bundle", e.to_string()),
            Error::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            Error::Denied(d) => d.into(),
            Error::CheckFailed { summary, findings } => {
                let findings: Vec<FindingView> = findings.iter().map(FindingView::from).collect();
                Self {
                    extra: Some(json!({ "findings": findings })),
                    ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "check_failed", summary)
                }
            }
            Error::Busy { retry_after_secs, message } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "render_busy", message)
            },
            Error::RateLimited { retry_after_secs, message } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
            Error::TooLarge(message) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message),
            Error::Render(e) => match e {
                RenderError::InputTooLarge { .. }
                | RenderError::NestingTooDeep { .. }
                | RenderError::TableTooLarge { .. }
                | RenderError::TooMuchContent { .. }
                | RenderError::ImageTooLarge { .. }
                | RenderError::BadImage { .. }
                | RenderError::TooManyPages { .. } => {
                    Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unrenderable", e.to_string())
                }
                other => Self::internal(&other),
            },
            Error::Storage(
                e @ (StorageError::Missing { .. } | StorageError::Corrupt { .. } | StorageError::Damaged { .. }),
            ) => {
                tracing::error!(error = %e, "an archived file is missing or damaged");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "archive_damaged",
                    "the archived file is missing or does not match its SHA-256, so it is not served",
                )
            }
            Error::Storage(e) => Self::internal(&e),
            Error::Bundle(e) => Self::internal(&e),
            Error::Db(db) => db.into(),
        }
    }
}

/// One finding of the template check, as clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingView {
    /// `error` (the report cannot be submitted) or `warning`.
    #[schema(example = "error")]
    severity: &'static str,
    /// A stable code, e.g. `missing_section`.
    #[schema(example = "missing_section")]
    code: &'static str,
    message: String,
    /// `report`, `action_plan` or `attachment`.
    #[schema(example = "report")]
    source: &'static str,
    /// The line (from 1) in the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<String>,
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        Self {
            severity: f.severity.as_str(),
            code: f.code,
            message: f.message.clone(),
            source: f.source.as_str(),
            line: f.line,
            attachment: f.attachment.clone(),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::not_found("no such resource"),
            DbError::Conflict(what) => {
                Self::new(StatusCode::CONFLICT, "conflict", format!("this conflicts with an existing record ({what})"))
            }
            DbError::Unavailable(_) => {
                // The outage itself is logged once by `db` (its start and its end).
                tracing::debug!(error = %e, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; try again shortly",
                )
            }
            other => Self::internal(&other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let message = r.body_text();
        match r {
            JsonRejection::JsonDataError(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
            JsonRejection::JsonSyntaxError(_) => Self::new(StatusCode::BAD_REQUEST, "malformed_json", message),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a body with Content-Type: application/json",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::too_large(None),
            other => Self::new(other.status(), "bad_request", message),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(r.body_text())
    }
}
