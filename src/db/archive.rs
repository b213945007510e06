//! Archive entries: one row per accepted version, written only after its PDF and source bundle are
//! durable in the blob store (a received document, archived by the history import, has a PDF and
//! no bundle), and never deleted. Only the publication date, the fixity result
//! (which a reader that finds a file damaged also sets, [`mark_damaged`]) and, for entries
//! archived before they were recorded, the files' edge digests change afterwards. Beside them, the
//! stored verdicts of `/verify` ([`Verdict`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{archive_verifications, archived_documents};
use super::{Conn, DbError, with_conn};

/// An archived report.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = archived_documents, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ArchivedDocument {
    pub id: i64,
    pub submission_id: i64,
    pub pdf_sha256: String,
    pub pdf_bytes: i64,
    /// The source bundle's SHA-256 and size; `None` for a received document, which has none
    /// (the database keeps this equal to `renderer_version = 'received'`).
    pub bundle_sha256: Option<String>,
    pub bundle_bytes: Option<i64>,
    pub renderer_version: String,
    pub template_version: String,
    pub archived_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub last_fixity_at: Option<NaiveDateTime>,
    pub last_fixity_ok: Option<bool>,
    /// When it became public in its current form: the later of `published_at` and the moment
    /// that date was set (the OAI-PMH datestamp). `None` while unpublished.
    pub public_since: Option<NaiveDateTime>,
    /// SHA-256 of the PDF's first and last 64 KiB (`storage::edges_sha256`), checked before a
    /// download is sent; `None` for an entry archived before it was recorded, until backfilled.
    pub pdf_edges_sha256: Option<String>,
    /// The same for the source bundle.
    pub bundle_edges_sha256: Option<String>,
    /// When it stopped being public after having been public (OAI-PMH's deleted header); `None`
    /// while public or never public.
    pub withdrawn_at: Option<NaiveDateTime>,
}

impl ArchivedDocument {
    /// The stored files of the entry: `("pdf", sha256, bytes)`, then `("bundle", ...)` unless it
    /// is a received document.
    pub fn files(&self) -> impl Iterator<Item = (&'static str, &str, i64)> {
        let bundle = self.bundle_sha256.as_deref().zip(self.bundle_bytes);
        std::iter::once(("pdf", self.pdf_sha256.as_str(), self.pdf_bytes))
            .chain(bundle.map(|(sha256, bytes)| ("bundle", sha256, bytes)))
    }
}

/// An entry to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArchivedDocument<'a> {
    pub submission_id: i64,
    pub pdf_sha256: &'a str,
    pub pdf_bytes: i64,
    /// `None` for a received document.
    pub bundle: Option<NewBundle<'a>>,
    pub renderer_version: &'a str,
    pub template_version: &'a str,
    pub archived_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub public_since: Option<NaiveDateTime>,
    pub pdf_edges_sha256: &'a str,
}

/// The source bundle of an entry to insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewBundle<'a> {
    pub sha256: &'a str,
    pub bytes: i64,
    pub edges_sha256: &'a str,
}

