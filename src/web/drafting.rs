//! Drafting a report: the report and the action plan as Markdown in two editors, starting from
//! the template's skeleton in the city's language; images added (file input, which also takes a
//! drop) and removed; the template check's findings with their lines; the PDF preview in the
//! page; and submitting, after a page that says what happens next.
//!
//! Everything works without JavaScript (one multipart form, buttons, links). `site.js` adds what
//! only script can: the cursor taken to a finding's line, a warning before leaving unsaved text,
//! and a copy of the unsaved text kept in the browser until it is saved.
//!
//! The rules are `workflow`'s: who may read or write ([`workflow::cycles::for_caller`] inside
//! [`submissions::drafting`] and [`submissions::edit_draft`]), the check, submitting. A save that
//! is refused shows the page again with the text as it was sent, so nothing typed is lost.

use askama::Template;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::WebState;
use super::i18n::Tr;
use super::page::{Chrome, Ctx, PageError, framed_pdf, html};
use super::portal::CycleRow;
use super::session::{check_form, home_of, signed_in};
use crate::domain::auth::{Action, Principal, Scope, authorize};
use crate::domain::cycles::{CycleStatus, local_date};
use crate::domain::submissions::may_submit;
use crate::error::Error;
use crate::render::{Finding, Source};
use crate::workflow::cycles::{Access, CycleOverview};
use crate::workflow::submissions::{self, DraftEdit, DraftOverview, UploadedFile};
use crate::workflow::{self};

/// A finding as the page lists it.
pub struct FindingRow {
    pub error: bool,
    /// `report` or `action_plan`: the editor the link focuses.
    pub part: &'static str,
    pub line: Option<usize>,
    pub place: String,
    pub message: String,
}

impl FindingRow {
    pub fn new(tr: Tr, f: &Finding) -> Self {
        let (part, name) = match f.source {
            Source::Report => ("report", tr.t("draft.report")),
            Source::ActionPlan => ("action_plan", tr.t("draft.plan")),
            Source::Attachment => ("attachments", tr.t("draft.images")),
        };
        let place = match (f.line, &f.attachment) {
            (Some(line), _) => tr.fmt("draft.finding.line", &[("part", &name), ("line", &line)]),
            (None, Some(file)) => format!("{name}: {file}"),
            (None, None) => name.to_owned(),
        };
        FindingRow { error: f.is_error(), part, line: f.line, place, message: f.message.clone() }
    }
}

/// A stored image as the page lists it, with the address of its bytes for a thumbnail.
pub struct ImageRow {
    pub name: String,
    pub size: String,
    pub src: String,
}

/// `/cycles/{id}/draft/images/{name}`, the name percent-encoded as one path segment.
fn image_src(id: i64, name: &str) -> String {
    let mut url = url::Url::parse("http://host/").expect("a base URL");
    url.path_segments_mut().expect("a base URL has a path").extend([
        "cycles",
        &id.to_string(),
        "draft",
        "images",
        name,
    ]);
    url.path().to_owned()
}

#[derive(Template)]
#[template(path = "drafting.html")]
struct DraftingPage {
    c: Chrome,
    id: i64,
    back: String,
    back_label: &'static str,
    cycle: CycleRow,
    writable: bool,
    report: String,
    plan: String,
    /// Why the page starts from the skeleton, or when the draft was saved and by whom.
    origin: String,
    /// `2027-01-05T10:00:00Z`: when the shown text was saved, for the browser's copy of unsaved text.
    saved_at: String,
    notice: Option<String>,
    problem: Option<String>,
    findings: Vec<FindingRow>,
    errors: usize,
    errors_note: String,
    images: Vec<ImageRow>,
    preview: bool,
}

/// Where a caller's work is, and its name, for the crumbs.
fn back_of(tr: Tr, principal: &Principal, cycle: &CycleOverview) -> (String, &'static str) {
    match principal.scope {
        Scope::City { .. } => (home_of(principal).to_owned(), tr.t("account.work")),
        _ => (format!("/desk/cities/{}", cycle.record.city.slug), tr.t("desk.title")),
    }
}

fn may_write(principal: &Principal, cycle: &CycleOverview) -> bool {
    authorize(Some(principal), Action::WriteReport(cycle.city())).is_ok()
}

