//! Queries on reporting cycles: creating them, loading them with their city and submissions, the
//! board's filtered, counted and ordered selections, and their deadlines (catch-up dates and
//! extensions).
//!
//! The cycle row carries what the board and the reminder sweep select by (migration
//! `cycle_board`): the due date in force (`due_in_force`, generated from the scheduled date and
//! the latest extension's `extended_due`), the city's slug and field (which the database keeps
//! equal to the city's), and the submission facts a status is derived from
//! (`first_submitted_at`, `latest_decision`, `revision_due`), which [`refresh_progress`]
//! recomputes. Status itself is derived in `domain::cycles`: the queries here select by its
//! inputs, never by a stored status.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::schema::{cities, cycle_extensions, reporting_cycles, review_decisions, submissions};
use super::{Conn, DbError, with_conn};
use crate::domain::cities::{CityTimeZone, Language};
use crate::domain::cycles::{CyclePlan, Decision};

/// Rows per statement where a list of ids is bound: under SQLite's and PostgreSQL's parameter
/// limits.
const CHUNK: usize = 5_000;

/// A cycle with its city and everything its status needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleRecord {
    pub id: i64,
    pub number: i32,
    pub period_start_year: i32,
    pub period_end_year: i32,
    /// The regular or overridden due date, before extensions.
    pub scheduled_due: NaiveDate,
    pub due_date_overridden: bool,
    /// The latest extension's date, if any.
    pub extended_due: Option<NaiveDate>,
    /// When the first version was submitted, as kept on the cycle row by [`refresh_progress`].
    pub first_submitted_at: Option<NaiveDateTime>,
    /// The decision on the latest version, if it is decided, as kept by [`refresh_progress`].
    pub latest_decision: Option<Decision>,
    /// A past round closed by the history import: nothing more is expected and no reminder goes
    /// out for it, whatever its status.
    pub closed_by_history: bool,
    pub city: CityBrief,
    /// Every submitted version, oldest first.
    pub submissions: Vec<SubmissionFact>,
}

impl CycleRecord {
    /// The due date in force.
    pub fn due_date(&self) -> NaiveDate {
        self.extended_due.unwrap_or(self.scheduled_due)
    }
}

/// The parts of a city the cycle views need.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct CityBrief {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub country: String,
    pub field: String,
    /// Parsed as the rows are read: a zone the database holds but the time-zone database does not
    /// know is an error, never silently UTC.
    #[diesel(deserialize_as = String)]
    pub time_zone: CityTimeZone,
    #[diesel(deserialize_as = String)]
    pub language: Language,
}

/// A submitted version, with the decision on it if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionFact {
    pub id: i64,
    pub version: i32,
    pub submitted_at: NaiveDateTime,
    pub late: bool,
    /// `accept` or `request_revision`, with the revision deadline.
    pub decision: Option<(String, Option<NaiveDate>)>,
}

/// One granted extension.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Extension {
    pub id: i64,
    pub previous_due: NaiveDate,
    pub new_due: NaiveDate,
    pub reason: String,
    pub granted_by: String,
    pub granted_at: NaiveDateTime,
}

/// Which cycles to load.
#[derive(Debug, Clone, Default)]
pub struct CycleSelection {
    pub cycle_id: Option<i64>,
    pub city_id: Option<i64>,
    pub field: Option<String>,
    pub country: Option<String>,
    /// Withdrawn cities' cycles are left out unless asked for.
    pub include_withdrawn: bool,
}

/// Which cycles with a submission a [`CycleFilter`] keeps, by the decision on their latest
/// version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubmittedCycles {
    /// The latest version is not decided yet.
    pub undecided: bool,
    pub accepted: bool,
    pub revision_requested: bool,
}

impl SubmittedCycles {
    pub const ALL: Self = Self { undecided: true, accepted: true, revision_requested: true };
    pub const NONE: Self = Self { undecided: false, accepted: false, revision_requested: false };
}

