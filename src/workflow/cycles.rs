//! Reporting cycles: creating them as time passes (`mmr cycles sync`), deriving their status for
//! the Secretariat's board and dashboard, and moving deadlines (catch-up dates and extensions,
//! each kept and audited).
//!
//! The board asks the database only for what it shows. A filter on derived state (status, days
//! overdue) becomes a selection by the status's inputs on the cycle row: the decision on the
//! latest version for cycles with a submission, and the due date in force for the others, with
//! the few due dates where the city's time zone decides settled zone by zone through
//! `domain::cycles`. Count, order and page are then SQL; the rows of the page get their state
//! from `domain::cycles` like every other cycle.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde_json::json;

use super::{Actor, audit};
use crate::db::cycles::{CycleFilter, CycleOrder, CycleRecord, DueWindow, SubmittedCycles};
/// Which cycles a list covers, and a granted extension, as the entry points pass and get them.
pub use crate::db::cycles::{CycleSelection, Extension};
use crate::db::{self, Conn};
use crate::domain::auth::{Action, CityRef, Principal, authorize};
use crate::domain::cities::CityTimeZone;
use crate::domain::cycles::{
    CycleFacts, CyclePlan, CycleRules, CycleState, CycleStatus, Decision, DueSpan, StateFilter, split_due_dates,
    zone_dependent_due_dates,
};
use crate::domain::{Invalid, Page, PageRequest, clean_text};
use crate::error::{Error, Result};

/// A cycle with its derived state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleOverview {
    pub record: CycleRecord,
    pub state: CycleState,
}

impl CycleOverview {
    /// The cycle's city, as the permission table sees it.
    pub fn city(&self) -> CityRef<'_> {
        CityRef { id: self.record.city.id, field: &self.record.city.field }
    }

    /// What became of the report once it was due, as the board and the history show it:
    /// `on_time`, `late` (with the days, in the city's calendar), or `never_received` for a past
    /// round the history import closed without a report; `None` while nothing is settled (not
    /// due yet, or overdue and still chased).
    pub fn outcome(&self) -> Option<(&'static str, Option<i64>)> {
        match self.record.first_submitted_at {
            Some(at) if self.state.late => {
                let received = crate::domain::cycles::local_date(at.and_utc(), self.record.city.time_zone.tz());
                Some(("late", Some((received - self.record.due_date()).num_days().max(1))))
            }
            Some(_) => Some(("on_time", None)),
            None if self.record.closed_by_history => Some(("never_received", None)),
            None => None,
        }
    }

    /// The status the dashboard counts it under: its status, except that a past round closed by
    /// history counts under what became of it: `not_received` without a report, else the
    /// decision on it (`accepted`, `revision_requested`, or `submitted` when none was taken).
    fn dashboard_status(&self) -> &'static str {
        match (self.state.status, self.record.first_submitted_at, self.record.latest_decision) {
            (CycleStatus::Closed, None, _) => "not_received",
            (CycleStatus::Closed, Some(_), Some(Decision::Accepted)) => CycleStatus::Accepted.as_str(),
            (CycleStatus::Closed, Some(_), Some(Decision::RevisionRequested { .. })) => {
                CycleStatus::RevisionRequested.as_str()
            }
            (CycleStatus::Closed, Some(_), None) => CycleStatus::Submitted.as_str(),
            (status, ..) => status.as_str(),
        }
    }
}

/// What a caller wants to do with a cycle's city's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read its cycles, drafts, versions and comments.
    Read,
    /// Save a draft or submit.
    Write,
}

/// Checks that `caller` may read the work of `cycle`'s city.
pub fn may_read(caller: Option<&Principal>, cycle: &CycleOverview) -> Result<()> {
    Ok(authorize(caller, Action::ReadCityWork(cycle.city()))?)
}

/// Cycle `id`, once `caller` is found allowed to read (or, with [`Access::Write`], to write) its
/// city's work: the city itself, its field's coordinator for reading, the Secretariat.
pub fn for_caller(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    caller: &Principal,
    id: i64,
    access: Access,
    now: NaiveDateTime,
) -> Result<CycleOverview> {
    let cycle = get(conn, rules, now.and_utc(), id)?;
    let action = match access {
        Access::Read => Action::ReadCityWork(cycle.city()),
        Access::Write => Action::WriteReport(cycle.city()),
    };
    authorize(Some(caller), action)?;
    Ok(cycle)
}

