//! The public catalogue of published reports, as harvesters, feed readers, searchers and
//! citing researchers see it: each entry with its city, country and creative field names
//! resolved, its descriptive metadata and citations, and the sets it belongs to
//! (`field:<slug>`, `country:<ISO>`). Search filters, ranks by full text and counts facets
//! over the in-memory index ([`super::catalog_index`]); exports and bulk downloads take the same
//! filters without pages, up to a bound. Nothing unpublished is ever returned.

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::catalog_index::{Catalog, CatalogIndex};
use crate::db::catalog;
use crate::db::{self, Conn};
use crate::domain::auth::{Action, Principal, authorize};
pub use crate::domain::catalog::{FacetCount, Facets, Filter, Record, persistent_id};
use crate::domain::cities::{CitySlug, CountryCode, FIRST_DESIGNATION_YEAR, Language};
use crate::domain::fields::FieldSlug;
use crate::domain::regions::Region;
use crate::domain::{Invalid, Page, PageRequest};
use crate::error::{Error, Result};

/// How many records or headers one OAI-PMH list response carries by default.
pub const PAGE_SIZE: usize = 100;

/// How many entries the Atom feed carries.
pub const FEED_SIZE: usize = 50;

/// One entry, if it is published by `now`.
pub fn record(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<Option<Record>> {
    Ok(catalog::get(conn, id, now)?.map(Record::from))
}

/// The `limit` entries most recently made public, newest first.
pub fn newest(conn: &mut Conn<'_>, now: NaiveDateTime, limit: usize) -> Result<Vec<Record>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(catalog::newest(conn, now, limit)?.into_iter().map(Record::from).collect())
}

/// The address of entry `id`'s page for people, `{base}/reports/{id}`, from the public base URL
/// (`MMR_PUBLIC_URL`): what feeds, harvesting records and exports link to where a landing page is
/// meant (the PDF keeps its own address).
pub fn page_url(base: &str, id: i64) -> String {
    format!("{}/reports/{id}", base.trim_end_matches('/'))
}

/// The longest text query, in characters.
pub const QUERY_MAX_CHARS: usize = 200;

/// The most words a text query may hold.
pub const QUERY_MAX_WORDS: usize = 16;

/// The most entries one export holds; a larger selection is refused, naming this bound.
pub const EXPORT_LIMIT: usize = 10_000;

/// The bounds on one bulk download (`bulk.zip`); a larger selection is refused, naming the bound
/// it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// The most reports.
    pub reports: usize,
    /// The most PDF bytes.
    pub bytes: u64,
}

impl Default for BulkLimits {
    /// 1,000 reports and 2 GiB: the ZIP then needs no ZIP64 records, and one download stays a
    /// reasonable thing to restart.
    fn default() -> Self {
        Self { reports: 1_000, bytes: 2 << 30 }
    }
}

/// A search's filters as a query string gives them (`GET /api/v1/archive`, the exports, the
/// search page): each optional, an empty value no filter. [`SearchParams::filter`] checks them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A city slug.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// A UNESCO region slug (`europe_north_america`, ...).
    pub region: Option<String>,
    /// A creative field slug.
    pub field: Option<String>,
    /// The last year of the reporting period.
    pub year: Option<String>,
    /// `en` or `fr`.
    pub language: Option<String>,
    /// Words that must all occur in the report or the action plan (at most 200 characters and
    /// 16 words).
    pub q: Option<String>,
    /// The page, from 1 (not on the exports and the feed, which are not paged).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// Items a page, 1 to 200 (not on the exports and the feed).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<i64>,
}