/// Which cycles without a submission a [`CycleFilter`] keeps, by due date in force and city time
/// zone. The default keeps them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueWindow {
    /// Due on or after this date.
    pub from: Option<NaiveDate>,
    /// Due on or before this date.
    pub to: Option<NaiveDate>,
    /// Due-date ranges (inclusive) left out.
    pub skip: Vec<(NaiveDate, NaiveDate)>,
    /// Due dates on which only the cities in the listed time zones are kept.
    pub zoned: Vec<(NaiveDate, Vec<String>)>,
}

/// A selection of cycles by their city and by the inputs of their status.
#[derive(Debug, Clone, Default)]
pub struct CycleFilter {
    pub selection: CycleSelection,
    /// Due date in force on or after.
    pub due_from: Option<NaiveDate>,
    /// Due date in force on or before.
    pub due_to: Option<NaiveDate>,
    pub submitted: SubmittedCycles,
    /// `None` keeps no cycle without a submission.
    pub unsubmitted: Option<DueWindow>,
    /// Keeps the past rounds closed by the history import, whose status is `closed` whatever
    /// their dates and submissions; `submitted` and `unsubmitted` select among the other cycles.
    pub closed: bool,
}

/// What a [`CycleFilter`] does with the cycles closed by history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClosedPart {
    /// Leaves them out.
    Left,
    /// Keeps them and nothing else.
    Only,
    /// Keeps them beside the other cycles its conditions keep.
    Also,
}

impl CycleFilter {
    /// Every cycle of the selection.
    pub fn all(selection: CycleSelection) -> Self {
        Self {
            selection,
            submitted: SubmittedCycles::ALL,
            unsubmitted: Some(DueWindow::default()),
            closed: true,
            ..Self::default()
        }
    }

    /// Whether the filter keeps no cycle that is not closed by history.
    fn keeps_no_open_cycle(&self) -> bool {
        self.submitted == SubmittedCycles::NONE && self.unsubmitted.is_none()
    }

    /// Whether the filter keeps nothing whatever the data.
    fn keeps_nothing(&self) -> bool {
        self.keeps_no_open_cycle() && !self.closed
    }

    fn closed_part(&self) -> ClosedPart {
        match (self.closed, self.keeps_no_open_cycle()) {
            (false, _) => ClosedPart::Left,
            (true, true) => ClosedPart::Only,
            (true, false) => ClosedPart::Also,
        }
    }

    fn zoned_dates(&self) -> Vec<NaiveDate> {
        self.unsubmitted.iter().flat_map(|w| w.zoned.iter().map(|(d, _)| *d)).collect()
    }

    /// Whether the filter keeps this cycle: what the SQL conditions say, for the few rows that
    /// are cheaper to judge here (the cycles of withdrawn cities, which a count takes away).
    fn keeps(&self, row: &FilterColumns) -> bool {
        let sel = &self.selection;
        let selected = sel.cycle_id.is_none_or(|id| id == row.id)
            && sel.city_id.is_none_or(|id| id == row.city_id)
            && sel.field.as_ref().is_none_or(|f| *f == row.field)
            && sel.country.as_ref().is_none_or(|c| *c == row.country)
            && self.due_from.is_none_or(|d| row.due_in_force >= d)
            && self.due_to.is_none_or(|d| row.due_in_force <= d);
        selected
            && match (row.first_submitted_at, row.latest_decision.as_deref()) {
                _ if row.closed_by_history => self.closed,
                (Some(_), None) => self.submitted.undecided,
                (Some(_), Some("accept")) => self.submitted.accepted,
                (Some(_), Some("request_revision")) => self.submitted.revision_requested,
                // The database allows no other decision.
                (Some(_), Some(_)) => false,
                (None, _) => self.unsubmitted.as_ref().is_some_and(|w| w.keeps(row.due_in_force, &row.time_zone)),
            }
    }
}