/// What `sync` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSummary {
    pub created: usize,
    pub cities: usize,
}

/// Creates every cycle that has started by `today` and does not exist yet. Idempotent.
pub fn sync(conn: &mut Conn<'_>, actor: &Actor, rules: &CycleRules, now: NaiveDateTime) -> Result<SyncSummary> {
    conn.transaction(|conn| {
        let cities = db::cycles::cities_for_sync(conn)?;
        let mut created = 0;
        for city in &cities {
            let plans = rules.cycles_started(city.designation_date, now.date());
            created += db::cycles::insert_missing(conn, city, &plans, now)?;
        }
        if created > 0 {
            audit(conn, actor, now, "cycles.sync", ("cycles", "*"), json!({ "created": created }))?;
        }
        Ok(SyncSummary { created, cities: cities.len() })
    })
}

/// A city's time zone as stored; one that no longer parses counts as UTC.
fn zone(name: &str) -> chrono_tz::Tz {
    CityTimeZone::parse(name).map_or(chrono_tz::UTC, CityTimeZone::tz)
}

/// The facts a record's status is derived from: its due date in force, its city's time zone, and
/// the submission facts kept on the cycle row.
pub fn facts(record: &CycleRecord) -> CycleFacts {
    CycleFacts {
        due_date: record.due_date(),
        time_zone: record.city.time_zone.tz(),
        first_submitted_at: record.first_submitted_at.map(|t| t.and_utc()),
        latest_decision: record.latest_decision,
        submitted: record.first_submitted_at.is_some(),
        closed: record.closed_by_history,
    }
}

/// Loads the selected cycles with their state at `now`.
pub fn overview(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    now: DateTime<Utc>,
    sel: &CycleSelection,
) -> Result<Vec<CycleOverview>> {
    Ok(db::cycles::load(conn, sel)?
        .into_iter()
        .map(|record| {
            let state = facts(&record).state(rules, now);
            CycleOverview { record, state }
        })
        .collect())
}

/// One cycle by id.
pub fn get(conn: &mut Conn<'_>, rules: &CycleRules, now: DateTime<Utc>, id: i64) -> Result<CycleOverview> {
    let sel = CycleSelection { cycle_id: Some(id), include_withdrawn: true, ..CycleSelection::default() };
    overview(conn, rules, now, &sel)?.pop().ok_or_else(|| Error::not_found("cycle", id.to_string()))
}

/// How the board is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardSort {
    /// Soonest deadline first.
    #[default]
    DueDate,
    /// Latest deadline first.
    DueDateDesc,
    /// Most days overdue first.
    DaysOverdue,
    City,
}

impl BoardSort {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "due_date" => Ok(Self::DueDate),
            "-due_date" => Ok(Self::DueDateDesc),
            "days_overdue" => Ok(Self::DaysOverdue),
            "city" => Ok(Self::City),
            other => Err(Invalid::new(
                "sort",
                format!("`{other}` is not a sort order (due_date, -due_date, days_overdue, city)"),
            )),
        }
    }
}

/// The board's filters on derived values.
#[derive(Debug, Clone, Default)]
pub struct BoardFilter {
    pub status: Option<CycleStatus>,
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
    pub min_days_overdue: Option<i64>,
    pub sort: BoardSort,
}

impl BoardFilter {
    fn state(&self) -> StateFilter {
        StateFilter { status: self.status, min_days_overdue: self.min_days_overdue }
    }
}

/// The Secretariat's board, one page of it: the selected cycles filtered on their derived state,
/// sorted, with how many there are in all.
pub fn board(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    now: DateTime<Utc>,
    sel: &CycleSelection,
    filter: &BoardFilter,
    page: PageRequest,
) -> Result<Page<CycleOverview>> {
    let q = BoardQuery::new(conn, rules, now, sel, filter)?;
    let (total, rows) = q.rows(conn, Some(page))?;
    Ok(page.wrap(rows, total))
}

