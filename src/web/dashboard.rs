//! The desk's dashboard (`/desk/dashboard`): the cycles by status per field, the on-time rate
//! per field per reporting round, and the reports due per year, each as a chart drawn on the
//! server followed by its table. The figures are [`workflow::cycles::dashboard`]'s, as
//! `GET /api/v1/dashboard` gives them; a coordinator's are their field's
//! ([`workflow::desk::narrow`]).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::WebState;
use super::chart;
use super::desk::desk_caller;
use super::i18n::Tr;
use super::page::{Chrome, Ctx, PageError, html};
use super::views::field_name;
use crate::domain::auth::Scope;
use crate::domain::cycles::CycleStatus;
use crate::domain::fields::CreativeField;
use crate::error::Error;
use crate::workflow::cycles::{CycleSelection, Dashboard, OnTime};
use crate::workflow::{self};

/// A chart and the table that says the same.
struct Chart {
    id: &'static str,
    title: String,
    svg: String,
    /// The series' names and colours.
    legend: Vec<(String, &'static str)>,
    /// The heading of the rows' column, then of each series' column.
    row_head: String,
    columns: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    nav: &'static str,
    is_secretariat: bool,
    summary: Vec<String>,
    charts: Vec<Chart>,
}

/// `GET /desk/dashboard`: the Secretariat's figures, or a coordinator's field's.
pub async fn dashboard(State(state): State<WebState>, ctx: Ctx) -> Response {
    let principal = match desk_caller(&ctx) {
        Ok(p) => p,
        Err(redirect) => return redirect.into_response(),
    };
    let mut selection = CycleSelection::default();
    if let Err(e) = workflow::desk::narrow(&principal, &mut selection) {
        return PageError::from(e).page(&ctx);
    }
    let (rules, now) = (state.rules, state.now().and_utc());
    let loaded = state
        .db
        .run(move |conn| {
            let d = workflow::cycles::dashboard(conn, &rules, now, &selection)?;
            Ok::<_, Error>((d, workflow::cities::list_fields(conn)?))
        })
        .await;
    let (d, fields) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let tr = ctx.tr;
    let fields: Vec<CreativeField> = fields.into_iter().map(|(f, _)| f).collect();
    let title = match &principal.scope {
        Scope::Coordinator { field } => {
            tr.fmt("dash.title.field", &[("field", &field_name(tr, &fields, field, field))])
        }
        _ => tr.t("dash.title").to_owned(),
    };
    let page = DashboardPage {
        c: ctx.chrome(title, "work"),
        nav: "dashboard",
        is_secretariat: matches!(principal.scope, Scope::Secretariat),
        summary: vec![
            tr.count("dash.total", d.total as i64),
            tr.count("dash.overdue", d.by_status.get("overdue").copied().unwrap_or(0) as i64),
            tr.count("dash.unreachable", d.cannot_be_reminded as i64),
        ],
        charts: vec![by_field(tr, &fields, &d), on_time(tr, &fields, &d), by_year(tr, &d)],
    };
    html(&ctx, StatusCode::OK, &page)
}

/// The statuses the dashboard counts, in the board's order, then past rounds never received.
fn statuses(tr: Tr) -> Vec<(&'static str, String)> {
    CycleStatus::ALL
        .iter()
        .map(|s| (s.as_str(), tr.t(&format!("status.{}", s.as_str())).to_owned()))
        .chain([("not_received", tr.t("dash.not_received").to_owned())])
        .collect()
}

/// A stacked chart of counts by status, one bar per row.
fn status_chart(
    tr: Tr,
    id: &'static str,
    title: String,
    row_head: String,
    rows: Vec<(String, &BTreeMap<&'static str, usize>)>,
) -> Chart {
    let statuses = statuses(tr);
    let counts: Vec<(String, Vec<usize>)> = rows
        .iter()
        .map(|(label, by)| (label.clone(), statuses.iter().map(|(s, _)| by.get(s).copied().unwrap_or(0)).collect()))
        .collect();
    Chart {
        id,
        svg: chart::stacked_bars(&counts, &title, id, &format!("{id}-table")),
        title,
        legend: statuses.iter().enumerate().map(|(i, (_, name))| (name.clone(), chart::colour(i))).collect(),
        row_head,
        columns: statuses.iter().map(|(_, name)| name.clone()).chain([tr.t("dash.total_column").to_owned()]).collect(),
        rows: counts
            .into_iter()
            .map(|(label, n)| {
                let total = n.iter().sum::<usize>();
                (label, n.iter().chain([&total]).map(|n| tr.number(*n as i64)).collect())
            })
            .collect(),
    }
}

fn by_field(tr: Tr, fields: &[CreativeField], d: &Dashboard) -> Chart {
    let rows = d.by_field.iter().map(|(f, by)| (field_name(tr, fields, f, f).to_owned(), by)).collect();
    status_chart(tr, "by-field", tr.t("dash.by_field").to_owned(), tr.t("dash.field").to_owned(), rows)
}

fn by_year(tr: Tr, d: &Dashboard) -> Chart {
    let rows = d.by_due_year.iter().map(|(y, by)| (y.to_string(), by)).collect();
    status_chart(tr, "by-year", tr.t("dash.by_year").to_owned(), tr.t("dash.year").to_owned(), rows)
}

/// The on-time rate of each field in each round (the year reports were due): a bar per field.
fn on_time(tr: Tr, fields: &[CreativeField], d: &Dashboard) -> Chart {
    let id = "on-time";
    let title = tr.t("dash.on_time").to_owned();
    let field_slugs: Vec<&String> = d.on_time_by_field_and_round.keys().collect();
    let rounds: Vec<i32> = d.on_time_by_round.keys().copied().collect();
    let rate = |o: Option<&OnTime>| o.filter(|o| o.past_cycles > 0).map(|o| o.on_time as f64 / o.past_cycles as f64);
    let shares: Vec<(String, Vec<Option<f64>>)> = rounds
        .iter()
        .map(|round| {
            let per_field =
                field_slugs.iter().map(|f| rate(d.on_time_by_field_and_round.get(*f).and_then(|r| r.get(round))));
            (round.to_string(), per_field.collect())
        })
        .collect();
    let cell = |o: Option<&OnTime>| match o.filter(|o| o.past_cycles > 0) {
        Some(o) => tr.fmt(
            "dash.rate",
            &[
                ("percent", &((o.on_time * 100 + o.past_cycles / 2) / o.past_cycles)),
                ("on_time", &o.on_time),
                ("due", &o.past_cycles),
            ],
        ),
        None => "—".to_owned(),
    };
    let rows = rounds
        .iter()
        .map(|round| {
            let per_field =
                field_slugs.iter().map(|f| cell(d.on_time_by_field_and_round.get(*f).and_then(|r| r.get(round))));
            (round.to_string(), per_field.chain([cell(d.on_time_by_round.get(round))]).collect())
        })
        .collect();
    let names: Vec<String> = field_slugs.iter().map(|f| field_name(tr, fields, f, f).to_owned()).collect();
    Chart {
        id,
        svg: chart::grouped_bars(&shares, &title, id, &format!("{id}-table")),
        title,
        legend: names.iter().enumerate().map(|(i, name)| (name.clone(), chart::colour(i))).collect(),
        row_head: tr.t("dash.round").to_owned(),
        columns: names.into_iter().chain([tr.t("dash.all_fields").to_owned()]).collect(),
        rows,
    }
}
