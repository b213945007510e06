//! Reporting cycles: the Secretariat's board (JSON or CSV), the dashboard, a city's cycles, one
//! cycle, catch-up due dates and extensions, and deadline calendars (ICS).
//!
//! Reading follows DESIGN.md §3: the Secretariat sees every cycle, a coordinator the cycles of
//! their field, a city its own; asking for another field or city is a 403, not an empty list.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cities::path_slug;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::{ApiError, AppState, ListView, PageQuery, rfc3339};
use crate::domain::auth::{Action, Denied, Scope};
use crate::domain::cities::CountryCode;
use crate::domain::cycles::{CycleRules, CycleStatus, Decision};
use crate::domain::fields::FieldSlug;
use crate::domain::{Invalid, Page, parse_date};
use crate::workflow::Conn;
use crate::workflow::cycles::{BoardFilter, BoardSort, CycleOverview, Dashboard};
use crate::workflow::cycles::{CycleSelection, Extension};
use crate::workflow::desk::BoardRequest;
use crate::workflow::{self, Actor};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(board))
        .routes(routes!(show))
        .routes(routes!(extend))
        .routes(routes!(set_due_date))
        .routes(routes!(city_cycles))
        .routes(routes!(city_calendar))
        .routes(routes!(calendar))
        .routes(routes!(dashboard))
}

#[derive(Serialize, ToSchema)]
struct CityBriefView {
    slug: String,
    name: String,
    country: String,
    field: String,
}

/// A cycle with its derived state.
#[derive(Serialize, ToSchema)]
struct CycleView {
    id: i64,
    city: CityBriefView,
    number: i32,
    period_start_year: i32,
    period_end_year: i32,
    /// The due date in force (after any extension), in the city's time zone.
    due_date: String,
    /// The regular or catch-up date before extensions.
    scheduled_due_date: String,
    due_date_overridden: bool,
    extended: bool,
    /// The last minute to submit, 23:59 in the city's time zone.
    deadline: String,
    time_zone: String,
    window_opens: String,
    /// `upcoming`, `open`, `submitted`, `revision_requested`, `accepted`, `overdue` or `closed`.
    #[schema(pattern = "^(upcoming|open|submitted|revision_requested|accepted|overdue|closed)$")]
    status: &'static str,
    days_left: i64,
    days_overdue: i64,
    late: bool,
    versions: usize,
    last_submitted_at: Option<String>,
    /// A past round closed by the history import: never reminded.
    closed_by_history: bool,
    /// `on_time`, `late` or `never_received` once settled (see `CycleOverview::outcome`); with
    /// the status `closed`, what became of a past round.
    outcome: Option<&'static str>,
    days_late: Option<i64>,
    /// The decision on the latest version: `accepted`, `revision_requested`, or `null`.
    decision: Option<&'static str>,
}