/// The whole board (for CSV): every selected cycle the filter keeps, sorted.
pub fn board_all(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    now: DateTime<Utc>,
    sel: &CycleSelection,
    filter: &BoardFilter,
) -> Result<Vec<CycleOverview>> {
    Ok(BoardQuery::new(conn, rules, now, sel, filter)?.rows(conn, None)?.1)
}

/// A board request turned into selections of cycle rows.
struct BoardQuery<'a> {
    rules: &'a CycleRules,
    now: DateTime<Utc>,
    filter: &'a BoardFilter,
    sel: &'a CycleSelection,
    /// The time zones of the cities with a cycle due on each zone-dependent date.
    zones: HashMap<NaiveDate, Vec<String>>,
}

impl<'a> BoardQuery<'a> {
    fn new(
        conn: &mut Conn<'_>,
        rules: &'a CycleRules,
        now: DateTime<Utc>,
        sel: &'a CycleSelection,
        filter: &'a BoardFilter,
    ) -> Result<Self> {
        // Every zone-dependent date is looked up: a date without a zone is a date without a
        // cycle, which the window can leave out.
        let dates = zone_dependent_due_dates(rules, now, filter.min_days_overdue);
        let mut zones: HashMap<NaiveDate, Vec<String>> = HashMap::new();
        for (date, zone) in db::cycles::zones_due_on(conn, &dates)? {
            zones.entry(date).or_default().push(zone);
        }
        Ok(Self { rules, now, filter, sel, zones })
    }

    /// The cycles whose state `keep` accepts, within the board's selection and due window.
    fn select(&self, keep: impl Fn(&CycleState) -> bool) -> CycleFilter {
        // A submitted cycle's status and days overdue follow from the decision on its latest
        // version alone, so one state per decision answers for all of them.
        let submitted = |decision| {
            let facts = CycleFacts {
                due_date: self.now.date_naive(),
                time_zone: chrono_tz::UTC,
                first_submitted_at: Some(self.now),
                latest_decision: decision,
                submitted: true,
                closed: false,
            };
            keep(&facts.state(self.rules, self.now))
        };
        // A closed round's state does not depend on its dates or versions: one answers for all.
        let closed = CycleFacts { closed: true, ..CycleFacts::unsubmitted(self.now.date_naive(), chrono_tz::UTC) };
        let revision = Decision::RevisionRequested { revision_due: self.now.date_naive() };
        CycleFilter {
            selection: self.sel.clone(),
            due_from: self.filter.due_from,
            due_to: self.filter.due_to,
            submitted: SubmittedCycles {
                undecided: submitted(None),
                accepted: submitted(Some(Decision::Accepted)),
                revision_requested: submitted(Some(revision)),
            },
            unsubmitted: self.due_window(&keep),
            closed: keep(&closed.state(self.rules, self.now)),
        }
    }

    /// Which cycles without a submission `keep` accepts, as a [`DueWindow`]; `None` if none.
    fn due_window(&self, keep: &impl Fn(&CycleState) -> bool) -> Option<DueWindow> {
        /// What a stretch of the due-date line keeps: every cycle, none, those of the cities in
        /// some zones (on a zone-dependent date), or nothing to keep (no cycle is due that day).
        enum Verdict {
            All,
            None,
            Zones(Vec<String>),
            Empty,
        }
        let pieces: Vec<(Option<NaiveDate>, Option<NaiveDate>, Verdict)> =
            split_due_dates(self.rules, self.now, self.filter.min_days_overdue, keep)
                .into_iter()
                .map(|span| match span {
                    DueSpan::Settled { from, to, keep } => (from, to, if keep { Verdict::All } else { Verdict::None }),
                    DueSpan::Zoned(date) => {
                        let present = self.zones.get(&date).map(Vec::as_slice).unwrap_or_default();
                        let kept: Vec<String> = present
                            .iter()
                            .filter(|z| keep(&CycleFacts::unsubmitted(date, zone(z)).state(self.rules, self.now)))
                            .cloned()
                            .collect();
                        let verdict = match kept.len() {
                            _ if present.is_empty() => Verdict::Empty,
                            n if n == present.len() => Verdict::All,
                            0 => Verdict::None,
                            _ => Verdict::Zones(kept),
                        };
                        (Some(date), Some(date), verdict)
                    }
                })
                .collect();
        // From the first stretch that keeps something to the last; what lies between and keeps
        // nothing is skipped, and zone-dependent dates keep their zones. A date no cycle is due
        // on neither widens the window nor needs a condition. Only the first and the last stretch
        // of the line are unbounded, so everything between has both ends.
        let keeps =
            |p: &(Option<NaiveDate>, Option<NaiveDate>, Verdict)| matches!(p.2, Verdict::All | Verdict::Zones(_));
        let first = pieces.iter().position(keeps)?;
        let last = pieces.iter().rposition(keeps)?;
        let mut window = DueWindow { from: pieces[first].0, to: pieces[last].1, ..DueWindow::default() };
        for (from, to, verdict) in pieces.into_iter().take(last + 1).skip(first) {
            match (from, to, verdict) {
                (Some(from), Some(to), Verdict::None) => window.skip.push((from, to)),
                (Some(date), _, Verdict::Zones(zones)) => window.zoned.push((date, zones)),
                _ => {}
            }
        }
        Some(window)
    }

