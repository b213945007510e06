//! Drafts, submissions and their review: a city's draft (JSON or multipart, with the template
//! check's findings), previews, submitting a version, reading versions and their PDFs, comments,
//! the Secretariat's decision, and the diff between versions.
//!
//! Permissions follow DESIGN.md §3: the city writes its own drafts and versions (the Secretariat
//! may act on its behalf); the city, its field's coordinator and the Secretariat read them; the
//! coordinator and the Secretariat comment and the city replies; only the Secretariat decides.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::error::FindingView;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::openapi::ErrorBody;
use super::upload::{JsonUpload, MultipartUpload, ReportUpload};
use super::{ApiError, AppState, ListView, PageQuery, blocking, rfc3339};
use crate::domain::auth::{Action, Principal, Scope};
use crate::domain::cycles::local_date;
use crate::domain::submissions::DecisionInput;
use crate::domain::{Invalid, parse_date};
use crate::render::Finding;
use crate::workflow;
use crate::workflow::continuity::{DraftSkeleton, PreviousPlan};
use crate::workflow::cycles::{Access, CycleOverview};
use crate::workflow::review::{Comment, DecisionRow, StoredAttachment, Submission};
use crate::workflow::review::{NewCommentInput, SectionDiff, Version, VersionDiff, VersionInCycle, VersionPdf};
use crate::workflow::submissions::DraftOverview;

/// The routes that take a report (the draft, a submission, a preview) take up to `max_body` bytes
/// (`MMR_MAX_BODY_BYTES`); comments and decisions take the small limit of every JSON request.
pub fn router(max_body: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show_draft, save_draft).layer(super::body_limit(max_body)))
        .routes(routes!(draft_pdf))
        .routes(routes!(draft_skeleton))
        .routes(routes!(list_versions, submit).layer(super::body_limit(max_body)))
        .routes(routes!(preview).layer(super::body_limit(max_body)))
        .routes(routes!(show_version))
        .routes(routes!(version_pdf))
        .routes(routes!(version_attachment))
        .routes(routes!(list_comments, add_comment))
        .routes(routes!(decide))
        .routes(routes!(diff))
}

#[derive(Serialize, ToSchema)]
struct AttachmentView {
    name: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
}

impl From<StoredAttachment> for AttachmentView {
    fn from(a: StoredAttachment) -> Self {
        Self { name: a.name, content_type: a.content_type, size_bytes: a.size_bytes, sha256: a.sha256 }
    }
}

/// The template check's verdict.
#[derive(Serialize, ToSchema)]
struct CheckView {
    /// No errors: the report can be submitted.
    ok: bool,
    errors: usize,
    warnings: usize,
    findings: Vec<FindingView>,
}

