//! A submitted version's page: its PDF beside its sections, the comments anchored to each
//! section with a form to add one (reviewers) or to reply (the city), what changed since the
//! previous version as coloured text, the action plan the previous cycle accepted, and the
//! Secretariat's decision form. The rules are [`workflow::review`]'s (`review_view`,
//! `comment_as`, `decide_as`), the API's too.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::WebState;
use super::i18n::Tr;
use super::page::{Chrome, Ctx, Form, PageError, framed_pdf, html};
use super::portal::CycleRow;
use super::session::{check_form, home_of, signed_in};
use crate::domain::auth::{Action, Scope, authorize};
use crate::domain::cycles::local_date;
use crate::domain::submissions::DecisionInput;
use crate::error::Error;
use crate::workflow::review::{self, Comment, NewCommentInput, ReviewView, SectionChange, VersionPdf};

/// A comment as the page shows it, with its replies.
struct CommentRow {
    id: i64,
    author: String,
    role: String,
    date: String,
    body: String,
    replies: Vec<CommentRow>,
}

/// A section with the comments anchored to it.
struct SectionRow {
    /// `None`: comments on the version as a whole.
    heading: Option<String>,
    anchor: String,
    comments: Vec<CommentRow>,
}

/// A changed section: its heading and its lines, each `(class, text)`.
struct DiffRow {
    heading: String,
    change: &'static str,
    lines: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    c: Chrome,
    id: i64,
    back: String,
    cycle: CycleRow,
    facts: String,
    decision: Option<String>,
    notice: Option<&'static str>,
    sections: Vec<SectionRow>,
    may_comment: bool,
    may_reply: bool,
    may_decide: bool,
    diff: Option<(String, Vec<DiffRow>)>,
    previous_plan: Option<(String, String)>,
    /// The earliest revision deadline the form offers (the city's tomorrow).
    min_due: String,
}

fn comment_row(tr: Tr, c: &Comment, all: &[Comment]) -> CommentRow {
    CommentRow {
        id: c.id,
        author: c.author.clone(),
        role: tr.t(&format!("review.role.{}", c.author_role)).to_owned(),
        date: tr.date(c.created_at.date()),
        body: c.body_markdown.clone(),
        replies: all.iter().filter(|r| r.parent_id == Some(c.id)).map(|r| comment_row(tr, r, all)).collect(),
    }
}

fn sections(tr: Tr, view: &ReviewView) -> Vec<SectionRow> {
    let top: Vec<&Comment> = view.comments.iter().filter(|c| c.parent_id.is_none()).collect();
    let rows = |heading: Option<&String>| -> Vec<CommentRow> {
        top.iter()
            .filter(|c| c.section.as_ref().map(|s| s.to_lowercase()) == heading.map(|h| h.to_lowercase()))
            .map(|c| comment_row(tr, c, &view.comments))
            .collect()
    };
    let mut out = vec![SectionRow { heading: None, anchor: "general".into(), comments: rows(None) }];
    for (i, heading) in view.report_sections.iter().chain(&view.plan_sections).enumerate() {
        out.push(SectionRow {
            heading: Some(heading.clone()),
            anchor: format!("section-{i}"),
            comments: rows(Some(heading)),
        });
    }
    // A comment whose anchor no longer matches a heading is still shown.
    let known: Vec<String> = view.report_sections.iter().chain(&view.plan_sections).map(|h| h.to_lowercase()).collect();
    for c in &top {
        if let Some(section) = &c.section
            && !known.contains(&section.to_lowercase())
        {
            out.push(SectionRow {
                heading: Some(section.clone()),
                anchor: format!("other-{}", c.id),
                comments: vec![comment_row(tr, c, &view.comments)],
            });
        }
    }
    out
}

fn diff(tr: Tr, view: &ReviewView) -> Option<(String, Vec<DiffRow>)> {
    let d = view.diff.as_ref()?;
    let rows = d
        .report
        .iter()
        .chain(&d.action_plan)
        .filter(|s| s.change != SectionChange::Unchanged)
        .map(|s| DiffRow {
            heading: s.heading.clone().unwrap_or_else(|| tr.t("review.diff.preamble").to_owned()),
            change: tr.t(&format!("review.change.{}", s.change.as_str())),
            lines: s
                .hunks
                .iter()
                .flat_map(|h| h.lines())
                .map(|line| {
                    let class = match line.chars().next() {
                        Some('+') => "add",
                        Some('-') => "del",
                        Some('@') => "hunk",
                        _ => "same",
                    };
                    (class, line.to_owned())
                })
                .collect(),
        })
        .collect();
    Some((tr.fmt("review.diff.heading", &[("from", &d.from_version), ("to", &d.to_version)]), rows))
}