    /// The rows of `page` (all of them when `None`), with how many the filter keeps (0 when not
    /// counted, for all rows).
    fn rows(&self, conn: &mut Conn<'_>, page: Option<PageRequest>) -> Result<(i64, Vec<CycleOverview>)> {
        let wanted = self.filter.state();
        let order = match self.filter.sort {
            BoardSort::DueDate => CycleOrder::DueDate,
            BoardSort::DueDateDesc => CycleOrder::DueDateDesc,
            BoardSort::City => CycleOrder::City,
            BoardSort::DaysOverdue => return self.by_days_overdue(conn, page),
        };
        let selected = self.select(|s| wanted.matches(s));
        let (total, records) = match page {
            Some(p) => (
                db::cycles::count(conn, &selected)?,
                db::cycles::find(conn, &selected, order, Some(p.per_page()), p.offset())?,
            ),
            None => (0, db::cycles::find(conn, &selected, order, None, 0)?),
        };
        Ok((total, self.overviews(records)))
    }

    /// Most days overdue first. Days overdue count in each city's local calendar, so they are
    /// not an order of the due date; but a cycle due on `d` is between `n - 1 - d` and `n + 1 - d`
    /// days overdue (`n` the UTC date), so every cycle of the first `k` by days overdue is due at
    /// most two days after the `k`-th by due date. Those are loaded and sorted here; the cycles
    /// that are not overdue (0 days) follow by city, from SQL.
    fn by_days_overdue(&self, conn: &mut Conn<'_>, page: Option<PageRequest>) -> Result<(i64, Vec<CycleOverview>)> {
        let wanted = self.filter.state();
        let overdue = self.select(|s| wanted.matches(s) && s.status == CycleStatus::Overdue);
        let rest = self.select(|s| wanted.matches(s) && s.status != CycleStatus::Overdue);
        let by_days =
            |rows: &mut Vec<CycleOverview>| rows.sort_by(|a, b| days_overdue_order(a).cmp(&days_overdue_order(b)));
        let Some(page) = page else {
            let mut rows = self.overviews(db::cycles::find(conn, &overdue, CycleOrder::DueDate, None, 0)?);
            by_days(&mut rows);
            rows.extend(self.overviews(db::cycles::find(conn, &rest, CycleOrder::CityThenScheduled, None, 0)?));
            return Ok((0, rows));
        };
        let (offset, end) = (page.offset(), page.offset() + page.per_page());
        let overdue_total = db::cycles::count(conn, &overdue)?;
        let total = overdue_total + db::cycles::count(conn, &rest)?;
        let mut rows = Vec::new();
        if offset < overdue_total {
            let k = end.min(overdue_total);
            let mut window = overdue.clone();
            if let Some(kth) = db::cycles::nth_due_date(conn, &overdue, k - 1)? {
                let bound = kth.checked_add_signed(TimeDelta::days(2)).unwrap_or(kth);
                window.due_to = Some(window.due_to.map_or(bound, |d| d.min(bound)));
            }
            let mut candidates = self.overviews(db::cycles::find(conn, &window, CycleOrder::DueDate, None, 0)?);
            by_days(&mut candidates);
            rows.extend(candidates.into_iter().take(k as usize).skip(offset as usize));
        }
        if end > overdue_total {
            let skip = (offset - overdue_total).max(0);
            let take = end - offset.max(overdue_total);
            rows.extend(self.overviews(db::cycles::find(
                conn,
                &rest,
                CycleOrder::CityThenScheduled,
                Some(take),
                skip,
            )?));
        }
        Ok((total, rows))
    }

