//! The city portal: a city's focal points see their city's reporting cycles (period, deadline in
//! the city's time zone with the days left, status, versions and decisions) and the reminders
//! sent and planned. What it shows comes from [`workflow::portal::city_work`], which checks the
//! caller; the Secretariat's and coordinators' view of a city uses the same rows.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::WebState;
use super::i18n::Tr;
use super::page::{Chrome, Ctx, PageError, html};
use super::session::{home_of, signed_in};
use crate::domain::auth::Scope;
use crate::domain::cycles::CycleStatus;
use crate::workflow::cycles::CycleOverview;
use crate::workflow::portal::{CityWork, city_work};
use crate::workflow::reminders::Reminder;

/// A cycle as the work pages list it.
pub struct CycleRow {
    pub id: i64,
    pub heading: String,
    pub status: &'static str,
    /// `upcoming`, `open`, … for the status badge's style.
    pub status_key: &'static str,
    pub deadline: String,
    /// `2027-11-30T23:59:59+01:00`, for `<time datetime>`.
    pub deadline_iso: String,
    /// Days left or overdue, while the report is awaited.
    pub countdown: Option<String>,
    pub urgent: bool,
    /// A revision's deadline, while one is requested.
    pub revision_due: Option<String>,
    /// Each version's line and its page.
    pub versions: Vec<(String, String)>,
    /// The drafting page, while a report or a revision is awaited, and its link's words.
    pub draft: Option<(String, &'static str)>,
}

impl CycleRow {
    pub fn new(tr: Tr, c: &CycleOverview) -> Self {
        let r = &c.record;
        let tz = r.city.time_zone.tz();
        // The last minute one may submit in (the deadline itself is the midnight after it).
        let local = (c.state.deadline - chrono::TimeDelta::minutes(1)).with_timezone(&tz);
        let deadline = tr.fmt(
            "work.deadline_at",
            &[("date", &tr.date(local.date_naive())), ("time", &local.format("%H:%M")), ("zone", &tz.name())],
        );
        let awaited = matches!(c.state.status, CycleStatus::Upcoming | CycleStatus::Open | CycleStatus::Overdue);
        let countdown = awaited.then(|| match c.state.days_left {
            0 => tr.t("work.due_today").to_owned(),
            n if n > 0 => tr.count("work.days_left", n),
            n => tr.count("work.days_overdue", -n),
        });
        let revision_due = match (c.state.status, r.submissions.last().and_then(|s| s.decision.as_ref())) {
            (CycleStatus::RevisionRequested, Some((_, Some(due)))) => Some(tr.date(*due)),
            _ => None,
        };
        let versions = r
            .submissions
            .iter()
            .map(|s| {
                let date = tr.date(s.submitted_at.and_utc().with_timezone(&tz).date_naive());
                let late = if s.late { tr.t("work.version.late") } else { "" };
                let args: [(&str, &dyn std::fmt::Display); 3] = [("n", &s.version), ("date", &date), ("late", &late)];
                let line = match &s.decision {
                    Some((d, _)) if d == "accept" => tr.fmt("work.version.accepted", &args),
                    Some((_, due)) => {
                        let due = due.map_or_else(|| "—".to_owned(), |d| tr.date(d));
                        tr.fmt("work.version.revision", &[args[0], args[1], args[2], ("due", &due)])
                    }
                    None => tr.fmt("work.version.awaiting", &args),
                };
                (line, format!("/submissions/{}", s.id))
            })
            .collect();
        let status_key = c.state.status.as_str();
        let drafting = matches!(
            c.state.status,
            CycleStatus::Upcoming | CycleStatus::Open | CycleStatus::Overdue | CycleStatus::RevisionRequested
        );
        let draft = drafting.then(|| {
            let words = if r.submissions.is_empty() { tr.t("work.write") } else { tr.t("work.open_draft") };
            (format!("/cycles/{}/draft", r.id), words)
        });
        CycleRow {
            draft,
            id: r.id,
            heading: tr
                .fmt("work.cycle", &[("n", &r.number), ("start", &r.period_start_year), ("end", &r.period_end_year)]),
            status: tr.t(&format!("status.{status_key}")),
            status_key,
            deadline,
            deadline_iso: local.to_rfc3339(),
            countdown,
            urgent: c.state.status == CycleStatus::Overdue,
            revision_due,
            versions,
        }
    }
}

/// A reminder as the work pages list it.
pub struct ReminderRow {
    pub date: String,
    pub stage: String,
    pub recipient: String,
    pub state: &'static str,
}

impl ReminderRow {
    pub fn new(tr: Tr, r: &Reminder) -> Self {
        ReminderRow {
            date: tr.date(r.send_on),
            stage: stage_label(tr, &r.stage),
            recipient: r.recipient.clone(),
            state: tr.t(&format!("reminder.state.{}", r.state.as_str())),
        }
    }
}

/// A reminder stage's name (`before_60`, `due`, `formal_2`, `revision_after_7`, …) for people.
pub fn stage_label(tr: Tr, stage: &str) -> String {
    let number = |prefix: &str| stage.strip_prefix(prefix).and_then(|n| n.parse::<i64>().ok());
    if let Some(n) = number("revision_before_") {
        tr.count("reminder.stage.revision_before", n)
    } else if let Some(n) = number("revision_after_") {
        tr.count("reminder.stage.revision_after", n)
    } else if let Some(n) = number("before_") {
        tr.count("reminder.stage.before", n)
    } else if let Some(n) = number("formal_catchup_").or_else(|| number("formal_")) {
        tr.fmt("reminder.stage.formal", &[("n", &n)])
    } else {
        match stage {
            "due" => tr.t("reminder.stage.due").to_owned(),
            "revision_due" => tr.t("reminder.stage.revision_due").to_owned(),
            "escalation" => tr.t("reminder.stage.escalation").to_owned(),
            other => other.to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    c: Chrome,
    city: String,
    city_href: String,
    facts: String,
    cycles: Vec<CycleRow>,
    reminders: Vec<ReminderRow>,
    reminders_note: Option<String>,
    notice: Option<&'static str>,
}

/// `GET /portal`: the signed-in city's work. Others are sent to their own page.
pub async fn portal(State(state): State<WebState>, ctx: Ctx) -> Response {
    let principal = match signed_in(&ctx) {
        Ok(p) => p.clone(),
        Err(redirect) => return redirect.into_response(),
    };
    if !matches!(principal.scope, Scope::City { .. }) {
        return Redirect::to(home_of(&principal)).into_response();
    }
    let (rules, now) = (state.rules, state.now());
    let work = state.db.run(move |conn| city_work(conn, &rules, &principal, None, now)).await;
    match work {
        Ok(work) => html(&ctx, StatusCode::OK, &portal_page(&ctx, &work)),
        Err(e) => PageError::from(e).page(&ctx),
    }
}

fn portal_page(ctx: &Ctx, work: &CityWork) -> PortalPage {
    let tr = ctx.tr;
    let city = &work.city;
    PortalPage {
        c: ctx.chrome(tr.fmt("portal.title", &[("city", &city.name)]), "work"),
        city: city.name.clone(),
        city_href: format!("/cities/{}", city.slug),
        facts: tr.fmt("portal.facts", &[("zone", &city.time_zone), ("designated", &tr.date(city.designation_date))]),
        cycles: work.cycles.iter().map(|c| CycleRow::new(tr, c)).collect(),
        reminders: work.reminders.iter().map(|r| ReminderRow::new(tr, r)).collect(),
        notice: (ctx.param("done") == Some("submitted")).then(|| tr.t("portal.done.submitted")),
        reminders_note: (work.reminders_total > work.reminders.len() as i64).then(|| {
            tr.fmt("portal.reminders.more", &[("shown", &work.reminders.len()), ("total", &work.reminders_total)])
        }),
    }
}