impl From<&[Finding]> for CheckView {
    fn from(findings: &[Finding]) -> Self {
        let errors = findings.iter().filter(|f| f.is_error()).count();
        Self {
            ok: errors == 0,
            errors,
            warnings: findings.len() - errors,
            findings: findings.iter().map(FindingView::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct DraftView {
    cycle_id: i64,
    report_markdown: String,
    action_plan_markdown: String,
    updated_by: String,
    updated_at: String,
    attachments: Vec<AttachmentView>,
    check: CheckView,
}

impl DraftView {
    fn new(cycle_id: i64, d: DraftOverview) -> Self {
        Self {
            cycle_id,
            check: CheckView::from(d.findings.as_slice()),
            report_markdown: d.draft.report_markdown,
            action_plan_markdown: d.draft.action_plan_markdown,
            updated_by: d.draft.updated_by,
            updated_at: rfc3339(d.draft.updated_at.and_utc()),
            attachments: d.attachments.into_iter().map(AttachmentView::from).collect(),
        }
    }
}

/// Loads a cycle once the caller may read (or, with `write`, write) its city's work
/// ([`workflow::cycles::for_caller`]).
fn cycle_for(
    conn: &mut workflow::Conn<'_>,
    state: &AppState,
    principal: &Principal,
    id: i64,
    write: bool,
    now: NaiveDateTime,
) -> crate::error::Result<CycleOverview> {
    let access = if write { Access::Write } else { Access::Read };
    workflow::cycles::for_caller(conn, &state.rules, principal, id, access, now)
}

/// The cycle's draft with the check's findings.
#[utoipa::path(get, path = "/cycles/{id}/draft", tag = "reports", params(("id" = i64, Path, description = "The cycle's id")), security(("bearer" = [])),
    responses((status = 200, description = "The draft and its check", body = DraftView)))]
async fn show_draft(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DraftView>, ApiError> {
    let principal = auth.signed_in()?.clone();
    let now = state.now();
    let st = state.clone();
    let draft = state
        .db
        .run(move |conn| {
            cycle_for(conn, &st, &principal, id, false, now)?;
            workflow::submissions::draft(conn, &st.reporting, id)
        })
        .await?;
    Ok(Json(DraftView::new(id, draft)))
}

/// Saves the draft (creating or overwriting it); answers with the check's findings.
#[utoipa::path(put, path = "/cycles/{id}/draft", tag = "reports", params(("id" = i64, Path, description = "The cycle's id")), request_body(description = "The report: JSON, or multipart/form-data with parts `report`, `action_plan` and `attachment`", content((JsonUpload = "application/json"), (MultipartUpload = "multipart/form-data"))),
    security(("bearer" = [])), responses((status = 200, description = "Saved; the check's findings", body = DraftView),
        (status = 409, description = "The cycle's report is accepted: its draft is closed", body = ErrorBody)))]
async fn save_draft(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ReportUpload(upload): ReportUpload,
) -> Result<Json<DraftView>, ApiError> {
    let principal = auth.signed_in()?.clone();
    let upload = upload.ok_or_else(|| Invalid::new("body", "a draft needs a report (JSON or multipart)"))?;
    let (actor, now) = (auth.actor()?, state.now());
    let st = state.clone();
    let draft = state
        .db
        .run(move |conn| {
            let cycle = cycle_for(conn, &st, &principal, id, true, now)?;
            workflow::submissions::save_draft(conn, &actor, &st.reporting, &cycle, &upload, now)
        })
        .await?;
    Ok(Json(DraftView::new(id, draft)))
}

/// The accepted action plan of the city's previous cycle.
#[derive(Serialize, ToSchema)]
struct PreviousPlanView {
    cycle_id: i64,
    period: String,
    submission_id: i64,
    version: i32,
    action_plan_markdown: String,
}

impl From<PreviousPlan> for PreviousPlanView {
    fn from(p: PreviousPlan) -> Self {
        Self {
            cycle_id: p.cycle_id,
            period: format!("{}–{}", p.period_start_year, p.period_end_year),
            submission_id: p.submission_id,
            version: p.version,
            action_plan_markdown: p.action_plan_markdown,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct PlanItemView {
    section: String,
    text: String,
}

#[derive(Serialize, ToSchema)]
struct SkeletonView {
    cycle_id: i64,
    language: &'static str,
    report_markdown: String,
    action_plan_markdown: String,
    /// The plan the progress part reports against, or null.
    previous_action_plan: Option<PreviousPlanView>,
    /// Its items, as the progress part lists them.
    previous_items: Vec<PlanItemView>,
}

/// The template's skeleton in the city's language, ready to be saved as the first draft
/// (`PUT …/draft`), with the previous accepted action plan's items to report against. Whoever
/// may read the city's draft may read it; nothing is stored.
#[utoipa::path(get, path = "/cycles/{id}/draft/skeleton", tag = "reports", params(("id" = i64, Path, description = "The cycle's id")), security(("bearer" = [])),
    responses((status = 200, description = "Where a new report starts", body = SkeletonView)))]
async fn draft_skeleton(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SkeletonView>, ApiError> {
    let principal = auth.signed_in()?.clone();
    let now = state.now();
    let st = state.clone();
    let skeleton: DraftSkeleton = state
        .db
        .run(move |conn| workflow::continuity::skeleton(conn, &st.rules, &st.reporting, &principal, id, now))
        .await?;
    Ok(Json(SkeletonView {
        cycle_id: id,
        language: skeleton.language,
        report_markdown: skeleton.report_markdown,
        action_plan_markdown: skeleton.action_plan_markdown,
        previous_action_plan: skeleton.previous.map(PreviousPlanView::from),
        previous_items: skeleton.items.into_iter().map(|i| PlanItemView { section: i.section, text: i.text }).collect(),
    }))
}

fn pdf_response(pdf: Vec<u8>, file_name: &str) -> Response {
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("inline"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response()
}

/// The city's local date, for draft covers.
fn city_today(c: &CycleOverview, now: NaiveDateTime) -> chrono::NaiveDate {
    let tz = c.record.city.time_zone.tz();
    local_date(now.and_utc(), tz)
}

/// The draft rendered as the archive would render it, marked draft; nothing is stored.
#[utoipa::path(get, path = "/cycles/{id}/draft/pdf", tag = "reports", params(("id" = i64, Path, description = "The cycle's id")), security(("bearer" = [])),
    responses((status = 200, description = "The draft's PDF, marked draft", content_type = "application/pdf", body = Vec<u8>)))]
async fn draft_pdf(State(state): State<AppState>, auth: Auth, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    let principal = auth.signed_in()?.clone();
    let now = state.now();
    let st = state.clone();
    let (rendering, slug) = state
        .db
        .run(move |conn| {
            let cycle = cycle_for(conn, &st, &principal, id, false, now)?;
            let rendering = workflow::submissions::draft_rendering(conn, &cycle, city_today(&cycle, now))?;
            Ok::<_, ApiError>((rendering, cycle.record.city.slug.clone()))
        })
        .await?;
    let pdf = blocking(move || rendering.pdf(&state.reporting)).await?;
    Ok(pdf_response(pdf, &format!("{slug}-draft.pdf")))
}

/// Any signed-in user: Markdown in, the PDF the archive would make out, marked draft. A token has
/// one preview at a time and a few a minute (429 beyond); every rendering waits for a free slot
/// (503 `render_busy` past the queue deadline).
#[utoipa::path(post, path = "/preview", tag = "reports", request_body(description = "The report: JSON, or multipart/form-data with parts `report`, `action_plan` and `attachment`", content((JsonUpload = "application/json"), (MultipartUpload = "multipart/form-data"))),
    security(("bearer" = [])), responses((status = 200, description = "The PDF, marked draft", content_type = "application/pdf", body = Vec<u8>)))]