    fn overviews(&self, records: Vec<CycleRecord>) -> Vec<CycleOverview> {
        let wanted = self.filter.state();
        records
            .into_iter()
            .map(|record| {
                let state = facts(&record).state(self.rules, self.now);
                debug_assert!(wanted.matches(&state), "cycle {} selected as {wanted:?} but is {state:?}", record.id);
                CycleOverview { record, state }
            })
            .collect()
    }
}

/// The board's order by days overdue: most first, then city, scheduled date and number.
fn days_overdue_order(c: &CycleOverview) -> (Reverse<i64>, &str, NaiveDate, i32) {
    (Reverse(c.state.days_overdue), c.record.city.slug.as_str(), c.record.scheduled_due, c.record.number)
}

/// On-time reporting over the cycles whose deadline has passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OnTime {
    pub past_cycles: usize,
    pub on_time: usize,
}

/// Counts by status per field, per country and per due year, and on-time rates per field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dashboard {
    pub total: usize,
    pub by_status: BTreeMap<&'static str, usize>,
    pub by_field: BTreeMap<String, BTreeMap<&'static str, usize>>,
    pub by_country: BTreeMap<String, BTreeMap<&'static str, usize>>,
    pub by_due_year: BTreeMap<i32, BTreeMap<&'static str, usize>>,
    pub on_time_by_field: BTreeMap<String, OnTime>,
    /// On-time rates per round (the due year), imported past rounds included.
    pub on_time_by_round: BTreeMap<i32, OnTime>,
    /// On-time rates per field and round.
    pub on_time_by_field_and_round: BTreeMap<String, BTreeMap<i32, OnTime>>,
    /// Overdue cycles of cities that cannot be reminded (no contact, or every message of the last
    /// reminder failed for good): the sweep never puts them on notice.
    pub cannot_be_reminded: usize,
    /// Past rounds the system knows nothing of: due before `first_due_year` (so never created)
    /// and not imported. Shown as "not tracked", never as overdue; by due year.
    pub not_tracked: BTreeMap<i32, usize>,
}

pub fn dashboard(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    now: DateTime<Utc>,
    sel: &CycleSelection,
) -> Result<Dashboard> {
    let mut d = Dashboard::default();
    let cycles = overview(conn, rules, now, sel)?;
    d.cannot_be_reminded = super::reminders::count_unreachable(conn, &cycles)?;
    for round in not_tracked(conn, rules, now.date_naive(), sel, &cycles)? {
        *d.not_tracked.entry(round.plan.due_date.year()).or_default() += 1;
    }
    for c in cycles {
        let status = c.dashboard_status();
        d.total += 1;
        *d.by_status.entry(status).or_default() += 1;
        *d.by_field.entry(c.record.city.field.clone()).or_default().entry(status).or_default() += 1;
        *d.by_country.entry(c.record.city.country.clone()).or_default().entry(status).or_default() += 1;
        *d.by_due_year.entry(c.record.due_date().year()).or_default().entry(status).or_default() += 1;
        if now >= c.state.deadline {
            let on_time = c.record.submissions.first().is_some_and(|s| !s.late);
            let field = c.record.city.field.clone();
            let round = c.record.due_date().year();
            for entry in [
                d.on_time_by_field.entry(field.clone()).or_default(),
                d.on_time_by_round.entry(round).or_default(),
                d.on_time_by_field_and_round.entry(field).or_default().entry(round).or_default(),
            ] {
                entry.past_cycles += 1;
                entry.on_time += usize::from(on_time);
            }
        }
    }
    Ok(d)
}