impl From<&CycleOverview> for CycleView {
    fn from(c: &CycleOverview) -> Self {
        let r = &c.record;
        Self {
            id: r.id,
            city: CityBriefView {
                slug: r.city.slug.clone(),
                name: r.city.name.clone(),
                country: r.city.country.clone(),
                field: r.city.field.clone(),
            },
            number: r.number,
            period_start_year: r.period_start_year,
            period_end_year: r.period_end_year,
            due_date: r.due_date().to_string(),
            scheduled_due_date: r.scheduled_due.to_string(),
            due_date_overridden: r.due_date_overridden,
            extended: r.extended_due.is_some(),
            deadline: workflow::desk::last_minute(c),
            time_zone: r.city.time_zone.name().to_owned(),
            window_opens: c.state.window_opens.to_string(),
            status: c.state.status.as_str(),
            days_left: c.state.days_left,
            days_overdue: c.state.days_overdue,
            late: c.state.late,
            versions: r.submissions.len(),
            last_submitted_at: r.submissions.last().map(|s| rfc3339(s.submitted_at.and_utc())),
            closed_by_history: r.closed_by_history,
            outcome: c.outcome().map(|(o, _)| o),
            days_late: c.outcome().and_then(|(_, days)| days),
            decision: r.latest_decision.map(|d| match d {
                Decision::Accepted => CycleStatus::Accepted.as_str(),
                Decision::RevisionRequested { .. } => CycleStatus::RevisionRequested.as_str(),
            }),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct BoardQuery {
    /// `upcoming`, `open`, `submitted`, `revision_requested`, `accepted`, `overdue` or `closed`.
    status: Option<String>,
    /// A creative field's slug.
    field: Option<String>,
    /// ISO 3166-1 alpha-2.
    country: Option<String>,
    /// Due on or after this date.
    #[param(format = Date)]
    due_from: Option<String>,
    /// Due on or before this date.
    #[param(format = Date)]
    due_to: Option<String>,
    /// At least this many days overdue.
    #[param(minimum = 0)]
    min_days_overdue: Option<i64>,
    /// `due_date` (the default), `-due_date`, `days_overdue` or `city`.
    sort: Option<String>,
    /// `csv`: the whole filtered list as CSV (so does `Accept: text/csv`).
    format: Option<String>,
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items a page (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

/// The board: cycles filtered by status, field, country, due window and days overdue, sorted,
/// paginated; `?format=csv` or `Accept: text/csv` gives the whole filtered list as CSV.
#[utoipa::path(get, path = "/cycles", tag = "cycles", params(BoardQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of cycles, or all of them as CSV", content(
        (ListView<CycleView> = "application/json"), (String = "text/csv")))))]
async fn board(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<BoardQuery>,
) -> Result<Response, ApiError> {
    let principal = auth.signed_in()?.clone();
    let csv = match q.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => return Err(Invalid::new("format", format!("`{other}` is not a format (json, csv)")).into()),
        None => headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv")),
    };
    let page = PageQuery { page: q.page, per_page: q.per_page }.parse()?;
    let field = q.field.as_deref().map(FieldSlug::parse).transpose()?;
    let selection = CycleSelection {
        field: field.as_ref().map(|f| f.as_str().to_owned()),
        country: q.country.as_deref().map(CountryCode::parse).transpose()?.map(|c| c.as_str().to_owned()),
        ..CycleSelection::default()
    };
    let filter = BoardFilter {
        status: q.status.as_deref().map(CycleStatus::parse).transpose()?,
        due_from: q.due_from.as_deref().map(|d| parse_date("due_from", d)).transpose()?,
        due_to: q.due_to.as_deref().map(|d| parse_date("due_to", d)).transpose()?,
        min_days_overdue: q.min_days_overdue.map(crate::domain::cycles::min_days_overdue).transpose()?,
        sort: q.sort.as_deref().map(BoardSort::parse).transpose()?.unwrap_or_default(),
    };
    let (rules, now) = (state.rules, state.now().and_utc());
    let rows = state
        .db
        .run(move |conn| {
            let request = BoardRequest { caller: &principal, selection, filter: &filter };
            Ok::<_, ApiError>(if csv {
                BoardRows::All(request.all(conn, &rules, now)?)
            } else {
                BoardRows::Page(request.page(conn, &rules, now, page)?)
            })
        })
        .await?;
    match rows {
        BoardRows::Page(page) => Ok(Json(ListView::from_page(page, |c| CycleView::from(&c))).into_response()),
        BoardRows::All(all) => csv_response(&all),
    }
}

/// What the board answers: one page (JSON) or the whole filtered list (CSV).
enum BoardRows {
    Page(Page<CycleOverview>),
    All(Vec<CycleOverview>),
}

