//! Queries on reporting cycles, their extensions, and the submission facts their status is
//! derived from.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{cities, cycle_extensions, reporting_cycles, review_decisions, submissions};
use super::{Conn, DbError, with_conn};
use crate::domain::cycles::CyclePlan;

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
    pub city: CityBrief,
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
    pub time_zone: String,
    pub language: String,
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

/// Creates the cycles of `plans` that do not exist yet; returns how many were created.
pub fn insert_missing(
    conn: &mut Conn<'_>,
    city_id: i64,
    plans: &[CyclePlan],
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    let rows: Vec<_> = plans
        .iter()
        .map(|p| {
            (
                reporting_cycles::city_id.eq(city_id),
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

type CycleRow = (i64, i32, i32, i32, NaiveDate, bool, CityBrief);

/// Loads the selected cycles with their city, latest extension and submissions.
pub fn load(conn: &mut Conn<'_>, sel: &CycleSelection) -> Result<Vec<CycleRecord>, DbError> {
    let rows: Vec<CycleRow> = with_conn!(conn, |c| {
        let mut q = reporting_cycles::table.inner_join(cities::table).into_boxed();
        if let Some(id) = sel.cycle_id {
            q = q.filter(reporting_cycles::id.eq(id));
        }
        if let Some(id) = sel.city_id {
            q = q.filter(reporting_cycles::city_id.eq(id));
        }
        if let Some(field) = &sel.field {
            q = q.filter(cities::field.eq(field.as_str()));
        }
        if let Some(country) = &sel.country {
            q = q.filter(cities::country.eq(country.as_str()));
        }
        if !sel.include_withdrawn {
            q = q.filter(cities::status.ne("withdrawn"));
        }
        q.select((
            reporting_cycles::id,
            reporting_cycles::number,
            reporting_cycles::period_start_year,
            reporting_cycles::period_end_year,
            reporting_cycles::due_date,
            reporting_cycles::due_date_overridden,
            (
                cities::id,
                cities::slug,
                cities::name,
                cities::country,
                cities::field,
                cities::time_zone,
                cities::language,
            ),
        ))
        .order((reporting_cycles::due_date, cities::slug, reporting_cycles::number))
        .load(c)
    })?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut extensions: Vec<(i64, NaiveDate)> = Vec::new();
    let mut subs: Vec<(i64, i64, i32, NaiveDateTime, bool)> = Vec::new();
    let mut decisions: Vec<(i64, String, Option<NaiveDate>)> = Vec::new();
    // Bounded chunks keep every statement under SQLite's and PostgreSQL's parameter limits.
    for chunk in ids.chunks(5_000) {
        with_conn!(conn, |c| {
            extensions.extend(
                cycle_extensions::table
                    .filter(cycle_extensions::cycle_id.eq_any(chunk))
                    .order((cycle_extensions::cycle_id, cycle_extensions::id))
                    .select((cycle_extensions::cycle_id, cycle_extensions::new_due))
                    .load::<(i64, NaiveDate)>(c)?,
            );
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
            decisions.extend(
                review_decisions::table
                    .filter(review_decisions::submission_id.eq_any(&sub_ids))
                    .select((
                        review_decisions::submission_id,
                        review_decisions::decision,
                        review_decisions::revision_due,
                    ))
                    .load::<(i64, String, Option<NaiveDate>)>(c)?,
            );
            subs.extend(chunk_subs);
            Ok::<_, DbError>(())
        })?;
    }
    // Group once: a linear pass instead of a search per cycle.
    let mut latest_extension: HashMap<i64, NaiveDate> = HashMap::new();
    for (cycle, due) in extensions {
        latest_extension.insert(cycle, due);
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
        .map(|(id, number, start, end, due, overridden, city)| CycleRecord {
            id,
            number,
            period_start_year: start,
            period_end_year: end,
            scheduled_due: due,
            due_date_overridden: overridden,
            extended_due: latest_extension.get(&id).copied(),
            city,
            submissions: by_cycle.remove(&id).unwrap_or_default(),
        })
        .collect())
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

/// Every city that can have cycles: id, designation date (not withdrawn).
pub fn cities_for_sync(conn: &mut Conn<'_>) -> Result<Vec<(i64, NaiveDate)>, DbError> {
    with_conn!(conn, |c| {
        Ok(cities::table
            .filter(cities::status.ne("withdrawn"))
            .order(cities::id)
            .select((cities::id, cities::designation_date))
            .load(c)?)
    })
}
