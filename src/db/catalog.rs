//! The public catalogue: published archive entries joined with their version, reporting cycle,
//! city and creative field, for harvesting (OAI-PMH), feeds, search and exports.
//!
//! Every query here filters on a publication instant at or before a horizon, so nothing
//! unpublished can leave through it. Searches and exports go by `published_at <= now`. Harvesting
//! lists and the feed go by `public_since` (when the entry became public in its current form,
//! never before `published_at`): they are selected and ordered by `(public_since, id)` and paged
//! by keyset (the last pair seen), never by OFFSET, on the `archived_documents (public_since, id)`
//! index; a deep page costs what the first one does. An entry whose publication date was set in
//! the past therefore shows up in an incremental harvest instead of below its watermark. The joins are written as SQL text (with each backend's
//! placeholders) because the schema does not let these tables meet in one diesel query.
//!
//! [`dated`] and [`texts`] feed the archive search's in-memory index
//! (`workflow::catalog_index`), which filters, matches and ranks without the database.
//!
//! [`revision`] tells when what was derived from the catalogue is still current: triggers bump it
//! in every transaction that changes what the catalogue holds or shows.

use std::fmt::Write as _;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};

use super::{Conn, DbError, with_conn};
use crate::domain::catalog::Record;
pub use crate::domain::harvest::{Selection, Within};

/// A published entry with what its metadata needs.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CatalogRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// The publication date in force (what a citation gives).
    #[diesel(sql_type = Timestamp)]
    pub published_at: NaiveDateTime,
    /// When the entry became public in its current form: the OAI datestamp.
    #[diesel(sql_type = Timestamp)]
    pub public_since: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    pub pdf_bytes: i64,
    #[diesel(sql_type = Text)]
    pub city_slug: String,
    #[diesel(sql_type = Text)]
    pub city_name: String,
    /// ISO 3166-1 alpha-2.
    #[diesel(sql_type = Text)]
    pub country: String,
    #[diesel(sql_type = Text)]
    pub field_slug: String,
    #[diesel(sql_type = Text)]
    pub field_name: String,
    /// The report's language (`en` or `fr`): the city's, or for a received document the one its
    /// history manifest gives.
    #[diesel(sql_type = Text)]
    pub language: String,
    #[diesel(sql_type = Integer)]
    pub cycle_number: i32,
    #[diesel(sql_type = Integer)]
    pub period_start_year: i32,
    #[diesel(sql_type = Integer)]
    pub period_end_year: i32,
    #[diesel(sql_type = Integer)]
    pub version: i32,
    #[diesel(sql_type = BigInt)]
    pub submission_id: i64,
    /// The digest of the accepted sources.
    #[diesel(sql_type = Text)]
    pub source_sha256: String,
    #[diesel(sql_type = Text)]
    pub pdf_sha256: String,
    /// `None` for a received document (no source bundle).
    #[diesel(sql_type = Nullable<Text>)]
    pub bundle_sha256: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub bundle_bytes: Option<i64>,
    #[diesel(sql_type = Text)]
    pub renderer_version: String,
    #[diesel(sql_type = Text)]
    pub template_version: String,
    #[diesel(sql_type = Timestamp)]
    pub archived_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_fixity_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub last_fixity_ok: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    pub pdf_edges_sha256: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub bundle_edges_sha256: Option<String>,
}

/// A creative field (or, with the code as its name, a country) among published entries.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Group {
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Instant {
    #[diesel(sql_type = Timestamp)]
    at: NaiveDateTime,
}

enum Arg {
    Time(NaiveDateTime),
    Text(String),
    Id(i64),
    Int(i32),
}

/// SQL text with its bound values, numbered for PostgreSQL (`$1`) or positional for SQLite (`?`).
struct Sql {
    text: String,
    args: Vec<Arg>,
    postgres: bool,
}