async fn preview(
    State(state): State<AppState>,
    auth: Auth,
    ReportUpload(upload): ReportUpload,
) -> Result<Response, ApiError> {
    let principal = auth.signed_in()?.clone();
    // One preview at a time per token, and a few a minute (`workflow::admission`).
    let _turn = state.reporting.previews.begin(&principal.key())?;
    let upload = upload.ok_or_else(|| Invalid::new("body", "a preview needs a report (JSON or multipart)"))?;
    let today = state.now().date();
    let cover = match principal.scope {
        Scope::City { city_id } => Some(
            state
                .db
                .run(move |conn| {
                    let city = workflow::cities::by_id(conn, city_id)?;
                    workflow::render::city_cover(conn, &city.slug)
                })
                .await?,
        ),
        _ => None,
    };
    let pdf =
        blocking(move || workflow::submissions::preview(&state.reporting, &upload, cover.as_ref(), today)).await?;
    Ok(pdf_response(pdf, "preview.pdf"))
}

#[derive(Serialize, ToSchema)]
struct DecisionView {
    decision: String,
    comments: Option<String>,
    revision_due: Option<String>,
    accepted_sha256: Option<String>,
    decided_by: String,
    decided_at: String,
}

impl From<DecisionRow> for DecisionView {
    fn from(d: DecisionRow) -> Self {
        Self {
            decision: d.decision,
            comments: d.comments,
            revision_due: d.revision_due.map(|d| d.to_string()),
            accepted_sha256: d.accepted_sha256,
            decided_by: d.decided_by,
            decided_at: rfc3339(d.decided_at.and_utc()),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct VersionView {
    id: i64,
    cycle_id: i64,
    version: i32,
    bundle_sha256: String,
    submitted_by: String,
    submitted_at: String,
    late: bool,
    attachments: Vec<AttachmentView>,
    comments: usize,
    decision: Option<DecisionView>,
    /// The archive entry, once accepted and archived.
    archive_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_markdown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_plan_markdown: Option<String>,
}

impl VersionView {
    fn new(v: Version, with_text: bool) -> Self {
        let Submission {
            id,
            cycle_id,
            version,
            report_markdown,
            action_plan_markdown,
            bundle_sha256,
            submitted_by,
            submitted_at,
            late,
        } = v.submission;
        Self {
            id,
            cycle_id,
            version,
            bundle_sha256,
            submitted_by,
            submitted_at: rfc3339(submitted_at.and_utc()),
            late,
            attachments: v.attachments.into_iter().map(AttachmentView::from).collect(),
            comments: v.comments,
            decision: v.decision.map(DecisionView::from),
            archive_id: v.archive.map(|a| a.id),
            report_markdown: with_text.then_some(report_markdown),
            action_plan_markdown: with_text.then_some(action_plan_markdown),
        }
    }
}

/// A cycle's versions, oldest first (without their text).
#[utoipa::path(get, path = "/cycles/{id}/submissions", tag = "reports", params(("id" = i64, Path, description = "The cycle's id"), PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of versions, oldest first", body = ListView<VersionView>)))]
async fn list_versions(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListView<VersionView>>, ApiError> {
    let principal = auth.signed_in()?.clone();
    let now = state.now();
    let st = state.clone();
    let versions = state
        .db
        .run(move |conn| {
            cycle_for(conn, &st, &principal, id, false, now)?;
            workflow::review::versions(conn, id)
        })
        .await?;
    Ok(Json(ListView::of(versions, &page, |v| VersionView::new(v, false))?))
}

#[derive(Serialize, ToSchema)]
struct SubmittedView {
    #[serde(flatten)]
    version: VersionView,
    check: CheckView,
}

/// Submits the draft, or the report in the body, as a new version: 201, or 200 with the same
/// version when that exact bundle is already awaiting review.
#[utoipa::path(post, path = "/cycles/{id}/submissions", tag = "reports", params(("id" = i64, Path, description = "The cycle's id")), request_body(description = "The report: JSON, or multipart/form-data with parts `report`, `action_plan` and `attachment`", content((JsonUpload = "application/json"), (MultipartUpload = "multipart/form-data"))),
    security(("bearer" = [])), responses(
        (status = 201, description = "Submitted as a new version", body = SubmittedView),
        (status = 200, description = "That exact bundle is already awaiting review: the same version", body = SubmittedView),
        (status = 409, description = "The cycle takes no submission now, or has no draft to submit", body = ErrorBody)))]
async fn submit(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ReportUpload(upload): ReportUpload,
) -> Result<Response, ApiError> {
    let principal = auth.signed_in()?.clone();
    let (actor, now) = (auth.actor()?, state.now());
    let st = state.clone();
    let (submitted, version) = state
        .db
        .run(move |conn| {
            cycle_for(conn, &st, &principal, id, true, now)?;
            let submitted =
                workflow::submissions::submit(conn, &actor, &st.rules, &st.reporting, id, upload.as_ref(), now)?;
            let version = workflow::review::get(conn, &st.rules, now, submitted.submission.id)?.version;
            Ok::<_, ApiError>((submitted, version))
        })
        .await?;
    let status = if submitted.created { StatusCode::CREATED } else { StatusCode::OK };
    let view = SubmittedView {
        version: VersionView::new(version, false),
        check: CheckView::from(submitted.findings.as_slice()),
    };
    let location = HeaderValue::from_str(&format!("/api/v1/submissions/{}", submitted.submission.id))
        .unwrap_or_else(|_| HeaderValue::from_static("/api/v1"));
    Ok((status, [(header::LOCATION, location)], Json(view)).into_response())
}

/// Loads a version and checks that the caller may read its city's work.
async fn readable_version(state: &AppState, auth: &Auth, id: i64) -> Result<(VersionInCycle, Principal), ApiError> {
    let principal = auth.signed_in()?.clone();
    let (rules, now) = (state.rules, state.now());
    let caller = principal.clone();
    let found = state.db.run(move |conn| workflow::review::readable(conn, &rules, &caller, id, now)).await?;
    Ok((found, principal))
}

#[derive(Serialize, ToSchema)]
struct VersionDetailView {
    #[serde(flatten)]
    version: VersionView,
    /// For the reviewer's reference: the action plan accepted for the city's previous cycle, or
    /// null.
    previous_action_plan: Option<PreviousPlanView>,
}

/// One version with its Markdown and the previous cycle's accepted action plan.
#[utoipa::path(get, path = "/submissions/{id}", tag = "reports", params(("id" = i64, Path, description = "The version's (submission's) id")), security(("bearer" = [])),
    responses((status = 200, description = "The version with its Markdown", body = VersionDetailView)))]