impl SearchParams {
    /// The filter, each value checked; a bad one is invalid, naming its parameter.
    pub fn filter(&self) -> std::result::Result<Filter, Invalid> {
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let city = given(&self.city)
            .map(|c| CitySlug::parse(&c).map_err(|e| Invalid::new("city", e.message)))
            .transpose()?
            .map(|c| c.as_str().to_owned());
        let country = given(&self.country).map(|c| CountryCode::parse(&c)).transpose()?.map(|c| c.as_str().to_owned());
        let region = given(&self.region).map(|r| Region::parse(&r)).transpose()?;
        let field = given(&self.field).map(|f| FieldSlug::parse(&f)).transpose()?.map(|f| f.as_str().to_owned());
        let year = given(&self.year).map(|y| parse_year(&y)).transpose()?;
        let language = given(&self.language).map(|l| Language::parse(&l)).transpose()?.map(|l| l.as_str().to_owned());
        let words = self.q.as_deref().map(query_words).transpose()?.unwrap_or_default();
        Ok(Filter { city, country, region, field, year, language, words })
    }

    /// The page asked for.
    pub fn page(&self) -> std::result::Result<PageRequest, Invalid> {
        PageRequest::parse(self.page, self.per_page)
    }
}

/// A period end year: from the first designations' first deadline on, four digits.
fn parse_year(raw: &str) -> std::result::Result<i32, Invalid> {
    raw.parse::<i32>().ok().filter(|y| (FIRST_DESIGNATION_YEAR..=9999).contains(y)).ok_or_else(|| {
        let shown: String = raw.chars().take(40).collect();
        Invalid::new(
            "year",
            format!("`{shown}` is not a year between {FIRST_DESIGNATION_YEAR} and 9999 (the period's last year)"),
        )
    })
}

/// Splits a text query into the words every match must contain: runs of letters and digits,
/// lower-cased; anything else separates words, so no query syntax reaches the database.
pub fn query_words(q: &str) -> std::result::Result<Vec<String>, Invalid> {
    if q.chars().count() > QUERY_MAX_CHARS {
        return Err(Invalid::new("q", format!("must be at most {QUERY_MAX_CHARS} characters")));
    }
    let words: Vec<String> =
        q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    if words.is_empty() && !q.trim().is_empty() {
        return Err(Invalid::new("q", "must contain at least one word (letters or digits)"));
    }
    if words.len() > QUERY_MAX_WORDS {
        return Err(Invalid::new("q", format!("must hold at most {QUERY_MAX_WORDS} words")));
    }
    Ok(words)
}

/// Checks that the filter's city and creative field exist, so a typo is an error naming the
/// parameter rather than an empty result.
pub fn check_filter(conn: &mut Conn<'_>, filter: &Filter) -> Result<()> {
    if let Some(slug) = &filter.city
        && db::cities::find_by_slug(conn, slug)?.is_none()
    {
        return Err(Invalid::new("city", format!("`{slug}` is not a member city (see GET /api/v1/cities)")).into());
    }
    if let Some(field) = &filter.field {
        let field = crate::domain::fields::FieldSlug::parse(field)?;
        super::cities::check_field(conn, &field)?;
    }
    Ok(())
}

/// A page of search results with the facets of the whole search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub page: Page<Arc<Record>>,
    pub facets: Facets,
}

/// The catalogue `caller` may search with `filter` (the published archive is public), once the
/// filter is checked ([`check_filter`]): `index`
/// brought up to the database's revision. The search itself ([`search`]) needs no connection.
pub fn searchable(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    caller: Option<&Principal>,
    filter: &Filter,
) -> Result<Arc<Catalog>> {
    authorize(caller, Action::ReadArchive)?;
    check_filter(conn, filter)?;
    Ok(index.sync(conn)?)
}

/// A page of the entries of `catalog` public at `now` that `filter` selects, with the facets of
/// them all. Memory only, well under a millisecond for the 10,000-report benchmark archive.
pub fn search(
    index: &CatalogIndex,
    catalog: &Catalog,
    now: NaiveDateTime,
    filter: &Filter,
    page: PageRequest,
) -> Found {
    let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let take = usize::try_from(page.per_page()).unwrap_or(0);
    let hits = index.search(catalog, now, filter, skip.saturating_add(take));
    let total = i64::try_from(hits.total()).unwrap_or(i64::MAX);
    let items = hits.records(skip, take).cloned().collect();
    Found { page: page.wrap(items, total), facets: hits.facets }
}