fn page(ctx: &Ctx, principal: &Principal, cycle: &CycleOverview) -> DraftingPage {
    let tr = ctx.tr;
    let row = CycleRow::new(tr, cycle);
    let (back, back_label) = back_of(tr, principal, cycle);
    DraftingPage {
        c: ctx.chrome(tr.fmt("draft.title", &[("city", &cycle.record.city.name), ("cycle", &row.heading)]), "work"),
        id: cycle.record.id,
        back,
        back_label,
        writable: may_write(principal, cycle),
        cycle: row,
        report: String::new(),
        plan: String::new(),
        origin: String::new(),
        saved_at: String::new(),
        notice: None,
        problem: None,
        findings: Vec::new(),
        errors: 0,
        errors_note: String::new(),
        images: Vec::new(),
        preview: false,
    }
}

fn fill(tr: Tr, page: &mut DraftingPage, draft: &DraftOverview) {
    page.report.clone_from(&draft.draft.report_markdown);
    page.plan.clone_from(&draft.draft.action_plan_markdown);
    page.origin = tr.fmt(
        "draft.saved_by",
        &[
            ("date", &tr.date(draft.draft.updated_at.date())),
            ("time", &draft.draft.updated_at.format("%H:%M UTC")),
            ("name", &draft.draft.updated_by),
        ],
    );
    page.saved_at = draft.draft.updated_at.and_utc().to_rfc3339();
    set_findings(tr, page, &draft.findings);
    let id = page.id;
    page.images = draft
        .attachments
        .iter()
        .map(|a| ImageRow { name: a.name.clone(), size: tr.bytes(a.size_bytes), src: image_src(id, &a.name) })
        .collect();
}

fn set_findings(tr: Tr, page: &mut DraftingPage, findings: &[Finding]) {
    page.findings = findings.iter().map(|f| FindingRow::new(tr, f)).collect();
    page.errors = findings.iter().filter(|f| f.is_error()).count();
    page.errors_note = tr.count("draft.findings.errors", page.errors as i64);
}

/// `GET /cycles/{id}/draft`.
pub async fn show(State(state): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    let (rules, kit, now, caller) = (state.rules, state.reporting.clone(), state.now(), principal.clone());
    let loaded = state.db.run(move |conn| submissions::drafting(conn, &rules, &kit, &caller, id, now)).await;
    let drafting = match loaded {
        Ok(d) => d,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let tr = ctx.tr;
    let mut page = page(&ctx, &principal, &drafting.cycle);
    match (&drafting.draft, &drafting.skeleton) {
        (Some(draft), _) => fill(tr, &mut page, draft),
        (None, Some(skeleton)) => {
            page.report.clone_from(&skeleton.report_markdown);
            page.plan.clone_from(&skeleton.action_plan_markdown);
            page.origin = tr.t("draft.from_skeleton").to_owned();
        }
        (None, None) => {}
    }
    page.notice = match ctx.param("done") {
        Some("saved") => Some(tr.t("draft.done.saved").to_owned()),
        _ => None,
    };
    page.preview = ctx.param("preview").is_some() && drafting.draft.is_some();
    html(&ctx, StatusCode::OK, &page)
}

/// The drafting form as posted.
#[derive(Default)]
struct Posted {
    csrf: String,
    action: String,
    edit: DraftEdit,
}

async fn read_form(mut multipart: Multipart) -> Result<Posted, MultipartError> {
    let mut posted = Posted::default();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "attachment" => {
                let file = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await?.to_vec();
                // A file input left empty still sends a part, with no name and no bytes.
                if !file.is_empty() || !bytes.is_empty() {
                    posted.edit.added.push(UploadedFile { name: file, bytes });
                }
            }
            "report" => posted.edit.report_markdown = field.bytes().await?.to_vec(),
            "action_plan" => posted.edit.action_plan_markdown = field.bytes().await?.to_vec(),
            "remove" => posted.edit.removed.push(field.text().await?),
            "csrf" => posted.csrf = field.text().await?,
            "action" => posted.action = field.text().await?,
            _ => {}
        }
    }
    Ok(posted)
}