/// `GET /submissions/{id}`.
pub async fn show(State(state): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    let (rules, kit, now, caller) = (state.rules, state.reporting.clone(), state.now(), principal.clone());
    let view = match state.db.run(move |conn| review::review_view(conn, &rules, &kit, &caller, id, now)).await {
        Ok(view) => view,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let tr = ctx.tr;
    let cycle = &view.found.cycle;
    let version = &view.found.version;
    let row = CycleRow::new(tr, cycle);
    let city = cycle.city();
    let decision = version.decision.as_ref().map(|d| match d.decision.as_str() {
        "accept" => tr.fmt("review.decided.accept", &[("date", &tr.date(d.decided_at.date())), ("by", &d.decided_by)]),
        _ => tr.fmt(
            "review.decided.revision",
            &[
                ("date", &tr.date(d.decided_at.date())),
                ("by", &d.decided_by),
                ("due", &d.revision_due.map(|due| tr.date(due)).unwrap_or_default()),
            ],
        ),
    });
    let back = match principal.scope {
        Scope::City { .. } => home_of(&principal).to_owned(),
        _ => format!("/desk/cities/{}", cycle.record.city.slug),
    };
    let today = local_date(now.and_utc(), cycle.record.city.time_zone.tz());
    let page = ReviewPage {
        c: ctx.chrome(
            tr.fmt("review.title", &[("city", &cycle.record.city.name), ("n", &version.submission.version)]),
            "work",
        ),
        id,
        back,
        facts: tr.fmt(
            "review.facts",
            &[("cycle", &row.heading), ("date", &tr.date(version.submission.submitted_at.date()))],
        ),
        cycle: row,
        may_decide: version.decision.is_none() && authorize(Some(&principal), Action::Decide).is_ok(),
        decision,
        notice: match ctx.param("done") {
            Some("commented") => Some(tr.t("review.done.commented")),
            Some("decided") => Some(tr.t("review.done.decided")),
            _ => None,
        },
        may_comment: authorize(Some(&principal), Action::Comment { city, is_reply: false }).is_ok(),
        may_reply: authorize(Some(&principal), Action::Comment { city, is_reply: true }).is_ok(),
        sections: sections(tr, &view),
        diff: diff(tr, &view),
        previous_plan: view.previous_plan.as_ref().map(|p| {
            let label = tr.fmt(
                "review.previous_plan",
                &[("start", &p.period_start_year), ("end", &p.period_end_year), ("n", &p.version)],
            );
            (label, p.action_plan_markdown.clone())
        }),
        min_due: (today + chrono::TimeDelta::days(1)).to_string(),
    };
    html(&ctx, StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    section: String,
    #[serde(default)]
    parent_id: Option<String>,
}

/// `POST /submissions/{id}/comments`.
pub async fn comment(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CommentForm>,
) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    if let Err(e) = check_form(&ctx, &form.csrf) {
        return e.page(&ctx);
    }
    let parent_id = match form.parent_id.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::parse::<i64>) {
        None => None,
        Some(Ok(parent)) => Some(parent),
        Some(Err(_)) => return PageError::BadRequest("parent_id: not a comment".into()).page(&ctx),
    };
    let section = Some(form.section.trim().to_owned()).filter(|s| !s.is_empty());
    let input = NewCommentInput { body_markdown: form.body, section, parent_id };
    let (rules, kit, now, actor) = (state.rules, state.reporting.clone(), state.now(), ctx.actor());
    let added =
        state.db.run(move |conn| review::comment_as(conn, &actor, &rules, &kit, &principal, id, &input, now)).await;
    match added {
        Ok(c) => Redirect::to(&format!("/submissions/{id}?done=commented#comment-{}", c.id)).into_response(),
        Err(e) => PageError::from(e).page(&ctx),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comments: String,
    #[serde(default)]
    revision_due: String,
}

/// `POST /submissions/{id}/decision`: the Secretariat accepts (and the version is archived) or
/// asks for a revision.
pub async fn decide(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    if let Err(e) = check_form(&ctx, &form.csrf) {
        return e.page(&ctx);
    }
    let (rules, now, actor, caller) = (state.rules, state.now(), ctx.actor(), principal.clone());
    let decided = state
        .db
        .run(move |conn| {
            let found = review::readable(conn, &rules, &caller, id, now)?;
            let today = local_date(now.and_utc(), found.cycle.record.city.time_zone.tz());
            let due = form.revision_due.trim();
            let due = if due.is_empty() {
                None
            } else {
                Some(
                    due.parse()
                        .map_err(|_| crate::domain::Invalid::new("revision_due", "must be a date (YYYY-MM-DD)"))?,
                )
            };
            let comments = Some(form.comments.as_str()).filter(|c| !c.trim().is_empty());
            let decision = DecisionInput::parse(&form.decision, comments, due, today)?;
            review::decide_as(conn, &actor, &rules, &caller, id, &decision, now)
        })
        .await;
    let row = match decided {
        Ok(row) => row,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let (db, store, kit, actor, postman) =
        (state.db.clone(), state.store.clone(), state.reporting.clone(), ctx.actor(), state.postman.clone());
    let followed = tokio::task::spawn_blocking(move || {
        review::follow_up(&db, store.as_ref(), &kit, &rules, &actor, postman.as_ref(), &row, now)
    })
    .await;
    if !matches!(followed, Ok(Ok(_))) {
        tracing::error!(
            submission.id = id,
            "archiving an accepted version failed; it is completed at the next start or fixity run"
        );
    }
    Redirect::to(&format!("/submissions/{id}?done=decided")).into_response()
}

/// `GET /submissions/{id}/pdf`: the version's PDF (the archived file once accepted), framed by
/// its review page.
pub async fn pdf(State(state): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    let (rules, now) = (state.rules, state.now());
    let source = state
        .db
        .run(move |conn| {
            let found = review::readable(conn, &rules, &principal, id, now)?;
            let name = format!("{}-v{}.pdf", found.cycle.record.city.slug, found.version.submission.version);
            Ok::<_, Error>((review::pdf(conn, &found)?, name))
        })
        .await;
    let (source, name) = match source {
        Ok(found) => found,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let (store, kit) = (state.store.clone(), state.reporting.clone());
    let made = tokio::task::spawn_blocking(move || match source {
        VersionPdf::Archived { sha256 } => store.get(&sha256).map_err(Error::from),
        VersionPdf::Render(rendering) => rendering.pdf(&kit),
    })
    .await;
    framed_pdf(&ctx, &name, made)
}
