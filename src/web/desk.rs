//! The desk of the Secretariat and the field coordinators: the board (the cycles by status,
//! field, country and days overdue, as the API's `GET /api/v1/cycles` filters and sorts them,
//! with a CSV of the same selection); a city's page is [`super::desk_city`], the dashboard
//! [`super::dashboard`], tokens and staff addresses [`super::access`]. Coordinators see their field only; what
//! they may see is [`workflow::desk`]'s rule, the same as the API's.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::WebState;
use super::i18n::Tr;
use super::page::{Chrome, Ctx, PageError, href, html};
use super::portal::CycleRow;
use super::session::{home_of, signed_in};
use super::views::field_name;
use crate::domain::auth::{Principal, Scope};
use crate::domain::cycles::CycleStatus;
use crate::domain::fields::CreativeField;
use crate::domain::{Invalid, PageRequest};
use crate::error::Error;
use crate::workflow::cycles::{BoardFilter, BoardSort, CycleOverview, CycleSelection};
use crate::workflow::desk::{BoardRequest, board_csv, last_reminders};
use crate::workflow::{self};

const PER_PAGE: i64 = 50;

/// The board's query as the page's form sends it; empty values mean "any".
struct BoardQuery {
    status: Option<CycleStatus>,
    field: Option<String>,
    country: Option<String>,
    min_days_overdue: Option<i64>,
    sort: BoardSort,
    sort_raw: String,
    page: i64,
}

impl BoardQuery {
    fn parse(ctx: &Ctx) -> Result<Self, Invalid> {
        let status = ctx.param("status").map(CycleStatus::parse).transpose()?;
        let min_days_overdue = ctx
            .param("min_days_overdue")
            .map(|n| {
                n.parse::<i64>()
                    .map_err(|_| Invalid::new("min_days_overdue", "must be a whole number of days"))
                    .and_then(crate::domain::cycles::min_days_overdue)
            })
            .transpose()?;
        let sort_raw = ctx.param("sort").unwrap_or("due_date").to_owned();
        let page = ctx
            .param("page")
            .map(|n| n.parse::<i64>().map_err(|_| Invalid::new("page", "must be a page number")))
            .transpose()?
            .unwrap_or(1);
        Ok(Self {
            status,
            field: ctx.param("field").map(str::to_owned),
            country: ctx.param("country").map(|c| c.to_ascii_uppercase()),
            min_days_overdue,
            sort: BoardSort::parse(&sort_raw)?,
            sort_raw,
            page,
        })
    }

    fn selection(&self) -> CycleSelection {
        CycleSelection { field: self.field.clone(), country: self.country.clone(), ..Default::default() }
    }

    fn filter(&self) -> BoardFilter {
        BoardFilter {
            status: self.status,
            min_days_overdue: self.min_days_overdue,
            sort: self.sort,
            ..Default::default()
        }
    }
}

/// A board row.
struct BoardRow {
    city: String,
    city_href: String,
    country: String,
    field: String,
    cycle: String,
    deadline: String,
    status: &'static str,
    status_key: &'static str,
    days_overdue: i64,
    last_reminder: Option<String>,
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    c: Chrome,
    nav: &'static str,
    is_secretariat: bool,
    statuses: Vec<(&'static str, &'static str)>,
    status: String,
    fields: Vec<(String, String)>,
    field: String,
    country: String,
    min_days_overdue: String,
    sorts: Vec<(&'static str, &'static str)>,
    sort: String,
    total: String,
    rows: Vec<BoardRow>,
    csv_href: String,
    page_of: Option<String>,
    prev: Option<String>,
    next: Option<String>,
}

/// The desk is for the Secretariat and coordinators; a city's focal point goes to the portal.
pub(super) fn desk_caller(ctx: &Ctx) -> Result<Principal, Redirect> {
    let principal = signed_in(ctx)?;
    if matches!(principal.scope, Scope::City { .. }) {
        return Err(Redirect::to(home_of(principal)));
    }
    Ok(principal.clone())
}