fn csv_response(rows: &[CycleOverview]) -> Result<Response, ApiError> {
    let body = workflow::desk::board_csv(rows)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"mmr-cycles.csv\"")),
        ],
        body,
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
struct SubmissionBrief {
    id: i64,
    version: i32,
    submitted_at: String,
    late: bool,
    decision: Option<String>,
    revision_due: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ExtensionView {
    from: String,
    to: String,
    reason: String,
    granted_by: String,
    granted_at: String,
}

impl From<Extension> for ExtensionView {
    fn from(e: Extension) -> Self {
        Self {
            from: e.previous_due.to_string(),
            to: e.new_due.to_string(),
            reason: e.reason,
            granted_by: e.granted_by,
            granted_at: rfc3339(e.granted_at.and_utc()),
        }
    }
}

/// One cycle with its versions and the history of its deadline.
#[derive(Serialize, ToSchema)]
struct CycleDetailView {
    #[serde(flatten)]
    cycle: CycleView,
    submissions: Vec<SubmissionBrief>,
    extensions: Vec<ExtensionView>,
}

impl CycleDetailView {
    fn new(c: &CycleOverview, extensions: Vec<Extension>) -> Self {
        Self {
            cycle: c.into(),
            submissions: c
                .record
                .submissions
                .iter()
                .map(|s| SubmissionBrief {
                    id: s.id,
                    version: s.version,
                    submitted_at: rfc3339(s.submitted_at.and_utc()),
                    late: s.late,
                    decision: s.decision.as_ref().map(|d| d.0.clone()),
                    revision_due: s.decision.as_ref().and_then(|d| d.1).map(|d| d.to_string()),
                })
                .collect(),
            extensions: extensions.into_iter().map(ExtensionView::from).collect(),
        }
    }
}

/// One cycle: the city, its coordinator and the Secretariat.
#[utoipa::path(get, path = "/cycles/{id}", tag = "cycles", params(("id" = i64, Path, description = "The cycle's id")), security(("bearer" = [])),
    responses((status = 200, description = "The cycle", body = CycleDetailView)))]
async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CycleDetailView>, ApiError> {
    let principal = auth.signed_in()?.clone();
    let (rules, now) = (state.rules, state.now().and_utc());
    let (cycle, extensions) = state
        .db
        .run(move |conn| {
            let cycle = workflow::cycles::get(conn, &rules, now, id)?;
            Ok::<_, ApiError>((cycle, workflow::cycles::extensions(conn, id)?))
        })
        .await?;
    workflow::cycles::may_read(Some(&principal), &cycle)?;
    Ok(Json(CycleDetailView::new(&cycle, extensions)))
}

/// A past round of a city that the system knows nothing of (see
/// [`workflow::cycles::UntrackedRound`]).
#[derive(Serialize, ToSchema)]
struct NotTrackedView {
    number: u32,
    period_start_year: i32,
    period_end_year: i32,
    /// The regular due date of the round.
    due_date: String,
    /// `not_tracked`.
    #[schema(pattern = "^not_tracked$")]
    status: &'static str,
}