impl DueWindow {
    /// Whether the window keeps a cycle without a submission due on `due` in `zone`.
    fn keeps(&self, due: NaiveDate, zone: &str) -> bool {
        self.from.is_none_or(|d| due >= d)
            && self.to.is_none_or(|d| due <= d)
            && self.skip.iter().all(|(a, b)| due < *a || due > *b)
            && self.zoned.iter().all(|(d, zones)| *d != due || zones.iter().any(|z| z == zone))
    }
}

/// The columns of a cycle and its city that a [`CycleFilter`] looks at.
#[derive(Debug, Queryable)]
struct FilterColumns {
    id: i64,
    city_id: i64,
    field: String,
    country: String,
    time_zone: String,
    due_in_force: NaiveDate,
    first_submitted_at: Option<NaiveDateTime>,
    latest_decision: Option<String>,
    closed_by_history: bool,
}

/// How selected cycles are ordered. Every order ends in a unique key, so pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleOrder {
    /// Due date in force, then city, scheduled date and number.
    DueDate,
    /// The latest due date in force first, then city, scheduled date and number.
    DueDateDesc,
    /// City, then cycle number.
    City,
    /// City, then scheduled date and number.
    CityThenScheduled,
    /// Scheduled date, then city and number.
    Scheduled,
}

/// The columns of a [`CycleRow`], cities joined.
macro_rules! cycle_columns {
    () => {
        (
            reporting_cycles::id,
            reporting_cycles::number,
            reporting_cycles::period_start_year,
            reporting_cycles::period_end_year,
            reporting_cycles::due_date,
            reporting_cycles::due_date_overridden,
            reporting_cycles::extended_due,
            reporting_cycles::first_submitted_at,
            reporting_cycles::latest_decision,
            reporting_cycles::revision_due,
            reporting_cycles::closed_by_history,
            (
                cities::id,
                cities::slug,
                cities::name,
                cities::country,
                cities::field,
                cities::time_zone,
                cities::language,
            ),
        )
    };
}

type CycleRow = (
    i64,
    i32,
    i32,
    i32,
    NaiveDate,
    bool,
    Option<NaiveDate>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<NaiveDate>,
    bool,
    CityBrief,
);

/// Adds `$term`, a condition on the cycles not closed by history, to `$q`: as it is, or, when
/// the filter keeps the closed ones `$also`, as `closed_by_history OR $term`.
macro_rules! open_condition {
    ($q:ident, $also:expr, $term:expr) => {
        if $also {
            $q = $q.filter(reporting_cycles::closed_by_history.eq(true).or($term));
        } else {
            $q = $q.filter($term);
        }
    };
}

/// Adds `$term`, a condition on one part of a [`CycleFilter`] (cycles with or without a
/// submission), to `$q`: as it is when the filter keeps that part `$alone`, else as
/// `$other_part OR $term`, so that one query keeps both parts (and the closed cycles, when
/// `$also`: see [`open_condition`]).
macro_rules! part_condition {
    ($q:ident, $also:expr, $alone:expr, $other_part:expr, $term:expr) => {
        if $alone {
            open_condition!($q, $also, $term);
        } else {
            open_condition!($q, $also, $other_part.or($term));
        }
    };
}

