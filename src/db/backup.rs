//! Consistent copies of a live SQLite database, for `mmr backup`.
//!
//! `VACUUM INTO` writes the database as one read transaction sees it, through an ordinary
//! connection, while other connections go on writing (WAL keeps their changes out of the
//! snapshot). The copy is then opened on its own, checked (`PRAGMA integrity_check`) and read
//! back: the archive entries and the row counts a backup's manifest lists come from the copy, so
//! they describe exactly what was copied. PostgreSQL has `pg_dump` for this; it is not done here.

use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;

use super::archive::ArchivedDocument;
use super::{Conn, DbError};

/// The tables whose row counts a backup records, the ones a restore is checked by.
pub const COUNTED_TABLES: [&str; 8] = [
    "cities",
    "contacts",
    "reporting_cycles",
    "drafts",
    "submissions",
    "review_decisions",
    "reminders",
    "archived_documents",
];

/// What a snapshot holds, read from the copy itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Every archive entry, oldest first.
    pub archived: Vec<ArchivedDocument>,
    /// Rows in each of [`COUNTED_TABLES`], in that order.
    pub rows: Vec<(&'static str, i64)>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// Writes a consistent copy of the SQLite database behind `conn` to `target` (which must not
/// exist, or be an empty file), checks it and reads it back. `None` on PostgreSQL, which this
/// does not copy.
pub fn sqlite_snapshot(conn: &mut Conn<'_>, target: &Path) -> Result<Option<Snapshot>, DbError> {
    let Conn::Sqlite(live) = conn else {
        return Ok(None);
    };
    let path = target.to_str().ok_or_else(|| DbError::Url(format!("{} is not UTF-8", target.display())))?;
    diesel::sql_query("VACUUM INTO ?").bind::<Text, _>(path).execute(&mut **live)?;
    let mut copy = SqliteConnection::establish(path).map_err(|e| DbError::Unavailable(format!("{path}: {e}")))?;
    let problems: Vec<String> = diesel::sql_query("PRAGMA integrity_check")
        .load::<Check>(&mut copy)?
        .into_iter()
        .map(|c| c.integrity_check)
        .filter(|c| c != "ok")
        .collect();
    if !problems.is_empty() {
        return Err(DbError::Constraint(format!("the copy {path} fails its integrity check: {}", problems.join("; "))));
    }
    let mut rows = Vec::with_capacity(COUNTED_TABLES.len());
    for table in COUNTED_TABLES {
        let count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}")).get_result::<Count>(&mut copy)?;
        rows.push((table, count.n));
    }
    let archived = super::archive::all(&mut Conn::Sqlite(&mut copy))?;
    Ok(Some(Snapshot { archived, rows }))
}