/// An entry of a city's list of rounds: a cycle, or a past round not tracked.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum RoundView {
    Cycle(Box<CycleDetailView>),
    NotTracked(NotTrackedView),
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CityCyclesQuery {
    /// `not_tracked`: list the past rounds neither created nor imported too.
    include: Option<String>,
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items a page (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

/// A city's cycles, oldest first, with versions and extensions. With `?include=not_tracked`, the
/// past rounds the system knows nothing of (due before `MMR_FIRST_DUE_YEAR`, never imported)
/// are listed in their place among them, as `{number, period_start_year, period_end_year,
/// due_date, status: "not_tracked"}`: the same rounds the dashboard counts as `not_tracked`.
#[utoipa::path(get, path = "/cities/{slug}/cycles", tag = "cycles", params(("slug" = String, Path, description = "The city's slug", example = "krakow"), CityCyclesQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of the city's rounds", body = ListView<RoundView>)))]
async fn city_cycles(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<CityCyclesQuery>,
) -> Result<Json<ListView<RoundView>>, ApiError> {
    let principal = auth.signed_in()?.clone();
    let slug = path_slug(&slug)?;
    let with_untracked = match query.include.as_deref() {
        None => false,
        Some("not_tracked") => true,
        Some(other) => {
            return Err(Invalid::new("include", format!("`{other}` is not something to include (not_tracked)")).into());
        }
    };
    let (rules, now) = (state.rules, state.now().and_utc());
    let views = state
        .db
        .run(move |conn| {
            let city = workflow::cities::with_readable_work(conn, &principal, slug.as_str())?;
            let sel = CycleSelection { city_id: Some(city.id), include_withdrawn: true, ..CycleSelection::default() };
            let cycles = workflow::cycles::overview(conn, &rules, now, &sel)?;
            let untracked = if with_untracked {
                workflow::cycles::not_tracked(conn, &rules, now.date_naive(), &sel, &cycles)?
            } else {
                Vec::new()
            };
            let mut views = Vec::with_capacity(cycles.len() + untracked.len());
            for c in &cycles {
                let detail = CycleDetailView::new(c, workflow::cycles::extensions(conn, c.record.id)?);
                views.push((c.record.number, RoundView::Cycle(Box::new(detail))));
            }
            views.extend(untracked.into_iter().map(|r| {
                let view = NotTrackedView {
                    number: r.plan.number,
                    period_start_year: r.plan.period_start_year,
                    period_end_year: r.plan.period_end_year(),
                    due_date: r.plan.due_date.to_string(),
                    status: "not_tracked",
                };
                (r.plan.number as i32, RoundView::NotTracked(view))
            }));
            views.sort_by_key(|(number, _)| *number);
            Ok::<_, crate::error::Error>(views.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
        })
        .await?;
    let page = PageQuery { page: query.page, per_page: query.per_page };
    Ok(Json(ListView::of(views, &page, |v| v)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExtensionBody {
    /// The new due date, later than the one in force.
    #[schema(format = Date, example = "2027-03-31")]
    due_date: String,
    #[schema(example = "The city council's elections delayed the report.")]
    reason: String,
}

/// Grants an extension (Secretariat): a later date and a reason, kept as history.
#[utoipa::path(post, path = "/cycles/{id}/extension", tag = "cycles", params(("id" = i64, Path, description = "The cycle's id")), request_body = ExtensionBody,
    security(("bearer" = [])), responses((status = 200, description = "The cycle as it now is", body = CycleDetailView),
        (status = 409, description = "The report is accepted, or the round was closed by the history import", body = super::openapi::ErrorBody)))]
async fn extend(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ExtensionBody>,
) -> Result<Json<CycleDetailView>, ApiError> {
    let due = parse_date("due_date", &body.due_date)?;
    change(state, auth, move |conn, actor, rules, now| {
        workflow::cycles::extend(conn, actor, rules, id, due, &body.reason, now)
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DueDateBody {
    #[schema(format = Date, example = "2027-06-30")]
    due_date: String,
}

/// Sets a cycle's scheduled due date, for catch-up rounds (Secretariat).
#[utoipa::path(put, path = "/cycles/{id}/due-date", tag = "cycles", params(("id" = i64, Path, description = "The cycle's id")), request_body = DueDateBody,
    security(("bearer" = [])), responses((status = 200, description = "The cycle as it now is", body = CycleDetailView)))]
async fn set_due_date(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DueDateBody>,
) -> Result<Json<CycleDetailView>, ApiError> {
    let due = parse_date("due_date", &body.due_date)?;
    change(state, auth, move |conn, actor, rules, now| workflow::cycles::set_due_date(conn, actor, rules, id, due, now))
        .await
}

/// Runs a Secretariat change to a cycle and answers with the cycle as it now is.
async fn change(
    state: AppState,
    auth: Auth,
    f: impl FnOnce(&mut Conn<'_>, &Actor, &CycleRules, NaiveDateTime) -> crate::error::Result<CycleOverview>
    + Send
    + 'static,
) -> Result<Json<CycleDetailView>, ApiError> {
    auth.require(Action::EditRegistry)?;
    let (actor, rules, now) = (auth.actor()?, state.rules, state.now());
    let (cycle, extensions) = state
        .db
        .run(move |conn| {
            let cycle = f(conn, &actor, &rules, now)?;
            let extensions = workflow::cycles::extensions(conn, cycle.record.id)?;
            Ok::<_, ApiError>((cycle, extensions))
        })
        .await?;
    Ok(Json(CycleDetailView::new(&cycle, extensions)))
}

#[derive(Serialize, ToSchema)]
struct OnTimeView {
    past_cycles: usize,
    on_time: usize,
    rate: Option<f64>,
}

impl From<crate::workflow::cycles::OnTime> for OnTimeView {
    fn from(o: crate::workflow::cycles::OnTime) -> Self {
        let rate = (o.past_cycles > 0).then(|| o.on_time as f64 / o.past_cycles as f64);
        Self { past_cycles: o.past_cycles, on_time: o.on_time, rate }
    }
}

#[derive(Serialize, ToSchema)]
struct DashboardView {
    as_of: String,
    total: usize,
    by_status: std::collections::BTreeMap<&'static str, usize>,
    by_field: std::collections::BTreeMap<String, std::collections::BTreeMap<&'static str, usize>>,
    by_country: std::collections::BTreeMap<String, std::collections::BTreeMap<&'static str, usize>>,
    /// By the year the reports are due (JSON object keys are strings).
    #[schema(value_type = std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>)]
    by_due_year: std::collections::BTreeMap<i32, std::collections::BTreeMap<&'static str, usize>>,
    on_time_by_field: std::collections::BTreeMap<String, OnTimeView>,
    /// Per round: the year the reports were due.
    #[schema(value_type = std::collections::BTreeMap<String, OnTimeView>)]
    on_time_by_round: std::collections::BTreeMap<i32, OnTimeView>,
    #[schema(value_type = std::collections::BTreeMap<String, std::collections::BTreeMap<String, OnTimeView>>)]
    on_time_by_field_and_round: std::collections::BTreeMap<String, std::collections::BTreeMap<i32, OnTimeView>>,
    /// Overdue reports of cities that cannot be reminded (no contact, or every message failed).
    cannot_be_reminded: usize,
    /// Past rounds neither created nor imported, by due year: not tracked (never overdue).
    #[schema(value_type = std::collections::BTreeMap<String, usize>)]
    not_tracked: std::collections::BTreeMap<i32, usize>,
}

impl DashboardView {
    fn new(d: Dashboard, now: DateTime<Utc>) -> Self {
        Self {
            as_of: rfc3339(now),
            total: d.total,
            by_status: d.by_status,
            by_field: d.by_field,
            by_country: d.by_country,
            by_due_year: d.by_due_year,
            cannot_be_reminded: d.cannot_be_reminded,
            not_tracked: d.not_tracked,
            on_time_by_field: d.on_time_by_field.into_iter().map(|(f, o)| (f, o.into())).collect(),
            on_time_by_round: d.on_time_by_round.into_iter().map(|(y, o)| (y, o.into())).collect(),
            on_time_by_field_and_round: d
                .on_time_by_field_and_round
                .into_iter()
                .map(|(f, rounds)| (f, rounds.into_iter().map(|(y, o)| (y, o.into())).collect()))
                .collect(),
        }
    }
}

/// Counts by status per field, country and due year, and on-time rates per field (the
/// Secretariat; a coordinator sees their field).
#[utoipa::path(get, path = "/dashboard", tag = "cycles", security(("bearer" = [])),
    responses((status = 200, description = "The counts", body = DashboardView)))]
async fn dashboard(State(state): State<AppState>, auth: Auth) -> Result<Json<DashboardView>, ApiError> {
    let principal = auth.signed_in()?.clone();
    if matches!(principal.scope, Scope::City { .. }) {
        return Err(Denied::Forbidden.into());
    }
    let mut sel = CycleSelection::default();
    workflow::desk::narrow(&principal, &mut sel)?;
    let (rules, now) = (state.rules, state.now().and_utc());
    let d = state.db.run(move |conn| workflow::cycles::dashboard(conn, &rules, now, &sel)).await?;
    Ok(Json(DashboardView::new(d, now)))
}

/// A city's deadlines as an iCalendar feed.
#[utoipa::path(get, path = "/cities/{slug}/deadlines.ics", tag = "cycles", params(("slug" = String, Path, description = "The city's slug", example = "krakow")), security(("bearer" = [])),
    responses((status = 200, description = "An iCalendar feed (RFC 5545)", content_type = "text/calendar", body = String)))]
async fn city_calendar(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
) -> Result<Response, ApiError> {
    let principal = auth.signed_in()?.clone();
    let slug = path_slug(&slug)?;
    let (rules, now) = (state.rules, state.now().and_utc());
    let cycles = state
        .db
        .run(move |conn| {
            let city = workflow::cities::with_readable_work(conn, &principal, slug.as_str())?;
            let sel = CycleSelection { city_id: Some(city.id), include_withdrawn: true, ..CycleSelection::default() };
            workflow::cycles::overview(conn, &rules, now, &sel)
        })
        .await?;
    Ok(ics_response(&cycles, now))
}

/// Every deadline the caller may see (the Secretariat: all; a coordinator: their field; a city:
/// its own) as an iCalendar feed.
#[utoipa::path(get, path = "/deadlines.ics", tag = "cycles", security(("bearer" = [])),
    responses((status = 200, description = "An iCalendar feed (RFC 5545)", content_type = "text/calendar", body = String)))]