/// Every published entry matching `filter`, in search order, for an export. More than `limit`
/// is refused as too large, naming the bound and how many were selected.
pub fn export(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    caller: Option<&Principal>,
    now: NaiveDateTime,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<Arc<Record>>> {
    bounded(index, conn, caller, now, filter, limit, "an export")
}

/// The published reports of the city `slug`, in search order (newest first): what a city's page
/// lists. At most [`EXPORT_LIMIT`]; an unknown city is an error naming `city`.
pub fn city_reports(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    caller: Option<&Principal>,
    now: NaiveDateTime,
    slug: &str,
) -> Result<Vec<Arc<Record>>> {
    let filter = Filter { city: Some(slug.to_owned()), ..Filter::default() };
    bounded(index, conn, caller, now, &filter, EXPORT_LIMIT, "a city's list")
}

/// Every published entry matching `filter`, in search order, for a bulk download within
/// `limits`, else refused as too large, naming the bound that was passed.
pub fn bulk(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    caller: Option<&Principal>,
    now: NaiveDateTime,
    filter: &Filter,
    limits: BulkLimits,
) -> Result<Vec<Arc<Record>>> {
    let records = bounded(index, conn, caller, now, filter, limits.reports, "a bulk download")?;
    let bytes: u64 = records.iter().map(|r| u64::try_from(r.pdf_bytes).unwrap_or(0)).sum();
    if bytes > limits.bytes {
        return Err(Error::TooLarge(format!(
            "the selection's {} PDFs hold {bytes} bytes and a bulk download holds at most {} bytes; \
             narrow it with city, country, field, year, language or q",
            records.len(),
            limits.bytes
        )));
    }
    Ok(records)
}

/// Every published entry matching `filter`, in search order; more than `limit` is refused as too
/// large for `what` (e.g. "an export"), naming the bound and how many were selected.
fn bounded(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    caller: Option<&Principal>,
    now: NaiveDateTime,
    filter: &Filter,
    limit: usize,
    what: &str,
) -> Result<Vec<Arc<Record>>> {
    let catalog = searchable(index, conn, caller, filter)?;
    let hits = index.search(&catalog, now, filter, limit);
    let selected = hits.total();
    if selected > limit {
        return Err(Error::TooLarge(format!(
            "the selection holds {selected} entries and {what} holds at most {limit}; \
             narrow it with city, country, field, year, language or q"
        )));
    }
    Ok(hits.records(0, limit).cloned().collect())
}

/// The other published versions of `record`'s city and cycle, by version.
pub fn other_versions(conn: &mut Conn<'_>, now: NaiveDateTime, record: &Record) -> Result<Vec<Record>> {
    Ok(catalog::versions(conn, now, &record.city_slug, record.cycle_number)?
        .into_iter()
        .filter(|r| r.id != record.id)
        .map(Record::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_are_plain_words() {
        assert_eq!(query_words("Accordion \"parade\" OR (fête*)").unwrap(), ["accordion", "parade", "or", "fête"]);
        assert_eq!(query_words("   ").unwrap(), Vec::<String>::new());
        assert_eq!(query_words("!!!").unwrap_err().field, "q");
        assert_eq!(query_words(&"a".repeat(QUERY_MAX_CHARS + 1)).unwrap_err().field, "q");
        assert_eq!(query_words(&vec!["w"; QUERY_MAX_WORDS + 1].join(" ")).unwrap_err().field, "q");
        assert_eq!(query_words(&vec!["w"; QUERY_MAX_WORDS].join(" ")).unwrap().len(), QUERY_MAX_WORDS);
    }
}