/// `POST /cycles/{id}/draft`: saves, then shows the draft again (with its preview when asked).
pub async fn save(State(state): State<WebState>, ctx: Ctx, Path(id): Path<i64>, multipart: Multipart) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    let posted = match read_form(multipart).await {
        Ok(posted) => posted,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return PageError::TooLarge(ctx.tr.t("draft.too_large").to_owned()).page(&ctx);
        }
        Err(e) => return PageError::BadRequest(e.body_text()).page(&ctx),
    };
    if let Err(e) = check_form(&ctx, &posted.csrf) {
        return e.page(&ctx);
    }
    let (rules, kit, now, caller, actor) =
        (state.rules, state.reporting.clone(), state.now(), principal.clone(), ctx.actor());
    let edit = posted.edit.clone();
    let saved =
        state.db.run(move |conn| submissions::edit_draft(conn, &actor, &rules, &kit, &caller, id, &edit, now)).await;
    match saved {
        Ok(_) => {
            let preview = if posted.action == "preview" { "&preview=1#preview" } else { "" };
            Redirect::to(&format!("/cycles/{id}/draft?done=saved{preview}")).into_response()
        }
        Err(e @ (Error::Denied(_) | Error::NotFound { .. } | Error::Db(_))) => PageError::from(e).page(&ctx),
        Err(e) => refused(&state, &ctx, &principal, id, &posted.edit, e).await,
    }
}

/// The page again with the text as it was sent and why it was not saved.
async fn refused(state: &WebState, ctx: &Ctx, principal: &Principal, id: i64, edit: &DraftEdit, e: Error) -> Response {
    let (rules, now, caller) = (state.rules, state.now(), principal.clone());
    let cycle =
        state.db.run(move |conn| workflow::cycles::for_caller(conn, &rules, &caller, id, Access::Read, now)).await;
    let cycle = match cycle {
        Ok(c) => c,
        Err(e) => return PageError::from(e).page(ctx),
    };
    let tr = ctx.tr;
    let mut page = page(ctx, principal, &cycle);
    page.report = String::from_utf8_lossy(&edit.report_markdown).into_owned();
    page.plan = String::from_utf8_lossy(&edit.action_plan_markdown).into_owned();
    page.origin = tr.t("draft.not_saved").to_owned();
    let (status, problem) = match &e {
        Error::CheckFailed { findings, .. } => {
            set_findings(tr, &mut page, findings);
            (StatusCode::UNPROCESSABLE_ENTITY, tr.t("draft.refused.check").to_owned())
        }
        Error::Conflict(message) => (StatusCode::CONFLICT, message.clone()),
        Error::TooLarge(message) => (StatusCode::PAYLOAD_TOO_LARGE, message.clone()),
        Error::Invalid(invalid) => {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("{}: {}", invalid.field, invalid.message))
        }
        Error::InvalidMany { summary, problems } => {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("{summary}: {}", problems.join("; ")))
        }
        other => (StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    };
    page.problem = Some(problem);
    html(ctx, status, &page)
}

/// `GET /cycles/{id}/draft/images/{name}`: an image of the draft, for its thumbnail on the drafting
/// page, to whoever may read the draft.
pub async fn image(State(state): State<WebState>, ctx: Ctx, Path((id, name)): Path<(i64, String)>) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    let (rules, now) = (state.rules, state.now());
    match state.db.run(move |conn| submissions::draft_image(conn, &rules, &principal, id, &name, now)).await {
        Ok(image) => {
            let private = [(header::CACHE_CONTROL, "private, no-cache")];
            (private, [(header::CONTENT_TYPE, image.content_type)], image.data).into_response()
        }
        Err(e) => PageError::from(e).page(&ctx),
    }
}

/// `GET /cycles/{id}/draft.pdf`: the saved draft as the archive would render it, marked draft.
pub async fn pdf(State(state): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    let (rules, now) = (state.rules, state.now());
    let loaded = state
        .db
        .run(move |conn| {
            let cycle = workflow::cycles::for_caller(conn, &rules, &principal, id, Access::Read, now)?;
            let today = local_date(now.and_utc(), cycle.record.city.time_zone.tz());
            Ok::<_, Error>((submissions::draft_rendering(conn, &cycle, today)?, cycle.record.city.slug.clone()))
        })
        .await;
    let (rendering, slug) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let kit = state.reporting.clone();
    framed_pdf(&ctx, &format!("{slug}-draft.pdf"), tokio::task::spawn_blocking(move || rendering.pdf(&kit)).await)
}