/// Adds the conditions of a [`CycleFilter`] on the cycle row to a boxed query over
/// `reporting_cycles` (cities joined or not).
macro_rules! cycle_conditions {
    ($query:expr, $filter:expr) => {{
        let f: &CycleFilter = $filter;
        let mut q = $query;
        if let Some(id) = f.selection.cycle_id {
            q = q.filter(reporting_cycles::id.eq(id));
        }
        if let Some(id) = f.selection.city_id {
            q = q.filter(reporting_cycles::city_id.eq(id));
        }
        if let Some(field) = &f.selection.field {
            q = q.filter(reporting_cycles::city_field.eq(field.as_str()));
        }
        if let Some(d) = f.due_from {
            q = q.filter(reporting_cycles::due_in_force.ge(d));
        }
        if let Some(d) = f.due_to {
            q = q.filter(reporting_cycles::due_in_force.le(d));
        }
        let closed_part = f.closed_part();
        match closed_part {
            ClosedPart::Left => q = q.filter(reporting_cycles::closed_by_history.eq(false)),
            ClosedPart::Only => q = q.filter(reporting_cycles::closed_by_history.eq(true)),
            ClosedPart::Also => {}
        }
        let also = closed_part == ClosedPart::Also;
        if closed_part != ClosedPart::Only {
            // Literal IS NULL / IS NOT NULL terms, which the partial indexes need.
            let submitted_only = f.unsubmitted.is_none();
            let unsubmitted_only = f.submitted == SubmittedCycles::NONE;
            if unsubmitted_only {
                open_condition!(q, also, reporting_cycles::first_submitted_at.is_null());
            } else if submitted_only {
                open_condition!(q, also, reporting_cycles::first_submitted_at.is_not_null());
            }
            let unsubmitted = reporting_cycles::first_submitted_at.is_null();
            let decision = reporting_cycles::latest_decision;
            let SubmittedCycles { undecided, accepted, revision_requested } = f.submitted;
            match (undecided, accepted, revision_requested) {
                (false, false, false) | (true, true, true) => {}
                (true, false, false) => part_condition!(q, also, submitted_only, unsubmitted, decision.is_null()),
                (false, true, false) => part_condition!(q, also, submitted_only, unsubmitted, decision.eq("accept")),
                (false, false, true) => {
                    part_condition!(q, also, submitted_only, unsubmitted, decision.eq("request_revision"))
                }
                (false, true, true) => part_condition!(q, also, submitted_only, unsubmitted, decision.is_not_null()),
                (true, true, false) => {
                    part_condition!(q, also, submitted_only, unsubmitted, decision.is_null().or(decision.eq("accept")))
                }
                (true, false, true) => part_condition!(
                    q,
                    also,
                    submitted_only,
                    unsubmitted,
                    decision.is_null().or(decision.eq("request_revision"))
                ),
            }
            if let Some(w) = &f.unsubmitted {
                let submitted = reporting_cycles::first_submitted_at.is_not_null();
                if let Some(d) = w.from {
                    part_condition!(q, also, unsubmitted_only, submitted, reporting_cycles::due_in_force.ge(d));
                }
                if let Some(d) = w.to {
                    part_condition!(q, also, unsubmitted_only, submitted, reporting_cycles::due_in_force.le(d));
                }
                for (a, b) in &w.skip {
                    part_condition!(
                        q,
                        also,
                        unsubmitted_only,
                        submitted,
                        reporting_cycles::due_in_force.not_between(*a, *b)
                    );
                }
            }
        }
        q
    }};
}

/// Adds the conditions of a [`CycleFilter`] on the city to a boxed query with cities joined:
/// country, withdrawn cities (when `$withdrawn`), and the zoned due dates.
macro_rules! city_conditions {
    ($query:expr, $filter:expr, withdrawn: $withdrawn:expr) => {{
        let f: &CycleFilter = $filter;
        let mut q = $query;
        if let Some(country) = &f.selection.country {
            q = q.filter(cities::country.eq(country.as_str()));
        }
        if $withdrawn && !f.selection.include_withdrawn {
            q = q.filter(cities::status.ne("withdrawn"));
        }
        if let Some(w) = &f.unsubmitted {
            let unsubmitted_only = f.submitted == SubmittedCycles::NONE;
            let also = f.closed_part() == ClosedPart::Also;
            for (date, zones) in &w.zoned {
                let term = reporting_cycles::due_in_force.ne(*date).or(cities::time_zone.eq_any(zones.as_slice()));
                part_condition!(q, also, unsubmitted_only, reporting_cycles::first_submitted_at.is_not_null(), term);
            }
        }
        q
    }};
}

