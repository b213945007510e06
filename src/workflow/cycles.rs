//! Reporting cycles: creating them as time passes (`mmr cycles sync`), deriving their status for
//! the Secretariat's board and dashboard, and moving deadlines (catch-up dates and extensions,
//! each kept and audited).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde_json::json;

use super::{Actor, audit};
use crate::db::cycles::{CycleRecord, CycleSelection, Extension};
use crate::db::{self, Conn};
use crate::domain::cities::CityTimeZone;
use crate::domain::cycles::{CycleFacts, CycleRules, CycleState, CycleStatus, Decision};
use crate::domain::{Invalid, clean_text};
use crate::error::{Error, Result};

/// A cycle with its derived state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleOverview {
    pub record: CycleRecord,
    pub state: CycleState,
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
        for (city_id, designated) in &cities {
            created += db::cycles::insert_missing(conn, *city_id, &rules.cycles_started(*designated, now.date()), now)?;
        }
        if created > 0 {
            audit(conn, actor, now, "cycles.sync", ("cycles", "*"), json!({ "created": created }))?;
        }
        Ok(SyncSummary { created, cities: cities.len() })
    })
}

/// The facts a record's status is derived from.
pub fn facts(record: &CycleRecord) -> CycleFacts {
    let latest_decision =
        record.submissions.last().and_then(|s| s.decision.as_ref()).map(|(kind, due)| match (kind.as_str(), due) {
            ("request_revision", Some(due)) => Decision::RevisionRequested { revision_due: *due },
            _ => Decision::Accepted,
        });
    CycleFacts {
        due_date: record.due_date(),
        time_zone: CityTimeZone::parse(&record.city.time_zone).map_or(chrono_tz::UTC, CityTimeZone::tz),
        first_submitted_at: record.submissions.first().map(|s| s.submitted_at.and_utc()),
        latest_decision,
        submitted: !record.submissions.is_empty(),
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

/// The Secretariat's board: the selected cycles filtered on their derived state and sorted.
pub fn board(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    now: DateTime<Utc>,
    sel: &CycleSelection,
    filter: &BoardFilter,
) -> Result<Vec<CycleOverview>> {
    let mut rows: Vec<CycleOverview> = overview(conn, rules, now, sel)?
        .into_iter()
        .filter(|c| filter.status.is_none_or(|s| c.state.status == s))
        .filter(|c| filter.due_from.is_none_or(|d| c.record.due_date() >= d))
        .filter(|c| filter.due_to.is_none_or(|d| c.record.due_date() <= d))
        .filter(|c| filter.min_days_overdue.is_none_or(|n| c.state.days_overdue >= n))
        .collect();
    match filter.sort {
        BoardSort::DueDate => rows.sort_by(|a, b| {
            (a.record.due_date(), &a.record.city.slug).cmp(&(b.record.due_date(), &b.record.city.slug))
        }),
        BoardSort::DueDateDesc => rows.sort_by(|a, b| {
            (b.record.due_date(), &a.record.city.slug).cmp(&(a.record.due_date(), &b.record.city.slug))
        }),
        BoardSort::DaysOverdue => rows.sort_by(|a, b| {
            (b.state.days_overdue, &a.record.city.slug).cmp(&(a.state.days_overdue, &b.record.city.slug))
        }),
        BoardSort::City => {
            rows.sort_by(|a, b| (&a.record.city.slug, a.record.number).cmp(&(&b.record.city.slug, b.record.number)))
        }
    }
    Ok(rows)
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
}

pub fn dashboard(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    now: DateTime<Utc>,
    sel: &CycleSelection,
) -> Result<Dashboard> {
    let mut d = Dashboard::default();
    for c in overview(conn, rules, now, sel)? {
        let status = c.state.status.as_str();
        d.total += 1;
        *d.by_status.entry(status).or_default() += 1;
        *d.by_field.entry(c.record.city.field.clone()).or_default().entry(status).or_default() += 1;
        *d.by_country.entry(c.record.city.country.clone()).or_default().entry(status).or_default() += 1;
        *d.by_due_year.entry(c.record.due_date().year()).or_default().entry(status).or_default() += 1;
        if now >= c.state.deadline {
            let entry = d.on_time_by_field.entry(c.record.city.field.clone()).or_default();
            entry.past_cycles += 1;
            if c.record.submissions.first().is_some_and(|s| !s.late) {
                entry.on_time += 1;
            }
        }
    }
    Ok(d)
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
        if cycle.state.status == CycleStatus::Accepted {
            return Err(Error::Conflict("the report of this cycle is already accepted".into()));
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