impl Sql {
    fn new(conn: &Conn<'_>, text: &str) -> Self {
        Self { text: text.to_owned(), args: Vec::new(), postgres: matches!(conn, Conn::Postgres(_)) }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn arg(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        if self.postgres {
            let _ = write!(self.text, "${}", self.args.len());
        } else {
            self.text.push('?');
        }
        self
    }
}

/// Loads the rows of `$sql` (a [`Sql`]) as `$row` on the concrete connection `$c`.
macro_rules! load {
    ($c:ident, $sql:expr, $row:ty) => {{
        let mut query = diesel::sql_query($sql.text.as_str()).into_boxed();
        for arg in &$sql.args {
            query = match arg {
                Arg::Time(t) => query.bind::<Timestamp, _>(*t),
                Arg::Text(s) => query.bind::<Text, _>(s.clone()),
                Arg::Id(i) => query.bind::<BigInt, _>(*i),
                Arg::Int(i) => query.bind::<Integer, _>(*i),
            };
        }
        query.load::<$row>($c)
    }};
}

const COLUMNS: &str = "SELECT d.id AS id, d.published_at AS published_at, d.public_since AS public_since, \
     d.pdf_bytes AS pdf_bytes, \
     c.slug AS city_slug, c.name AS city_name, c.country AS country, c.field AS field_slug, \
     f.name AS field_name, COALESCE(h.language, c.language) AS language, y.number AS cycle_number, \
     y.period_start_year AS period_start_year, y.period_end_year AS period_end_year, s.version AS version, \
     s.id AS submission_id, s.bundle_sha256 AS source_sha256, d.pdf_sha256 AS pdf_sha256, \
     d.bundle_sha256 AS bundle_sha256, d.bundle_bytes AS bundle_bytes, d.renderer_version AS renderer_version, \
     d.template_version AS template_version, d.archived_at AS archived_at, d.last_fixity_at AS last_fixity_at, \
     d.last_fixity_ok AS last_fixity_ok, d.pdf_edges_sha256 AS pdf_edges_sha256, \
     d.bundle_edges_sha256 AS bundle_edges_sha256";

const FROM: &str = " FROM archived_documents d \
     JOIN submissions s ON s.id = d.submission_id \
     JOIN reporting_cycles y ON y.id = s.cycle_id \
     JOIN cities c ON c.id = y.city_id \
     JOIN creative_fields f ON f.slug = c.field \
     LEFT JOIN history_rounds h ON h.cycle_id = y.id";

const PUBLISHED: &str = " WHERE d.published_at IS NOT NULL AND d.published_at <= ";

/// The entries public since `sel.horizon` or earlier, within its bounds on `public_since`.
fn selected(conn: &Conn<'_>, head: &str, sel: &Selection) -> Sql {
    let mut sql = Sql::new(conn, head);
    sql.push(FROM).push(" WHERE d.public_since IS NOT NULL AND d.public_since <= ").arg(Arg::Time(sel.horizon));
    bounded(&mut sql, "d.public_since", sel);
    sql
}

/// Adds `sel`'s bounds on the datestamp `column` and its field or country.
fn bounded(sql: &mut Sql, column: &str, sel: &Selection) {
    if let Some(from) = sel.from {
        sql.push(&format!(" AND {column} >= ")).arg(Arg::Time(from));
    }
    if let Some(before) = sel.before {
        sql.push(&format!(" AND {column} < ")).arg(Arg::Time(before));
    }
    match &sel.within {
        Some(Within::Field(slug)) => sql.push(" AND c.field = ").arg(Arg::Text(slug.clone())),
        Some(Within::Country(code)) => sql.push(" AND c.country = ").arg(Arg::Text(code.clone())),
        None => sql,
    };
}

/// Up to `limit` entries of `sel` after the keyset position `after` (`(public_since, id)`),
/// oldest first.
pub fn page(
    conn: &mut Conn<'_>,
    sel: &Selection,
    after: Option<(NaiveDateTime, i64)>,
    limit: i64,
) -> Result<Vec<CatalogRow>, DbError> {
    let mut sql = selected(conn, COLUMNS, sel);
    keyset_page(&mut sql, "d.public_since", after, limit);
    with_conn!(conn, |c| Ok(load!(c, sql, CatalogRow)?))
}

/// Adds to `sql` the keyset condition "after `(at, id)`" on the datestamp `column`, the order by
/// `(column, id)` and the limit.
fn keyset_page(sql: &mut Sql, column: &str, after: Option<(NaiveDateTime, i64)>, limit: i64) {
    if let Some((at, id)) = after {
        sql.push(&format!(" AND ({column} > ")).arg(Arg::Time(at));
        sql.push(&format!(" OR ({column} = ")).arg(Arg::Time(at)).push(" AND d.id > ").arg(Arg::Id(id)).push("))");
    }
    sql.push(&format!(" ORDER BY {column}, d.id LIMIT {}", limit.max(0)));
}

/// The one number a `SELECT COUNT(*) AS n` query gives.
fn count_of(conn: &mut Conn<'_>, sql: Sql) -> Result<i64, DbError> {
    let rows = with_conn!(conn, |c| load!(c, sql, Count))?;
    Ok(rows.first().map_or(0, |r| r.n))
}

/// How many entries `sel` covers.
pub fn count(conn: &mut Conn<'_>, sel: &Selection) -> Result<i64, DbError> {
    let sql = selected(conn, "SELECT COUNT(*) AS n", sel);
    count_of(conn, sql)
}

/// One entry, if it is published by `now`.
pub fn get(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<Option<CatalogRow>, DbError> {
    let sel = Selection { horizon: now, from: None, before: None, within: None };
    let mut sql = selected(conn, COLUMNS, &sel);
    sql.push(" AND d.id = ").arg(Arg::Id(id));
    let rows = with_conn!(conn, |c| load!(c, sql, CatalogRow))?;
    Ok(rows.into_iter().next())
}

/// The `limit` entries most recently made public, newest first.
pub fn newest(conn: &mut Conn<'_>, now: NaiveDateTime, limit: i64) -> Result<Vec<CatalogRow>, DbError> {
    let sel = Selection { horizon: now, from: None, before: None, within: None };
    let mut sql = selected(conn, COLUMNS, &sel);
    sql.push(&format!(" ORDER BY d.public_since DESC, d.id DESC LIMIT {}", limit.max(0)));
    with_conn!(conn, |c| Ok(load!(c, sql, CatalogRow)?))
}

/// The earliest `public_since` among published entries (OAI's earliest datestamp).
pub fn earliest(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Option<NaiveDateTime>, DbError> {
    let mut sql = Sql::new(conn, "SELECT d.public_since AS at FROM archived_documents d WHERE d.public_since <= ");
    sql.arg(Arg::Time(now)).push(" ORDER BY d.public_since LIMIT 1");
    let rows = with_conn!(conn, |c| load!(c, sql, Instant))?;
    Ok(rows.into_iter().next().map(|r| r.at))
}

/// The creative fields (slug, name) that hold published entries, by slug.
pub fn fields(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Vec<Group>, DbError> {
    let sel = Selection { horizon: now, from: None, before: None, within: None };
    let mut sql = selected(conn, "SELECT DISTINCT f.slug AS code, f.name AS name", &sel);
    sql.push(" ORDER BY f.slug");
    with_conn!(conn, |c| Ok(load!(c, sql, Group)?))
}

/// The ISO codes of the countries that hold published entries, in order.
pub fn countries(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Vec<String>, DbError> {
    let sel = Selection { horizon: now, from: None, before: None, within: None };
    let mut sql = selected(conn, "SELECT DISTINCT c.country AS code, c.country AS name", &sel);
    sql.push(" ORDER BY c.country");
    let rows = with_conn!(conn, |c| load!(c, sql, Group))?;
    Ok(rows.into_iter().map(|g| g.code).collect())
}

/// The published entries of one city and cycle, by version.
pub fn versions(
    conn: &mut Conn<'_>,
    now: NaiveDateTime,
    city_slug: &str,
    cycle_number: i32,
) -> Result<Vec<CatalogRow>, DbError> {
    let mut sql = Sql::new(conn, COLUMNS);
    sql.push(FROM).push(PUBLISHED).arg(Arg::Time(now));
    sql.push(" AND c.slug = ").arg(Arg::Text(city_slug.to_owned()));
    sql.push(" AND y.number = ").arg(Arg::Int(cycle_number)).push(" ORDER BY s.version, d.id");
    with_conn!(conn, |c| Ok(load!(c, sql, CatalogRow)?))
}

/// Every entry with a publication date, public by now or scheduled: what the search index
/// holds. Withdrawn entries (no date) are not among them.
pub fn dated(conn: &mut Conn<'_>) -> Result<Vec<CatalogRow>, DbError> {
    let mut sql = Sql::new(conn, COLUMNS);
    sql.push(FROM).push(" WHERE d.published_at IS NOT NULL");
    with_conn!(conn, |c| Ok(load!(c, sql, CatalogRow)?))
}

/// The accepted report and action plan of an archive entry.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct EntryText {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// The digest of the sources the texts belong to.
    #[diesel(sql_type = Text)]
    pub source_sha256: String,
    #[diesel(sql_type = Text)]
    pub report: String,
    #[diesel(sql_type = Text)]
    pub action_plan: String,
}

/// The texts of the archive entries `ids` (those that exist), in no particular order.
pub fn texts(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<EntryText>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        conn,
        "SELECT d.id AS id, s.bundle_sha256 AS source_sha256, s.report_markdown AS report, \
         s.action_plan_markdown AS action_plan \
         FROM archived_documents d JOIN submissions s ON s.id = d.submission_id WHERE d.id IN (",
    );
    for (i, id) in ids.iter().enumerate() {
        sql.push(if i == 0 { "" } else { ", " }).arg(Arg::Id(*id));
    }
    sql.push(")");
    with_conn!(conn, |c| Ok(load!(c, sql, EntryText)?))
}

/// An entry that was public and has been withdrawn: what OAI-PMH's deleted header says of it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct WithdrawnRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// When it stopped being public: the deleted header's datestamp.
    #[diesel(sql_type = Timestamp)]
    pub withdrawn_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub field_slug: String,
    /// ISO 3166-1 alpha-2.
    #[diesel(sql_type = Text)]
    pub country: String,
}

const WITHDRAWN_COLUMNS: &str =
    "SELECT d.id AS id, d.withdrawn_at AS withdrawn_at, c.field AS field_slug, c.country AS country";

/// The entries `sel` covers that were public and are withdrawn as seen at `sel.horizon`: withdrawn
/// by then, within the bounds on `withdrawn_at`, and not public again by the horizon.
fn withdrawn_selected(conn: &Conn<'_>, head: &str, sel: &Selection) -> Sql {
    let mut sql = Sql::new(conn, head);
    sql.push(FROM).push(" WHERE d.withdrawn_at IS NOT NULL AND d.withdrawn_at <= ").arg(Arg::Time(sel.horizon));
    sql.push(" AND (d.public_since IS NULL OR d.public_since > ").arg(Arg::Time(sel.horizon)).push(")");
    bounded(&mut sql, "d.withdrawn_at", sel);
    sql
}

/// Up to `limit` withdrawn entries of `sel` after the keyset position `after`
/// (`(withdrawn_at, id)`), oldest first.
pub fn withdrawn_page(
    conn: &mut Conn<'_>,
    sel: &Selection,
    after: Option<(NaiveDateTime, i64)>,
    limit: i64,
) -> Result<Vec<WithdrawnRow>, DbError> {
    let mut sql = withdrawn_selected(conn, WITHDRAWN_COLUMNS, sel);
    keyset_page(&mut sql, "d.withdrawn_at", after, limit);
    with_conn!(conn, |c| Ok(load!(c, sql, WithdrawnRow)?))
}

/// How many withdrawn entries `sel` covers.
pub fn withdrawn_count(conn: &mut Conn<'_>, sel: &Selection) -> Result<i64, DbError> {
    let sql = withdrawn_selected(conn, "SELECT COUNT(*) AS n", sel);
    count_of(conn, sql)
}

/// Entry `id`, if it is withdrawn as seen at `now`.
pub fn withdrawn(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<Option<WithdrawnRow>, DbError> {
    let sel = Selection { horizon: now, from: None, before: None, within: None };
    let mut sql = withdrawn_selected(conn, WITHDRAWN_COLUMNS, &sel);
    sql.push(" AND d.id = ").arg(Arg::Id(id));
    let rows = with_conn!(conn, |c| load!(c, sql, WithdrawnRow))?;
    Ok(rows.into_iter().next())
}

/// The earliest withdrawal among entries withdrawn as seen at `now`.
pub fn earliest_withdrawal(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Option<NaiveDateTime>, DbError> {
    let sel = Selection { horizon: now, from: None, before: None, within: None };
    let mut sql = withdrawn_selected(conn, "SELECT d.withdrawn_at AS at", &sel);
    sql.push(" ORDER BY d.withdrawn_at LIMIT 1");
    let rows = with_conn!(conn, |c| load!(c, sql, Instant))?;
    Ok(rows.into_iter().next().map(|r| r.at))
}

/// The catalogue's revision: it changes in the transaction of every write that can change what
/// this module's queries return (see the `catalog_revision` migration).
///
/// Read before every search and public download, so it goes through diesel's query builder,
/// whose statements each connection prepares once.
pub fn revision(conn: &mut Conn<'_>) -> Result<i64, DbError> {
    use super::schema::catalog_revision::dsl::{catalog_revision, id, revision};
    let query = catalog_revision.filter(id.eq(1)).select(revision);
    with_conn!(conn, |c| Ok(query.first::<i64>(c)?))
}

/// The catalogue's description of a row, with the country's name and region resolved.
impl From<CatalogRow> for Record {
    fn from(r: CatalogRow) -> Self {
        let country_name =
            crate::domain::countries::country(&r.country).map_or_else(|| r.country.clone(), |c| c.name.to_owned());
        Self {
            id: r.id,
            published_at: r.published_at,
            public_since: r.public_since,
            pdf_bytes: r.pdf_bytes,
            city_slug: r.city_slug,
            city_name: r.city_name,
            region: crate::domain::regions::of(&r.country),
            country_code: r.country,
            country_name,
            field_slug: r.field_slug,
            field_name: r.field_name,
            language: r.language,
            cycle_number: r.cycle_number,
            period_start_year: r.period_start_year,
            period_end_year: r.period_end_year,
            version: r.version,
            submission_id: r.submission_id,
            source_sha256: r.source_sha256,
            pdf_sha256: r.pdf_sha256,
            bundle_sha256: r.bundle_sha256,
            bundle_bytes: r.bundle_bytes,
            renderer_version: r.renderer_version,
            template_version: r.template_version,
            archived_at: r.archived_at,
            last_fixity_at: r.last_fixity_at,
            last_fixity_ok: r.last_fixity_ok,
            pdf_edges_sha256: r.pdf_edges_sha256,
            bundle_edges_sha256: r.bundle_edges_sha256,
        }
    }
}