/// Inserts the entry of a version unless it exists (a completed retry); returns the entry.
pub fn insert(conn: &mut Conn<'_>, new: &NewArchivedDocument<'_>) -> Result<ArchivedDocument, DbError> {
    with_conn!(conn, |c| {
        diesel::insert_into(archived_documents::table)
            .values((
                archived_documents::submission_id.eq(new.submission_id),
                archived_documents::pdf_sha256.eq(new.pdf_sha256),
                archived_documents::pdf_bytes.eq(new.pdf_bytes),
                archived_documents::bundle_sha256.eq(new.bundle.map(|b| b.sha256)),
                archived_documents::bundle_bytes.eq(new.bundle.map(|b| b.bytes)),
                archived_documents::renderer_version.eq(new.renderer_version),
                archived_documents::template_version.eq(new.template_version),
                archived_documents::archived_at.eq(new.archived_at),
                archived_documents::published_at.eq(new.published_at),
                archived_documents::public_since.eq(new.public_since),
                archived_documents::pdf_edges_sha256.eq(new.pdf_edges_sha256),
                archived_documents::bundle_edges_sha256.eq(new.bundle.map(|b| b.edges_sha256)),
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

/// How many entries the archive holds, published or not.
pub fn count(conn: &mut Conn<'_>) -> Result<i64, DbError> {
    with_conn!(conn, |c| Ok(archived_documents::table.count().get_result(c)?))
}

/// What the archive holds, for the operators' metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    /// Entries, published or not.
    pub entries: i64,
    /// Bytes of their PDFs and source bundles.
    pub bytes: i64,
    /// Entries whose files were last found missing or changed.
    pub damaged: i64,
    /// When a fixity check last looked at an entry.
    pub last_fixity_at: Option<NaiveDateTime>,
}

pub fn holdings(conn: &mut Conn<'_>) -> Result<Holdings, DbError> {
    use diesel::dsl::{count_star, max, sql};
    use diesel::sql_types::{BigInt, Nullable};
    let d = archived_documents::table;
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back, the same on both stores.
    let bytes = sql::<Nullable<BigInt>>("CAST(SUM(pdf_bytes + COALESCE(bundle_bytes, 0)) AS BIGINT)");
    with_conn!(conn, |c| {
        let (entries, bytes, last_fixity_at): (i64, Option<i64>, Option<NaiveDateTime>) =
            d.select((count_star(), bytes.clone(), max(archived_documents::last_fixity_at))).first(c)?;
        let damaged = d.filter(archived_documents::last_fixity_ok.eq(false)).count().get_result(c)?;
        Ok(Holdings { entries, bytes: bytes.unwrap_or(0), damaged, last_fixity_at })
    })
}

/// Every entry, oldest first (for the fixity run).
pub fn all(conn: &mut Conn<'_>) -> Result<Vec<ArchivedDocument>, DbError> {
    with_conn!(conn, |c| Ok(archived_documents::table
        .order(archived_documents::id)
        .select(ArchivedDocument::as_select())
        .load(c)?))
}

/// The publication facts of an entry, as [`set_published`] writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publication {
    /// The publication date (`None`: withdrawn).
    pub at: Option<NaiveDateTime>,
    /// The instant the entry is public since.
    pub since: Option<NaiveDateTime>,
    /// When it stopped being public, if it was.
    pub withdrawn_at: Option<NaiveDateTime>,
}

/// Sets the publication date, the instant the entry is public since and its withdrawal.
pub fn set_published(conn: &mut Conn<'_>, id: i64, p: Publication) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::update(archived_documents::table.find(id))
            .set((
                archived_documents::published_at.eq(p.at),
                archived_documents::public_since.eq(p.since),
                archived_documents::withdrawn_at.eq(p.withdrawn_at),
            ))
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

/// Marks every entry holding the file `sha256` (as its PDF or its bundle) damaged, as a fixity
/// run that found it so would, at `at`; returns the ids of the entries that were not marked
/// damaged already, so that each is reported once however many readers find it (each row's
/// update is conditional, so two processes cannot both count it).
pub fn mark_damaged(conn: &mut Conn<'_>, sha256: &str, at: NaiveDateTime) -> Result<Vec<i64>, DbError> {
    use archived_documents::dsl as d;
    let holders: Vec<i64> = with_conn!(conn, |c| d::archived_documents
        .filter(d::pdf_sha256.eq(sha256).or(d::bundle_sha256.eq(sha256)))
        .order(d::id)
        .select(d::id)
        .load(c))?;
    let mut newly = Vec::new();
    for id in holders {
        let changed = with_conn!(conn, |c| diesel::update(
            d::archived_documents.find(id).filter(d::last_fixity_ok.is_null().or(d::last_fixity_ok.eq(true)))
        )
        .set((d::last_fixity_at.eq(at), d::last_fixity_ok.eq(false)))
        .execute(c))?;
        if changed == 1 {
            newly.push(id);
        }
    }
    Ok(newly)
}

/// Records the edge digests of an entry archived before they were recorded (left as they are
/// when already set); `bundle_edges` is `None` for a received document.
pub fn backfill_edges(
    conn: &mut Conn<'_>,
    id: i64,
    pdf_edges: &str,
    bundle_edges: Option<&str>,
) -> Result<(), DbError> {
    use archived_documents::dsl as d;
    with_conn!(conn, |c| diesel::update(d::archived_documents.find(id).filter(d::pdf_edges_sha256.is_null()))
        .set((d::pdf_edges_sha256.eq(pdf_edges), d::bundle_edges_sha256.eq(bundle_edges)))
        .execute(c))?;
    Ok(())
}

/// Entries whose edge digests are not recorded yet, oldest first.
pub fn without_edges(conn: &mut Conn<'_>) -> Result<Vec<ArchivedDocument>, DbError> {
    use archived_documents::dsl as d;
    with_conn!(conn, |c| Ok(archived_documents::table
        .filter(d::pdf_edges_sha256.is_null().or(d::bundle_sha256.is_not_null().and(d::bundle_edges_sha256.is_null())))
        .order(archived_documents::id)
        .select(ArchivedDocument::as_select())
        .load(c)?))
}

/// What re-rendering an entry's source bundle gave, with one renderer and template version.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = archive_verifications, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Verdict {
    pub archive_id: i64,
    pub renderer_version: String,
    pub template_version: String,
    pub verified_at: NaiveDateTime,
    /// SHA-256 of the re-rendered PDF; `None` when the bundle could not be rendered.
    pub rerendered_sha256: Option<String>,
    /// Why the re-rendering could not be compared, if it could not.
    pub problem: Option<String>,
}

/// The stored verdict of `archive_id` with this renderer and template version.
pub fn verdict(
    conn: &mut Conn<'_>,
    archive_id: i64,
    renderer_version: &str,
    template_version: &str,
) -> Result<Option<Verdict>, DbError> {
    use archive_verifications::dsl as v;
    with_conn!(conn, |c| Ok(v::archive_verifications
        .filter(v::archive_id.eq(archive_id))
        .filter(v::renderer_version.eq(renderer_version))
        .filter(v::template_version.eq(template_version))
        .select(Verdict::as_select())
        .first(c)
        .optional()?))
}

/// Stores a verdict, replacing the one of the same entry, renderer and template version.
pub fn save_verdict(conn: &mut Conn<'_>, verdict: &Verdict) -> Result<(), DbError> {
    use archive_verifications::dsl as v;
    with_conn!(conn, |c| diesel::insert_into(v::archive_verifications)
        .values((
            v::archive_id.eq(verdict.archive_id),
            v::renderer_version.eq(&verdict.renderer_version),
            v::template_version.eq(&verdict.template_version),
            v::verified_at.eq(verdict.verified_at),
            v::rerendered_sha256.eq(&verdict.rerendered_sha256),
            v::problem.eq(&verdict.problem),
        ))
        .on_conflict((v::archive_id, v::renderer_version, v::template_version))
        .do_update()
        .set((
            v::verified_at.eq(verdict.verified_at),
            v::rerendered_sha256.eq(&verdict.rerendered_sha256),
            v::problem.eq(&verdict.problem),
        ))
        .execute(c))?;
    Ok(())
}