/// Orders a boxed query with cities joined.
macro_rules! ordered {
    ($query:expr, $order:expr) => {{
        let q = $query;
        match $order {
            CycleOrder::DueDate => q.order_by((
                reporting_cycles::due_in_force.asc(),
                reporting_cycles::city_slug.asc(),
                reporting_cycles::due_date.asc(),
                reporting_cycles::number.asc(),
            )),
            CycleOrder::DueDateDesc => q.order_by((
                reporting_cycles::due_in_force.desc(),
                reporting_cycles::city_slug.asc(),
                reporting_cycles::due_date.asc(),
                reporting_cycles::number.asc(),
            )),
            CycleOrder::City => q.order_by((reporting_cycles::city_slug.asc(), reporting_cycles::number.asc())),
            CycleOrder::CityThenScheduled => q.order_by((
                reporting_cycles::city_slug.asc(),
                reporting_cycles::due_date.asc(),
                reporting_cycles::number.asc(),
            )),
            CycleOrder::Scheduled => q.order_by((
                reporting_cycles::due_date.asc(),
                reporting_cycles::city_slug.asc(),
                reporting_cycles::number.asc(),
            )),
        }
    }};
}

/// Creates the cycles of `plans` that do not exist yet; returns how many were created.
pub fn insert_missing(
    conn: &mut Conn<'_>,
    city: &SyncCity,
    plans: &[CyclePlan],
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    let rows: Vec<_> = plans
        .iter()
        .map(|p| {
            (
                reporting_cycles::city_id.eq(city.id),
                reporting_cycles::city_slug.eq(&city.slug),
                reporting_cycles::city_field.eq(&city.field),
                reporting_cycles::number.eq(p.number as i32),
                reporting_cycles::period_start_year.eq(p.period_start_year),
                reporting_cycles::period_end_year.eq(p.period_end_year()),
                reporting_cycles::due_date.eq(p.due_date),
                reporting_cycles::due_date_overridden.eq(false),
                reporting_cycles::created_at.eq(now),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    with_conn!(conn, |c| {
        Ok(diesel::insert_into(reporting_cycles::table)
            .values(&rows)
            .on_conflict((reporting_cycles::city_id, reporting_cycles::number))
            .do_nothing()
            .execute(c)?)
    })
}

/// Loads the selected cycles with their city and submissions, by scheduled date, city and number.
pub fn load(conn: &mut Conn<'_>, sel: &CycleSelection) -> Result<Vec<CycleRecord>, DbError> {
    find(conn, &CycleFilter::all(sel.clone()), CycleOrder::Scheduled, None, 0)
}

/// Loads the cycles with these ids, of cities not withdrawn, by scheduled date, city and number.
pub fn load_ids(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<CycleRecord>, DbError> {
    let mut rows: Vec<CycleRow> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        with_conn!(conn, |c| {
            rows.extend(
                reporting_cycles::table
                    .inner_join(cities::table)
                    .filter(reporting_cycles::id.eq_any(chunk))
                    .filter(cities::status.ne("withdrawn"))
                    .select(cycle_columns!())
                    .load::<CycleRow>(c)?,
            );
            Ok::<_, DbError>(())
        })?;
    }
    rows.sort_by(|a, b| (a.4, &a.11.slug, a.1).cmp(&(b.4, &b.11.slug, b.1)));
    with_submissions(conn, rows)
}

/// The cycles `filter` keeps, in `order`, `offset` rows skipped and at most `limit` returned.
pub fn find(
    conn: &mut Conn<'_>,
    filter: &CycleFilter,
    order: CycleOrder,
    limit: Option<i64>,
    offset: i64,
) -> Result<Vec<CycleRecord>, DbError> {
    if filter.keeps_nothing() || limit == Some(0) {
        return Ok(Vec::new());
    }
    let rows: Vec<CycleRow> = with_conn!(conn, |c| {
        let q = cycle_conditions!(reporting_cycles::table.inner_join(cities::table).into_boxed(), filter);
        let mut q = ordered!(city_conditions!(q, filter, withdrawn: true), order);
        if let Some(limit) = limit {
            q = q.limit(limit);
        }
        if offset > 0 {
            q = q.offset(offset);
        }
        q.select(cycle_columns!()).load(c)
    })?;
    with_submissions(conn, rows)
}

/// How many cycles `filter` keeps.
///
/// Without a condition on the city's country, the count runs on the cycle rows alone
/// (an index range), adds the rows on the zoned due dates (cities joined, for their time zone),
/// and takes away the cycles of withdrawn cities, which are few: they are read through the
/// index on their city and judged by [`CycleFilter::keeps`], so that no plan has to guess which
/// index narrows more.
pub fn count(conn: &mut Conn<'_>, filter: &CycleFilter) -> Result<i64, DbError> {
    if filter.keeps_nothing() {
        return Ok(0);
    }
    let zoned = filter.zoned_dates();
    let joined = filter.selection.country.is_some();
    let mut n: i64 = with_conn!(conn, |c| {
        if joined {
            let q = cycle_conditions!(reporting_cycles::table.inner_join(cities::table).into_boxed(), filter);
            city_conditions!(q, filter, withdrawn: true).count().get_result(c)
        } else {
            let mut q = cycle_conditions!(reporting_cycles::table.into_boxed(), filter);
            if !zoned.is_empty() {
                q = q.filter(reporting_cycles::due_in_force.ne_all(zoned.as_slice()));
            }
            let n: i64 = q.count().get_result(c)?;
            if zoned.is_empty() {
                Ok(n)
            } else {
                let q = cycle_conditions!(reporting_cycles::table.inner_join(cities::table).into_boxed(), filter)
                    .filter(reporting_cycles::due_in_force.eq_any(zoned.as_slice()));
                city_conditions!(q, filter, withdrawn: false).count().get_result(c).map(|on_zoned: i64| n + on_zoned)
            }
        }
    })?;
    if !joined && !filter.selection.include_withdrawn {
        n -= withdrawn_cycles(conn)?.iter().filter(|row| filter.keeps(row)).count() as i64;
    }
    Ok(n)
}

/// The cycles of withdrawn cities, with what a [`CycleFilter`] looks at.
fn withdrawn_cycles(conn: &mut Conn<'_>) -> Result<Vec<FilterColumns>, DbError> {
    let cities: Vec<i64> = with_conn!(conn, |c| {
        // A literal, so the partial index of withdrawn cities applies.
        cities::table.filter(sql::<Bool>("cities.status = 'withdrawn'")).select(cities::id).load(c)
    })?;
    let mut rows = Vec::new();
    for chunk in cities.chunks(CHUNK) {
        with_conn!(conn, |c| {
            rows.extend(
                reporting_cycles::table
                    .inner_join(cities::table)
                    .filter(reporting_cycles::city_id.eq_any(chunk))
                    .select((
                        reporting_cycles::id,
                        reporting_cycles::city_id,
                        cities::field,
                        cities::country,
                        cities::time_zone,
                        reporting_cycles::due_in_force,
                        reporting_cycles::first_submitted_at,
                        reporting_cycles::latest_decision,
                        reporting_cycles::closed_by_history,
                    ))
                    .load::<FilterColumns>(c)?,
            );
            Ok::<_, DbError>(())
        })?;
    }
    Ok(rows)
}

/// The due date in force of the cycle at 0-based position `n` of what `filter` keeps, by due
/// date; `None` when it keeps `n` or fewer.
pub fn nth_due_date(conn: &mut Conn<'_>, filter: &CycleFilter, n: i64) -> Result<Option<NaiveDate>, DbError> {
    if filter.keeps_nothing() {
        return Ok(None);
    }
    with_conn!(conn, |c| {
        let q = cycle_conditions!(reporting_cycles::table.inner_join(cities::table).into_boxed(), filter);
        Ok(ordered!(city_conditions!(q, filter, withdrawn: true), CycleOrder::DueDate)
            .select(reporting_cycles::due_in_force)
            .offset(n)
            .first(c)
            .optional()?)
    })
}

/// The time zones of the cities with a cycle due on each of `dates` that has no submission and
/// is not closed by history.
pub fn zones_due_on(conn: &mut Conn<'_>, dates: &[NaiveDate]) -> Result<Vec<(NaiveDate, String)>, DbError> {
    if dates.is_empty() {
        return Ok(Vec::new());
    }
    with_conn!(conn, |c| {
        Ok(reporting_cycles::table
            .inner_join(cities::table)
            .filter(reporting_cycles::first_submitted_at.is_null())
            .filter(reporting_cycles::closed_by_history.eq(false))
            .filter(reporting_cycles::due_in_force.eq_any(dates))
            .select((reporting_cycles::due_in_force, cities::time_zone))
            .distinct()
            .load(c)?)
    })
}

/// Attaches each row's submissions, with the decision on each.
fn with_submissions(conn: &mut Conn<'_>, rows: Vec<CycleRow>) -> Result<Vec<CycleRecord>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut subs: Vec<(i64, i64, i32, NaiveDateTime, bool)> = Vec::new();
    let mut decisions: Vec<(i64, String, Option<NaiveDate>)> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        with_conn!(conn, |c| {
            let chunk_subs: Vec<(i64, i64, i32, NaiveDateTime, bool)> = submissions::table
                .filter(submissions::cycle_id.eq_any(chunk))
                .order((submissions::cycle_id, submissions::version))
                .select((
                    submissions::cycle_id,
                    submissions::id,
                    submissions::version,
                    submissions::submitted_at,
                    submissions::late,
                ))
                .load(c)?;
            let sub_ids: Vec<i64> = chunk_subs.iter().map(|s| s.1).collect();
            for sub_chunk in sub_ids.chunks(CHUNK) {
                decisions.extend(
                    review_decisions::table
                        .filter(review_decisions::submission_id.eq_any(sub_chunk))
                        .select((
                            review_decisions::submission_id,
                            review_decisions::decision,
                            review_decisions::revision_due,
                        ))
                        .load::<(i64, String, Option<NaiveDate>)>(c)?,
                );
            }
            subs.extend(chunk_subs);
            Ok::<_, DbError>(())
        })?;
    }
    let decisions: HashMap<i64, (String, Option<NaiveDate>)> =
        decisions.into_iter().map(|(sub, kind, due)| (sub, (kind, due))).collect();
    let mut by_cycle: HashMap<i64, Vec<SubmissionFact>> = HashMap::new();
    for (cycle, id, version, submitted_at, late) in subs {
        let decision = decisions.get(&id).cloned();
        by_cycle.entry(cycle).or_default().push(SubmissionFact { id, version, submitted_at, late, decision });
    }
    Ok(rows
        .into_iter()
        .map(|(id, number, start, end, due, overridden, extended, first, decision, revision_due, closed, city)| {
            CycleRecord {
                id,
                number,
                period_start_year: start,
                period_end_year: end,
                scheduled_due: due,
                due_date_overridden: overridden,
                extended_due: extended,
                first_submitted_at: first,
                latest_decision: decision.map(|d| match (d.as_str(), revision_due) {
                    ("request_revision", Some(revision_due)) => Decision::RevisionRequested { revision_due },
                    _ => Decision::Accepted,
                }),
                closed_by_history: closed,
                city,
                submissions: by_cycle.remove(&id).unwrap_or_default(),
            }
        })
        .collect())
}

/// Holds the cycle's row until the end of the transaction, so that writers of one cycle take
/// turns and each reads what the previous one committed. On PostgreSQL, whose transactions read
/// each statement's latest commits (READ COMMITTED), this is `SELECT ... FOR UPDATE`; on SQLite
/// the transaction already holds the database's write lock (`BEGIN IMMEDIATE`).
pub fn lock(conn: &mut Conn<'_>, cycle_id: i64) -> Result<(), DbError> {
    match conn {
        Conn::Postgres(c) => {
            diesel::sql_query("SELECT id FROM reporting_cycles WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::BigInt, _>(cycle_id)
                .execute(*c)?;
        }
        Conn::Sqlite(_) => {}
    }
    Ok(())
}

/// Recomputes the cycle row's denormalised submission facts from `submissions` and
/// `review_decisions`: when the first version came in, and the decision on the latest version
/// (with its revision deadline). Call it in the transaction that writes a submission or a
/// decision.
pub fn refresh_progress(conn: &mut Conn<'_>, cycle_id: i64) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        let versions: Vec<(i64, NaiveDateTime)> = submissions::table
            .filter(submissions::cycle_id.eq(cycle_id))
            .order(submissions::version)
            .select((submissions::id, submissions::submitted_at))
            .load(c)?;
        let decision: Option<(String, Option<NaiveDate>)> = match versions.last() {
            Some((latest, _)) => review_decisions::table
                .filter(review_decisions::submission_id.eq(latest))
                .select((review_decisions::decision, review_decisions::revision_due))
                .first(c)
                .optional()?,
            None => None,
        };
        let revision_due = decision.as_ref().filter(|(kind, _)| kind == "request_revision").and_then(|(_, due)| *due);
        let updated = diesel::update(reporting_cycles::table.find(cycle_id))
            .set((
                reporting_cycles::first_submitted_at.eq(versions.first().map(|(_, at)| *at)),
                reporting_cycles::latest_decision.eq(decision.map(|(kind, _)| kind)),
                reporting_cycles::revision_due.eq(revision_due),
            ))
            .execute(c)?;
        if updated == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    })
}

/// A cycle's extensions, oldest first.
pub fn extensions(conn: &mut Conn<'_>, cycle_id: i64) -> Result<Vec<Extension>, DbError> {
    with_conn!(conn, |c| {
        Ok(cycle_extensions::table
            .filter(cycle_extensions::cycle_id.eq(cycle_id))
            .order(cycle_extensions::id)
            .select((
                cycle_extensions::id,
                cycle_extensions::previous_due,
                cycle_extensions::new_due,
                cycle_extensions::reason,
                cycle_extensions::granted_by,
                cycle_extensions::granted_at,
            ))
            .load(c)?)
    })
}

/// Records an extension in the history and makes its date the cycle's due date in force. Call it
/// inside a transaction.
pub fn insert_extension(
    conn: &mut Conn<'_>,
    cycle_id: i64,
    previous_due: NaiveDate,
    new_due: NaiveDate,
    reason: &str,
    granted_by: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::insert_into(cycle_extensions::table)
            .values((
                cycle_extensions::cycle_id.eq(cycle_id),
                cycle_extensions::previous_due.eq(previous_due),
                cycle_extensions::new_due.eq(new_due),
                cycle_extensions::reason.eq(reason),
                cycle_extensions::granted_by.eq(granted_by),
                cycle_extensions::granted_at.eq(now),
            ))
            .execute(c)?;
        diesel::update(reporting_cycles::table.find(cycle_id))
            .set(reporting_cycles::extended_due.eq(new_due))
            .execute(c)
    })?;
    Ok(())
}

/// Sets a cycle's scheduled due date (a catch-up round); extensions still apply on top.
pub fn set_due_date(conn: &mut Conn<'_>, cycle_id: i64, due: NaiveDate) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::update(reporting_cycles::table.find(cycle_id))
            .set((reporting_cycles::due_date.eq(due), reporting_cycles::due_date_overridden.eq(true)))
            .execute(c)
    })?;
    Ok(())
}

/// A city that can have cycles, with what its cycle rows carry.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct SyncCity {
    pub id: i64,
    pub slug: String,
    pub field: String,
    pub designation_date: NaiveDate,
}

/// Every city that can have cycles (not withdrawn).
pub fn cities_for_sync(conn: &mut Conn<'_>) -> Result<Vec<SyncCity>, DbError> {
    with_conn!(conn, |c| {
        Ok(cities::table
            .filter(cities::status.ne("withdrawn"))
            .order(cities::id)
            .select((cities::id, cities::slug, cities::field, cities::designation_date))
            .load(c)?)
    })
}