/// A past round the system knows nothing of: due (by the regular calendar) before today and
/// before `first_due_year`, so never created, and not imported. Shown as "not tracked", never as
/// overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UntrackedRound {
    pub city_id: i64,
    /// The round as the regular calendar has it (number, period, due date).
    pub plan: CyclePlan,
}

/// The past rounds of the selected cities (by city or field) that have no cycle among `cycles`
/// (the selection's cycles, loaded), by city and round.
pub fn not_tracked(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    today: NaiveDate,
    sel: &CycleSelection,
    cycles: &[CycleOverview],
) -> Result<Vec<UntrackedRound>> {
    let known: std::collections::HashSet<(i64, i32)> =
        cycles.iter().map(|c| (c.record.city.id, c.record.number)).collect();
    let mut rounds = Vec::new();
    // The dashboard selects by field (a coordinator's) or city, never by country.
    for city in db::cycles::cities_for_sync(conn)? {
        if sel.city_id.is_some_and(|id| id != city.id) || sel.field.as_ref().is_some_and(|f| *f != city.field) {
            continue;
        }
        let year = city.designation_date.year();
        for number in 1..=100u32 {
            let due = rules.due_date(year, number);
            if due >= today || due.year() >= rules.first_due_year {
                break;
            }
            if !known.contains(&(city.id, number as i32)) {
                let plan = CyclePlan { number, period_start_year: year + 4 * (number as i32 - 1), due_date: due };
                rounds.push(UntrackedRound { city_id: city.id, plan });
            }
        }
    }
    Ok(rounds)
}

/// Grants an extension to a new date after the one in force; pending deadline reminders are
/// cancelled (they are planned again against the new date).
pub fn extend(
    conn: &mut Conn<'_>,
    actor: &Actor,
    rules: &CycleRules,
    cycle_id: i64,
    new_due: NaiveDate,
    reason: &str,
    now: NaiveDateTime,
) -> Result<CycleOverview> {
    let reason = clean_text("reason", reason, 2000)?;
    conn.transaction(|conn| {
        let cycle = get(conn, rules, now.and_utc(), cycle_id)?;
        let current = cycle.record.due_date();
        if new_due <= current {
            return Err(Invalid::new("due_date", format!("an extension must move the deadline past {current}")).into());
        }
        match cycle.state.status {
            CycleStatus::Accepted => {
                return Err(Error::Conflict("the report of this cycle is already accepted".into()));
            }
            CycleStatus::Closed => {
                return Err(Error::Conflict("this past round was closed by the history import; it takes no extension".into()));
            }
            _ => {}
        }
        db::cycles::insert_extension(conn, cycle_id, current, new_due, &reason, &actor.name, now)?;
        let cancelled = db::reminders::cancel_pending(conn, cycle_id, "deadline", now)?;
        let details = json!({ "from": current.to_string(), "to": new_due.to_string(), "reason": reason, "reminders_cancelled": cancelled });
        audit(conn, actor, now, "cycle.extend", ("cycle", &cycle_id.to_string()), details)?;
        get(conn, rules, now.and_utc(), cycle_id)
    })
}

/// Sets a cycle's scheduled due date (catch-up rounds for older members).
pub fn set_due_date(
    conn: &mut Conn<'_>,
    actor: &Actor,
    rules: &CycleRules,
    cycle_id: i64,
    due: NaiveDate,
    now: NaiveDateTime,
) -> Result<CycleOverview> {
    conn.transaction(|conn| {
        let cycle = get(conn, rules, now.and_utc(), cycle_id)?;
        db::cycles::set_due_date(conn, cycle_id, due)?;
        let cancelled = db::reminders::cancel_pending(conn, cycle_id, "deadline", now)?;
        let details = json!({ "from": cycle.record.scheduled_due.to_string(), "to": due.to_string(), "reminders_cancelled": cancelled });
        audit(conn, actor, now, "cycle.set_due_date", ("cycle", &cycle_id.to_string()), details)?;
        get(conn, rules, now.and_utc(), cycle_id)
    })
}

pub fn extensions(conn: &mut Conn<'_>, cycle_id: i64) -> Result<Vec<Extension>> {
    Ok(db::cycles::extensions(conn, cycle_id)?)
}