async fn show_version(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<VersionDetailView>, ApiError> {
    let (found, _) = readable_version(&state, &auth, id).await?;
    let record = found.cycle.record.clone();
    let previous = state.db.run(move |conn| workflow::continuity::previous_plan(conn, &record)).await?;
    Ok(Json(VersionDetailView {
        version: VersionView::new(found.version, true),
        previous_action_plan: previous.map(PreviousPlanView::from),
    }))
}

/// A version's PDF: the archived file once accepted, otherwise rendered marked submitted.
#[utoipa::path(get, path = "/submissions/{id}/pdf", tag = "reports", params(("id" = i64, Path, description = "The version's (submission's) id")), security(("bearer" = [])),
    responses((status = 200, description = "The version's PDF", content_type = "application/pdf", body = Vec<u8>)))]
async fn version_pdf(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (found, _) = readable_version(&state, &auth, id).await?;
    let file_name = format!("{}-v{}.pdf", found.cycle.record.city.slug, found.version.submission.version);
    let source = state.db.run(move |conn| workflow::review::pdf(conn, &found)).await?;
    let pdf = blocking(move || match source {
        VersionPdf::Archived { sha256 } => Ok(state.store.get(&sha256)?),
        VersionPdf::Render(rendering) => rendering.pdf(&state.reporting),
    })
    .await?;
    Ok(pdf_response(pdf, &file_name))
}

