//! Past rounds imported from the Secretariat's records: the facts as imported (`history_rounds`),
//! and the few writes on a cycle that only the history import makes (creating a cycle of any
//! number, closing it). The versions, decisions and archive entries of those rounds are ordinary
//! rows, written by `db::submissions` and `db::archive`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{archived_documents, drafts, history_rounds, reporting_cycles, submissions};
use super::{Conn, DbError, with_conn};

/// The facts of one imported round.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = history_rounds, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct HistoryRound {
    pub id: i64,
    pub cycle_id: i64,
    pub due_date: NaiveDate,
    pub received_on: Option<NaiveDate>,
    pub decision: String,
    pub decided_on: Option<NaiveDate>,
    pub language: String,
    pub file_name: Option<String>,
    pub pdf_sha256: Option<String>,
    pub text_note: Option<String>,
    pub notes: String,
    pub imported_by: String,
    pub imported_at: NaiveDateTime,
    /// The revision deadline the manifest gave, if any.
    pub revision_due: Option<NaiveDate>,
}

/// A round to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHistoryRound<'a> {
    pub cycle_id: i64,
    pub due_date: NaiveDate,
    pub received_on: Option<NaiveDate>,
    pub decision: &'a str,
    pub decided_on: Option<NaiveDate>,
    pub language: &'a str,
    pub file_name: Option<&'a str>,
    pub pdf_sha256: Option<&'a str>,
    pub text_note: Option<&'a str>,
    pub notes: &'a str,
    pub imported_by: &'a str,
    pub imported_at: NaiveDateTime,
    pub revision_due: Option<NaiveDate>,
}

pub fn insert(conn: &mut Conn<'_>, new: &NewHistoryRound<'_>) -> Result<(), DbError> {
    with_conn!(conn, |c| diesel::insert_into(history_rounds::table)
        .values((
            history_rounds::cycle_id.eq(new.cycle_id),
            history_rounds::due_date.eq(new.due_date),
            history_rounds::received_on.eq(new.received_on),
            history_rounds::decision.eq(new.decision),
            history_rounds::decided_on.eq(new.decided_on),
            history_rounds::language.eq(new.language),
            history_rounds::file_name.eq(new.file_name),
            history_rounds::pdf_sha256.eq(new.pdf_sha256),
            history_rounds::text_note.eq(new.text_note),
            history_rounds::notes.eq(new.notes),
            history_rounds::imported_by.eq(new.imported_by),
            history_rounds::imported_at.eq(new.imported_at),
            history_rounds::revision_due.eq(new.revision_due),
        ))
        .execute(c))?;
    Ok(())
}

/// How many rounds were imported.
pub fn count(conn: &mut Conn<'_>) -> Result<i64, DbError> {
    with_conn!(conn, |c| Ok(history_rounds::table.count().get_result(c)?))
}

/// The imported facts of a cycle, if it was imported.
pub fn of_cycle(conn: &mut Conn<'_>, cycle_id: i64) -> Result<Option<HistoryRound>, DbError> {
    with_conn!(conn, |c| Ok(history_rounds::table
        .filter(history_rounds::cycle_id.eq(cycle_id))
        .select(HistoryRound::as_select())
        .first(c)
        .optional()?))
}

/// The imported facts of the cycles of an archive entry's submission, by archive id.
pub fn of_archive(conn: &mut Conn<'_>, archive_id: i64) -> Result<Option<HistoryRound>, DbError> {
    let submission: Option<i64> = with_conn!(conn, |c| archived_documents::table
        .find(archive_id)
        .select(archived_documents::submission_id)
        .first(c)
        .optional())?;
    let Some(submission) = submission else { return Ok(None) };
    let cycle: Option<i64> =
        with_conn!(conn, |c| submissions::table.find(submission).select(submissions::cycle_id).first(c).optional())?;
    match cycle {
        Some(cycle) => of_cycle(conn, cycle),
        None => Ok(None),
    }
}

/// The id of a city's cycle `number`, if it exists.
pub fn cycle_id(conn: &mut Conn<'_>, city_id: i64, number: i32) -> Result<Option<i64>, DbError> {
    with_conn!(conn, |c| Ok(reporting_cycles::table
        .filter(reporting_cycles::city_id.eq(city_id))
        .filter(reporting_cycles::number.eq(number))
        .select(reporting_cycles::id)
        .first(c)
        .optional()?))
}

/// Whether the cycle has work of its own in the system: a draft or a submitted version.
pub fn has_work(conn: &mut Conn<'_>, cycle_id: i64) -> Result<bool, DbError> {
    with_conn!(conn, |c| {
        let draft: i64 = drafts::table.filter(drafts::cycle_id.eq(cycle_id)).count().get_result(c)?;
        let versions: i64 = submissions::table.filter(submissions::cycle_id.eq(cycle_id)).count().get_result(c)?;
        Ok(draft + versions > 0)
    })
}

/// Gives the cycle the due date that applied and closes it: nothing more is expected.
pub fn close_cycle(conn: &mut Conn<'_>, cycle_id: i64, due: NaiveDate, overridden: bool) -> Result<(), DbError> {
    with_conn!(conn, |c| diesel::update(reporting_cycles::table.find(cycle_id))
        .set((
            reporting_cycles::due_date.eq(due),
            reporting_cycles::due_date_overridden.eq(overridden),
            reporting_cycles::closed_by_history.eq(true),
        ))
        .execute(c))?;
    Ok(())
}

/// The archive entry holding a PDF of this SHA-256, if any.
pub fn archive_holding(conn: &mut Conn<'_>, pdf_sha256: &str) -> Result<Option<i64>, DbError> {
    with_conn!(conn, |c| Ok(archived_documents::table
        .filter(archived_documents::pdf_sha256.eq(pdf_sha256))
        .select(archived_documents::id)
        .first(c)
        .optional()?))
}