/// `GET /desk`: the board.
pub async fn board(State(state): State<WebState>, ctx: Ctx) -> Response {
    let principal = match desk_caller(&ctx) {
        Ok(p) => p,
        Err(redirect) => return redirect.into_response(),
    };
    let q = match BoardQuery::parse(&ctx) {
        Ok(q) => q,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let page = match PageRequest::parse(Some(q.page), Some(PER_PAGE)) {
        Ok(p) => p,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let (rules, now) = (state.rules, state.now().and_utc());
    let (selection, filter, caller) = (q.selection(), q.filter(), principal.clone());
    let loaded = state
        .db
        .run(move |conn| {
            let request = BoardRequest { caller: &caller, selection, filter: &filter };
            let rows = request.page(conn, &rules, now, page)?;
            let reminded = last_reminders(conn, &rows.items)?;
            let fields = workflow::cities::list_fields(conn)?;
            Ok::<_, Error>((rows, reminded, fields))
        })
        .await;
    let (rows, reminded, fields) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let tr = ctx.tr;
    let fields: Vec<CreativeField> = fields.into_iter().map(|(f, _)| f).collect();
    let pages = (rows.total + PER_PAGE - 1) / PER_PAGE;
    let page_href = |n: i64| {
        let mut pairs: Vec<(String, String)> = ctx.query.iter().filter(|(k, _)| k != "page").cloned().collect();
        pairs.push(("page".into(), n.to_string()));
        href("/desk", &pairs)
    };
    let title = match &principal.scope {
        Scope::Coordinator { field } => {
            tr.fmt("desk.title.field", &[("field", &field_name(tr, &fields, field, field))])
        }
        _ => tr.t("desk.title").to_owned(),
    };
    let page = DeskPage {
        c: ctx.chrome(title, "work"),
        nav: "board",
        is_secretariat: matches!(principal.scope, Scope::Secretariat),
        statuses: CycleStatus::ALL.iter().map(|s| (s.as_str(), tr.t(&format!("status.{}", s.as_str())))).collect(),
        status: q.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        fields: fields.iter().map(|f| (f.slug.clone(), f.name_in(tr.lang.code()).to_owned())).collect(),
        field: q.field.clone().unwrap_or_default(),
        country: q.country.clone().unwrap_or_default(),
        min_days_overdue: q.min_days_overdue.map(|n| n.to_string()).unwrap_or_default(),
        sorts: vec![
            ("due_date", tr.t("desk.sort.due_date")),
            ("-due_date", tr.t("desk.sort.due_date_desc")),
            ("days_overdue", tr.t("desk.sort.days_overdue")),
            ("city", tr.t("desk.sort.city")),
        ],
        sort: q.sort_raw.clone(),
        total: tr.count("desk.total", rows.total),
        rows: rows.items.iter().map(|c| board_row(tr, &fields, c, &reminded)).collect(),
        csv_href: href("/desk/board.csv", &ctx.query.iter().filter(|(k, _)| k != "page").cloned().collect::<Vec<_>>()),
        page_of: (pages > 1).then(|| tr.fmt("cities.page_of", &[("page", &q.page), ("pages", &pages)])),
        prev: (q.page > 1).then(|| page_href(q.page - 1)),
        next: (q.page < pages).then(|| page_href(q.page + 1)),
    };
    html(&ctx, StatusCode::OK, &page)
}

fn board_row(
    tr: Tr,
    fields: &[CreativeField],
    c: &CycleOverview,
    reminded: &HashMap<i64, chrono::NaiveDate>,
) -> BoardRow {
    let cycle = CycleRow::new(tr, c);
    let r = &c.record;
    BoardRow {
        city: r.city.name.clone(),
        city_href: format!("/desk/cities/{}#cycle-{}", r.city.slug, r.id),
        country: r.city.country.clone(),
        field: field_name(tr, fields, &r.city.field, &r.city.field).to_owned(),
        cycle: cycle.heading,
        deadline: tr.date(r.due_date()),
        status: cycle.status,
        status_key: cycle.status_key,
        days_overdue: c.state.days_overdue,
        last_reminder: reminded.get(&r.id).map(|d| tr.date(*d)),
    }
}

/// `GET /desk/board.csv`: the board's whole selection as CSV (the API's columns).
pub async fn board_csv_download(State(state): State<WebState>, ctx: Ctx) -> Response {
    let principal = match desk_caller(&ctx) {
        Ok(p) => p,
        Err(redirect) => return redirect.into_response(),
    };
    let q = match BoardQuery::parse(&ctx) {
        Ok(q) => q,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let (rules, now) = (state.rules, state.now().and_utc());
    let (selection, filter) = (q.selection(), q.filter());
    let rows = state
        .db
        .run(move |conn| BoardRequest { caller: &principal, selection, filter: &filter }.all(conn, &rules, now))
        .await;
    match rows.map(|rows| board_csv(&rows)) {
        Ok(Ok(body)) => {
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"mmr-cycles.csv\""),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "writing the board's CSV failed");
            PageError::Internal.page(&ctx)
        }
        Err(e) => PageError::from(e).page(&ctx),
    }
}