/// One attachment of a version (its image).
#[utoipa::path(get, path = "/submissions/{id}/attachments/{name}", tag = "reports",
    params(("id" = i64, Path, description = "The version's (submission's) id"), ("name" = String, Path, description = "The attachment's file name")), security(("bearer" = [])),
    responses((status = 200, description = "The image", content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg")))))]
async fn version_attachment(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, name)): ApiPath<(i64, String)>,
) -> Result<Response, ApiError> {
    readable_version(&state, &auth, id).await?;
    let file = state.db.run(move |conn| workflow::review::attachment(conn, id, &name)).await?;
    let content_type =
        HeaderValue::from_str(&file.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(([(header::CONTENT_TYPE, content_type)], file.data).into_response())
}

#[derive(Serialize, ToSchema)]
struct CommentView {
    id: i64,
    submission_id: i64,
    parent_id: Option<i64>,
    author: String,
    author_role: String,
    section: Option<String>,
    body_markdown: String,
    created_at: String,
}

impl From<Comment> for CommentView {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id,
            submission_id: c.submission_id,
            parent_id: c.parent_id,
            author: c.author,
            author_role: c.author_role,
            section: c.section,
            body_markdown: c.body_markdown,
            created_at: rfc3339(c.created_at.and_utc()),
        }
    }
}

