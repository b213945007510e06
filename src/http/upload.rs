//! Report bodies (DESIGN.md §5): JSON `{"report_markdown", "action_plan_markdown", "attachments":
//! [{"name", "content_base64"}]}`, or `multipart/form-data` with parts `report` and `action_plan`
//! (text/markdown) and any number of `attachment` parts carrying file names. An empty body means
//! "no upload" (a submit then takes the saved draft).
//!
//! Multipart text stays raw bytes so the template check can report text that is not UTF-8 with
//! its line, but a control character other than TAB, LF and CR is refused here (422 naming the
//! part), as in every text input (see `extract`). Every rejection names the part; the body limit
//! answers 413.

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use base64::Engine;
use serde::Deserialize;

use super::BodyLimit;
use super::error::ApiError;
use super::extract::ApiJson;
use crate::workflow::submissions::{Upload, UploadedFile};

/// A report upload, or `None` for an empty body or an empty JSON object (`{}`, what many clients
/// send for "no body").
pub struct ReportUpload(pub Option<Upload>);

/// A report as JSON. `{}` is no report (a submission then takes the saved draft).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonUpload {
    /// The Membership Monitoring Report, in Markdown following the template.
    #[schema(example = "# Membership Monitoring Report\n\n## 1. Executive Summary\n\n...")]
    report_markdown: Option<String>,
    /// The action plan for the next four years, in Markdown.
    #[schema(example = "# Action Plan\n\n## 1. Objectives\n\n...")]
    action_plan_markdown: Option<String>,
    /// The images the Markdown refers to by name.
    attachments: Option<Vec<JsonAttachment>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct JsonAttachment {
    /// The file name the Markdown refers to (`![…](festival.jpg)`).
    #[schema(example = "festival.jpg")]
    name: String,
    /// The file, in base64 (PNG or JPEG).
    #[schema(content_encoding = "base64")]
    content_base64: String,
}

/// A report as `multipart/form-data`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "the multipart form's description: `from_multipart` reads its parts")]
pub(super) struct MultipartUpload {
    /// The report (text/markdown).
    #[schema(content_media_type = "text/markdown")]
    report: String,
    /// The action plan (text/markdown).
    #[schema(content_media_type = "text/markdown")]
    action_plan: Option<String>,
    /// An image per part, each with its file name.
    #[schema(content_media_type = "application/octet-stream")]
    attachment: Option<Vec<String>>,
}

impl<S: Send + Sync> FromRequest<S> for ReportUpload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let empty = match req.headers().get(header::CONTENT_LENGTH) {
            Some(length) => length.as_bytes() == b"0",
            None => !req.headers().contains_key(header::TRANSFER_ENCODING),
        };
        match mime.as_str() {
            "" if empty => Ok(Self(None)),
            "application/json" => {
                let ApiJson(body) = ApiJson::<JsonUpload>::from_request(req, state).await?;
                Ok(Self(from_json(body)?))
            }
            "multipart/form-data" => {
                let limit = req.extensions().get::<BodyLimit>().copied();
                let multipart = Multipart::from_request(req, state).await.map_err(rejection)?;
                Ok(Self(Some(from_multipart(multipart, limit).await?)))
            }
            other => {
                Err(unsupported(&format!("a report is sent as application/json or multipart/form-data, not `{other}`")))
            }
        }
    }
}

fn unsupported(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

fn from_json(body: JsonUpload) -> Result<Option<Upload>, ApiError> {
    let Some(report_markdown) = body.report_markdown else {
        if body.action_plan_markdown.is_some() || body.attachments.is_some() {
            return Err(invalid("report_markdown is required with action_plan_markdown or attachments".into()));
        }
        return Ok(None);
    };
    let attachments = body
        .attachments
        .map(|list| {
            list.into_iter()
                .map(|a| {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(a.content_base64.trim())
                        .map_err(|e| invalid(format!("attachment `{}`: content_base64 is not base64 ({e})", a.name)))?;
                    Ok(UploadedFile { name: a.name, bytes })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .transpose()?;
    Ok(Some(Upload {
        report_markdown: report_markdown.into_bytes(),
        action_plan_markdown: body.action_plan_markdown.map(String::into_bytes),
        attachments,
    }))
}

async fn from_multipart(mut multipart: Multipart, limit: Option<BodyLimit>) -> Result<Upload, ApiError> {
    let part_error = |e| multipart_error(e, limit);
    let mut report = None;
    let mut plan = None;
    let mut attachments = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(part_error)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "report" | "action_plan" => {
                let bytes = text_part(&name, field, limit).await?;
                let slot = if name == "report" { &mut report } else { &mut plan };
                if slot.replace(bytes).is_some() {
                    return Err(invalid(format!("the part `{name}` appears twice")));
                }
            }
            "attachment" => {
                let file_name = field
                    .file_name()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid("an `attachment` part needs a file name (filename=...)".into()))?;
                let declared = field.content_type().map(str::to_ascii_lowercase);
                if let Some(declared) = declared.as_deref()
                    && !matches!(declared, "image/png" | "image/jpeg" | "application/octet-stream")
                {
                    return Err(unsupported(&format!(
                        "attachment `{file_name}` is declared `{declared}`; attachments are image/png or image/jpeg"
                    )));
                }
                let bytes = field.bytes().await.map_err(part_error)?.to_vec();
                attachments.push(UploadedFile { name: file_name, bytes });
            }
            "" => return Err(invalid("a multipart part has no name".into())),
            other => {
                return Err(invalid(format!("unknown part `{other}` (expected report, action_plan, attachment)")));
            }
        }
    }
    let report_markdown = report.ok_or_else(|| invalid("the multipart body has no `report` part".into()))?;
    Ok(Upload { report_markdown, action_plan_markdown: plan, attachments: Some(attachments) })
}

async fn text_part(name: &str, field: Field<'_>, limit: Option<BodyLimit>) -> Result<Vec<u8>, ApiError> {
    if let Some(declared) = field.content_type() {
        let mime = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !matches!(mime.as_str(), "text/markdown" | "text/x-markdown" | "text/plain") {
            return Err(unsupported(&format!("the part `{name}` is declared `{declared}`; expected text/markdown")));
        }
    }
    let bytes = field.bytes().await.map_err(|e| multipart_error(e, limit))?.to_vec();
    // The control-character rule of every text input (see `extract`): multi-line text.
    match crate::domain::forbidden_control(&bytes, true) {
        Some(c) => Err(ApiError::invalid_field(name, crate::domain::control_message(c))),
        None => Ok(bytes),
    }
}

fn rejection(r: MultipartRejection) -> ApiError {
    ApiError::new(r.status(), "bad_request", r.body_text())
}

/// A multipart body that could not be read: 413 naming the route's `limit` when it was too large.
pub(super) fn multipart_error(e: MultipartError, limit: Option<BodyLimit>) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(limit)
    } else {
        ApiError::new(e.status(), "bad_request", e.body_text())
    }
}