async fn calendar(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let principal = auth.signed_in()?.clone();
    let mut sel = CycleSelection::default();
    workflow::desk::narrow(&principal, &mut sel)?;
    let (rules, now) = (state.rules, state.now().and_utc());
    let cycles = state.db.run(move |conn| workflow::cycles::overview(conn, &rules, now, &sel)).await?;
    Ok(ics_response(&cycles, now))
}

fn ics_response(cycles: &[CycleOverview], now: DateTime<Utc>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"))], ics(cycles, now))
        .into_response()
}

/// RFC 5545: one all-minute event at 23:59 local per cycle, UTC times, escaped and folded lines.
fn ics(cycles: &[CycleOverview], now: DateTime<Utc>) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//UNESCO Creative Cities Network//mmr//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "X-WR-CALNAME:Membership Monitoring Report deadlines".to_owned(),
    ];
    for c in cycles {
        let r = &c.record;
        lines.extend([
            "BEGIN:VEVENT".to_owned(),
            format!("UID:mmr-cycle-{}-{}@uccn", r.id, r.due_date()),
            format!("DTSTAMP:{}", stamp(now)),
            format!("DTSTART:{}", stamp(c.state.deadline - TimeDelta::minutes(1))),
            format!("DTEND:{}", stamp(c.state.deadline)),
            format!(
                "SUMMARY:{}",
                escape(&format!(
                    "MMR due: {} ({}), cycle {} ({}–{})",
                    r.city.name, r.city.field, r.number, r.period_start_year, r.period_end_year
                ))
            ),
            format!(
                "DESCRIPTION:{}",
                escape(&format!(
                    "Membership Monitoring Report of {} for {}–{}, due {} at 23:59 ({}). Status: {}.",
                    r.city.name,
                    r.period_start_year,
                    r.period_end_year,
                    r.due_date(),
                    r.city.time_zone,
                    c.state.status.as_str()
                ))
            ),
            "TRANSP:TRANSPARENT".to_owned(),
            "END:VEVENT".to_owned(),
        ]);
    }
    lines.push("END:VCALENDAR".to_owned());
    lines.iter().map(|l| fold(l)).collect::<Vec<_>>().join("")
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace(['\r', '\n'], "\\n")
}

/// Folds a content line at 75 octets without splitting a UTF-8 character, ending in CRLF.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for ch in line.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ics_lines_are_folded_and_escaped() {
        let long = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&long);
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", ""), format!("{long}\r\n"));
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn impossible_dates_are_rejected_by_name() {
        assert_eq!(parse_date("due_from", "2026-02-30").unwrap_err().field, "due_from");
        assert!(parse_date("due_to", "2026-02-28").is_ok());
    }
}