/// The comments on a version, oldest first.
#[utoipa::path(get, path = "/submissions/{id}/comments", tag = "reports", params(("id" = i64, Path, description = "The version's (submission's) id"), PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of comments, oldest first", body = ListView<CommentView>)))]
async fn list_comments(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListView<CommentView>>, ApiError> {
    readable_version(&state, &auth, id).await?;
    let comments = state.db.run(move |conn| workflow::review::comments(conn, id)).await?;
    Ok(Json(ListView::of(comments, &page, CommentView::from)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CommentBody {
    #[schema(example = "Section 3 could say how many residents took part.")]
    body_markdown: String,
    /// The report's section the comment is on (its key, e.g. `3`).
    #[schema(example = "3")]
    section: Option<String>,
    /// The comment this one answers.
    parent_id: Option<i64>,
}

/// Comments on a version: its field's coordinator and the Secretariat; the city replies.
#[utoipa::path(post, path = "/submissions/{id}/comments", tag = "reports", params(("id" = i64, Path, description = "The version's (submission's) id")), request_body = CommentBody,
    security(("bearer" = [])), responses((status = 201, description = "The comment", body = CommentView)))]
async fn add_comment(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CommentBody>,
) -> Result<(StatusCode, Json<CommentView>), ApiError> {
    let principal = auth.signed_in()?.clone();
    let (actor, now) = (auth.actor()?, state.now());
    let st = state.clone();
    let input = NewCommentInput { body_markdown: body.body_markdown, section: body.section, parent_id: body.parent_id };
    let comment = state
        .db
        .run(move |conn| {
            workflow::review::comment_as(conn, &actor, &st.rules, &st.reporting, &principal, id, &input, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(comment.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// `accept` or `request_revision`.
    #[schema(example = "request_revision")]
    decision: String,
    /// What to revise (required with `request_revision`).
    #[schema(example = "Please complete section 4 with the partnerships of 2024.")]
    comments: Option<String>,
    /// The revised report's due date (required with `request_revision`).
    #[schema(format = Date, example = "2027-02-28")]
    revision_due: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct DecidedView {
    #[serde(flatten)]
    decision: DecisionView,
    /// The archive entry made on acceptance (absent for a revision request, or when archiving
    /// must be completed later; see `archive_error`).
    archive_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    archive_error: Option<String>,
}

/// The Secretariat's decision on a version. An acceptance archives the version before answering.
#[utoipa::path(post, path = "/submissions/{id}/decision", tag = "reports", params(("id" = i64, Path, description = "The version's (submission's) id")), request_body = DecisionBody,
    security(("bearer" = [])), responses((status = 201, description = "The decision", body = DecidedView),
        (status = 409, description = "The version is decided already, or is not the latest", body = ErrorBody)))]
async fn decide(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<(StatusCode, Json<DecidedView>), ApiError> {
    auth.require(Action::Decide)?;
    let (found, _) = readable_version(&state, &auth, id).await?;
    let revision_due = body.revision_due.as_deref().map(|d| parse_date("revision_due", d)).transpose()?;
    let now = state.now();
    let decision =
        DecisionInput::parse(&body.decision, body.comments.as_deref(), revision_due, city_today(&found.cycle, now))?;
    let actor = auth.actor()?;
    let rules = state.rules;
    let archive_actor = actor.clone();
    let caller = auth.signed_in()?.clone();
    let row = state
        .db
        .run(move |conn| workflow::review::decide_as(conn, &actor, &rules, &caller, id, &decision, now))
        .await?;
    // The city is told and an acceptance archived on the blocking pool (rendering and fsyncs stay
    // off the async threads, inside the request's span).
    let (st, decided) = (state.clone(), row.clone());
    let followed = blocking(move || {
        workflow::review::follow_up(
            &st.db,
            st.store.as_ref(),
            &st.reporting,
            &st.rules,
            &archive_actor,
            st.postman.as_ref(),
            &decided,
            now,
        )
    })
    .await;
    let (archive_id, archive_error) = match followed {
        Ok(archived) => (archived, None),
        Err(e) => {
            tracing::error!(submission.id = id, error = ?e, "archiving an accepted version failed; it is completed at the next start or fixity run");
            (None, Some("the acceptance is recorded; archiving it failed and will be completed automatically".into()))
        }
    };
    Ok((StatusCode::CREATED, Json(DecidedView { decision: row.into(), archive_id, archive_error })))
}

#[derive(Serialize, ToSchema)]
struct SectionDiffView {
    heading: Option<String>,
    key: Option<String>,
    change: &'static str,
    hunks: Vec<String>,
}

impl From<SectionDiff> for SectionDiffView {
    fn from(d: SectionDiff) -> Self {
        Self { heading: d.heading, key: d.key, change: d.change.as_str(), hunks: d.hunks }
    }
}

#[derive(Serialize, ToSchema)]
struct DiffView {
    from_version: i32,
    to_version: i32,
    report: Vec<SectionDiffView>,
    action_plan: Vec<SectionDiffView>,
}

impl From<VersionDiff> for DiffView {
    fn from(d: VersionDiff) -> Self {
        Self {
            from_version: d.from_version,
            to_version: d.to_version,
            report: d.report.into_iter().map(SectionDiffView::from).collect(),
            action_plan: d.action_plan.into_iter().map(SectionDiffView::from).collect(),
        }
    }
}

/// What changed since the previous version, section by section.
#[utoipa::path(get, path = "/submissions/{id}/diff", tag = "reports", params(("id" = i64, Path, description = "The version's (submission's) id")), security(("bearer" = [])),
    responses((status = 200, description = "What changed since the previous version", body = DiffView)))]
async fn diff(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DiffView>, ApiError> {
    let (found, _) = readable_version(&state, &auth, id).await?;
    let st = state.clone();
    let diff = state
        .db
        .run(move |conn| workflow::review::diff_with_previous(conn, &st.reporting, &found.version.submission))
        .await?;
    Ok(Json(diff.into()))
}