#[derive(Template)]
#[template(path = "submit.html")]
struct SubmitPage {
    c: Chrome,
    id: i64,
    cycle: CycleRow,
    csrf: String,
    findings: Vec<FindingRow>,
    errors: usize,
    blocked: String,
    /// Why the cycle takes no version now (its window is not open, a version awaits review, it
    /// is accepted), if so.
    closed: Option<String>,
    warnings: Option<String>,
    next_steps: Vec<String>,
}

/// `GET /cycles/{id}/submit`: what submitting does, and the button (only when nothing blocks it).
pub async fn confirm(State(state): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    let (rules, kit, now, caller) = (state.rules, state.reporting.clone(), state.now(), principal.clone());
    let loaded = state
        .db
        .run(move |conn| {
            let cycle = workflow::cycles::for_caller(conn, &rules, &caller, id, Access::Write, now)?;
            Ok::<_, Error>((cycle, submissions::draft(conn, &kit, id)?))
        })
        .await;
    let (cycle, draft) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let tr = ctx.tr;
    let row = CycleRow::new(tr, &cycle);
    let errors = draft.findings.iter().filter(|f| f.is_error()).count();
    let next_steps = ["submit.next.version", "submit.next.review", "submit.next.outcome", "submit.next.publication"]
        .iter()
        .map(|key| tr.t(key).to_owned())
        .collect();
    let page = SubmitPage {
        c: ctx.chrome(tr.fmt("submit.title", &[("cycle", &row.heading)]), "work"),
        id,
        cycle: row,
        csrf: ctx.viewer.as_ref().map(|v| v.csrf.clone()).unwrap_or_default(),
        findings: draft.findings.iter().map(|f| FindingRow::new(tr, f)).collect(),
        errors,
        blocked: tr.count("submit.blocked", errors as i64),
        closed: may_submit(&cycle.state).err().map(|_| match cycle.state.status {
            CycleStatus::Upcoming => tr.fmt("submit.closed.upcoming", &[("date", &tr.date(cycle.state.window_opens))]),
            CycleStatus::Accepted => tr.t("submit.closed.accepted").to_owned(),
            _ => tr.t("submit.closed.awaiting").to_owned(),
        }),
        warnings: (!draft.findings.is_empty()).then(|| tr.count("submit.warnings", draft.findings.len() as i64)),
        next_steps,
    };
    html(&ctx, StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /cycles/{id}/submit`: the saved draft becomes a new version.
pub async fn submit(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    super::page::Form(form): super::page::Form<SubmitForm>,
) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    if let Err(e) = check_form(&ctx, &form.csrf) {
        return e.page(&ctx);
    }
    let (rules, kit, now, caller, actor) =
        (state.rules, state.reporting.clone(), state.now(), principal.clone(), ctx.actor());
    let submitted = state
        .db
        .run(move |conn| {
            let cycle = workflow::cycles::for_caller(conn, &rules, &caller, id, Access::Write, now)?;
            submissions::submit(conn, &actor, &rules, &kit, id, None, now)?;
            Ok::<_, Error>(cycle)
        })
        .await;
    match submitted {
        Ok(cycle) => {
            let (back, _) = back_of(ctx.tr, &principal, &cycle);
            let sep = if back.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{back}{sep}done=submitted#cycle-{id}")).into_response()
        }
        Err(Error::CheckFailed { .. }) => Redirect::to(&format!("/cycles/{id}/submit")).into_response(),
        Err(e) => PageError::from(e).page(&ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::image_src;

    #[test]
    fn image_addresses_keep_the_name_as_one_segment() {
        assert_eq!(image_src(3, "map.png"), "/cycles/3/draft/images/map.png");
        assert_eq!(image_src(3, "Carte de Lyon.JPG"), "/cycles/3/draft/images/Carte%20de%20Lyon.JPG");
        assert_eq!(image_src(3, "東京.png"), "/cycles/3/draft/images/%E6%9D%B1%E4%BA%AC.png");
        assert_eq!(image_src(3, "a#b?.png"), "/cycles/3/draft/images/a%23b%3F.png");
    }
}
