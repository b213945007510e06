//! Archive entries: one row per accepted version, written only after its PDF and source bundle are
//! durable in the blob store, and never deleted. Only the publication date and the fixity result
//! change afterwards.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::archived_documents;
use super::{Conn, DbError, with_conn};

/// An archived report.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = archived_documents, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ArchivedDocument {
    pub id: i64,
    pub submission_id: i64,
    pub pdf_sha256: String,
    pub pdf_bytes: i64,
    pub bundle_sha256: String,
    pub bundle_bytes: i64,
    pub renderer_version: String,
    pub template_version: String,
    pub archived_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub last_fixity_at: Option<NaiveDateTime>,
    pub last_fixity_ok: Option<bool>,
    /// When it became public in its current form: the later of `published_at` and the moment
    /// that date was set (the OAI-PMH datestamp). `None` while unpublished.
    pub public_since: Option<NaiveDateTime>,
}

/// An entry to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArchivedDocument<'a> {
    pub submission_id: i64,
    pub pdf_sha256: &'a str,
    pub pdf_bytes: i64,
    pub bundle_sha256: &'a str,
    pub bundle_bytes: i64,
    pub renderer_version: &'a str,
    pub template_version: &'a str,
    pub archived_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub public_since: Option<NaiveDateTime>,
}

/// Inserts the entry of a version unless it exists (a completed retry); returns the entry.
pub fn insert(conn: &mut Conn<'_>, new: &NewArchivedDocument<'_>) -> Result<ArchivedDocument, DbError> {
    with_conn!(conn, |c| {
        diesel::insert_into(archived_documents::table)
            .values((
                archived_documents::submission_id.eq(new.submission_id),
                archived_documents::pdf_sha256.eq(new.pdf_sha256),
                archived_documents::pdf_bytes.eq(new.pdf_bytes),
                archived_documents::bundle_sha256.eq(new.bundle_sha256),
                archived_documents::bundle_bytes.eq(new.bundle_bytes),
                archived_documents::renderer_version.eq(new.renderer_version),
                archived_documents::template_version.eq(new.template_version),
                archived_documents::archived_at.eq(new.archived_at),
                archived_documents::published_at.eq(new.published_at),
                archived_documents::public_since.eq(new.public_since),
            ))
            .on_conflict(archived_documents::submission_id)
            .do_nothing()
            .execute(c)
    })?;
    by_submission(conn, new.submission_id)?.ok_or(DbError::NotFound)
}

pub fn get(conn: &mut Conn<'_>, id: i64) -> Result<Option<ArchivedDocument>, DbError> {
    with_conn!(conn, |c| Ok(archived_documents::table
        .find(id)
        .select(ArchivedDocument::as_select())
        .first(c)
        .optional()?))
}

pub fn by_submission(conn: &mut Conn<'_>, submission_id: i64) -> Result<Option<ArchivedDocument>, DbError> {
    with_conn!(conn, |c| {
        Ok(archived_documents::table
            .filter(archived_documents::submission_id.eq(submission_id))
            .select(ArchivedDocument::as_select())
            .first(c)
            .optional()?)
    })
}

/// Every entry, oldest first (for the fixity run).
pub fn all(conn: &mut Conn<'_>) -> Result<Vec<ArchivedDocument>, DbError> {
    with_conn!(conn, |c| Ok(archived_documents::table
        .order(archived_documents::id)
        .select(ArchivedDocument::as_select())
        .load(c)?))
}

/// Sets the publication date and the instant the entry is public since (both `None` to withdraw).
pub fn set_published(
    conn: &mut Conn<'_>,
    id: i64,
    at: Option<NaiveDateTime>,
    since: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::update(archived_documents::table.find(id))
            .set((archived_documents::published_at.eq(at), archived_documents::public_since.eq(since)))
            .execute(c)
    })?;
    Ok(())
}

pub fn record_fixity(conn: &mut Conn<'_>, id: i64, at: NaiveDateTime, ok: bool) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::update(archived_documents::table.find(id))
            .set((archived_documents::last_fixity_at.eq(at), archived_documents::last_fixity_ok.eq(ok)))
            .execute(c)
    })?;
    Ok(())
}
