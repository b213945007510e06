//! The home page (what the reports are, the archive in numbers, the newest reports, a chart of
//! publications per year by field) and the about page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::WebState;
use super::chart;
use super::page::{Chrome, Ctx, PageResult, html, respond};
use super::views::{ReportItem, field_name};
use crate::error::Error;
use crate::workflow;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    stats: Vec<(String, &'static str)>,
    latest: Vec<ReportItem>,
    chart: String,
    /// The chart's data as a table: the fields (with their colours), then each year's counts.
    series: Vec<(String, &'static str)>,
    years: Vec<(i32, Vec<usize>, usize)>,
}

pub async fn home(State(state): State<WebState>, ctx: Ctx) -> Response {
    respond(home_page(state, ctx).await)
}

async fn home_page(state: WebState, ctx: Ctx) -> PageResult {
    let (index, now) = (state.catalog.clone(), state.now());
    let overview = state
        .db
        .run(move |conn| workflow::public::overview(&index, conn, now))
        .await
        .map_err(|e: Error| (ctx.clone(), e.into()))?;
    let tr = ctx.tr;
    let fields: Vec<_> = overview.fields.iter().map(|(f, _)| f.clone()).collect();
    let stats = vec![
        (tr.number(overview.reports as i64), tr.t("home.stat.reports")),
        (tr.number(overview.cities as i64), tr.t("home.stat.cities")),
        (tr.number(overview.countries as i64), tr.t("home.stat.countries")),
        (tr.number(fields.len() as i64), tr.t("home.stat.fields")),
    ];
    let latest = overview.latest.iter().map(|r| ReportItem::new(tr, &fields, r, &HashMap::new())).collect();
    let series: Vec<(String, &'static str)> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (field_name(tr, &fields, &f.slug, &f.name).to_owned(), chart::colour(i)))
        .collect();
    let per_year: Vec<(String, Vec<usize>)> =
        overview.per_year.iter().map(|(y, counts)| (y.to_string(), counts.clone())).collect();
    let page = HomePage {
        c: ctx.chrome(tr.t("home.title"), "home"),
        stats,
        latest,
        chart: chart::stacked_bars(&per_year, tr.t("home.chart.title"), "chart", "chart-table"),
        series,
        years: overview.per_year.iter().map(|(y, counts)| (*y, counts.clone(), counts.iter().sum())).collect(),
    };
    Ok(html(&ctx, StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage {
    c: Chrome,
    base: String,
}

pub async fn about(State(state): State<WebState>, ctx: Ctx) -> Response {
    let page = AboutPage { c: ctx.chrome(ctx.tr.t("about.title"), "about"), base: state.public_url.clone() };
    html(&ctx, StatusCode::OK, &page)
}
