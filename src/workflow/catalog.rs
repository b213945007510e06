//! The public catalogue of published reports, as harvesters, feed readers, searchers and
//! citing researchers see it: each entry with its city, country and creative field names
//! resolved, its descriptive metadata and citations, and the sets it belongs to
//! (`field:<slug>`, `country:<ISO>`). Search filters, ranks by full text and counts facets
//! over the in-memory index ([`super::catalog_index`]); exports and bulk downloads take the same
//! filters without pages, up to a bound. Nothing unpublished is ever returned.

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime};
use serde_json::{Value, json};

use super::catalog_index::{Catalog, CatalogIndex};
use crate::db::catalog::{self, CatalogRow};
use crate::db::{self, Conn};
use crate::domain::auth::{Action, Principal, authorize};
use crate::domain::cities::{CitySlug, CountryCode, FIRST_DESIGNATION_YEAR, Language};
use crate::domain::fields::FieldSlug;
use crate::domain::regions::Region;
use crate::domain::{Invalid, Page, PageRequest};
use crate::error::{Error, Result};

/// How many records or headers one OAI-PMH list response carries by default.
pub const PAGE_SIZE: usize = 100;

/// How many entries the Atom feed carries.
pub const FEED_SIZE: usize = 50;

/// A published report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    /// The publication date in force: the feed's `published`, the year a citation gives.
    pub published_at: NaiveDateTime,
    /// When it became public in its current form: the OAI datestamp, the feed's `updated`.
    pub public_since: NaiveDateTime,
    pub pdf_bytes: i64,
    pub city_slug: String,
    pub city_name: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// The country's short English name (the code when it is unknown).
    pub country_name: String,
    /// UNESCO's region of the country, when it has one.
    pub region: Option<Region>,
    pub field_slug: String,
    pub field_name: String,
    /// `en` or `fr`.
    pub language: String,
    pub cycle_number: i32,
    pub period_start_year: i32,
    pub period_end_year: i32,
    pub version: i32,
    pub submission_id: i64,
    /// The digest of the accepted sources.
    pub source_sha256: String,
    pub pdf_sha256: String,
    pub bundle_sha256: String,
    pub bundle_bytes: i64,
    pub renderer_version: String,
    pub template_version: String,
    pub archived_at: NaiveDateTime,
    pub last_fixity_at: Option<NaiveDateTime>,
    pub last_fixity_ok: Option<bool>,
    /// The files' edge digests (`db::archive::ArchivedDocument`), checked before a download.
    pub pdf_edges_sha256: Option<String>,
    pub bundle_edges_sha256: Option<String>,
}

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

impl Record {
    /// `Membership Monitoring Report — Östersund, 2022–2026`.
    pub fn title(&self) -> String {
        format!("Membership Monitoring Report — {}, {}", self.city_name, self.period())
    }

    /// The reporting period, `2022–2026`.
    pub fn period(&self) -> String {
        format!("{}–{}", self.period_start_year, self.period_end_year)
    }

    /// One sentence on what the report is.
    pub fn description(&self) -> String {
        format!(
            "Membership Monitoring Report of {} ({}), UNESCO Creative City of {}, for the reporting period {} \
             (cycle {}, version {}), as accepted and archived by the UNESCO Creative Cities Network Secretariat.",
            self.city_name,
            self.country_name,
            self.field_name,
            self.period(),
            self.cycle_number,
            self.version,
        )
    }

    /// The rights statement.
    pub fn rights(&self) -> String {
        format!(
            "© {}. Made public by the UNESCO Creative Cities Network for research and reference; \
             cite the city and the reporting period.",
            self.city_name
        )
    }

    /// The persistent identifier, in the local scheme: `mmr:archive/<id>`. It names the entry
    /// whatever the server's address; a DOI, once minted, sits beside it.
    pub fn persistent_id(&self) -> String {
        persistent_id(self.id)
    }

    /// The publication year, by which the report is cited.
    fn year(&self) -> i32 {
        self.published_at.year()
    }

    /// A reference in plain text, e.g. `Östersund (2026). Membership Monitoring Report —
    /// Östersund, 2022–2026 (version 1) [Report]. UNESCO Creative Cities Network, Gastronomy.
    /// mmr:archive/7. <url>`; `url` is the entry's public address.
    pub fn citation_text(&self, url: &str) -> String {
        format!(
            "{} ({}). {} (version {}) [Report]. UNESCO Creative Cities Network, {}. {}. {url}",
            self.city_name,
            self.year(),
            self.title(),
            self.version,
            self.field_name,
            self.persistent_id(),
        )
    }

    /// A BibTeX `@techreport` entry keyed `mmr-archive-<id>`, the city as a corporate author
    /// (double braces keep it whole), every value escaped for (La)TeX.
    pub fn bibtex(&self, url: &str) -> String {
        let fields = [
            ("author", format!("{{{}}}", tex(&self.city_name))),
            ("title", tex(&self.title())),
            ("institution", "UNESCO Creative Cities Network".to_owned()),
            ("type", "Membership Monitoring Report".to_owned()),
            ("year", self.year().to_string()),
            ("month", self.published_at.month().to_string()),
            ("version", self.version.to_string()),
            ("language", language_name(&self.language).to_owned()),
            ("keywords", tex(&format!("{}, {}", self.field_name, self.country_name))),
            ("url", url.replace(['{', '}'], "")),
            ("note", tex(&format!("{}; PDF SHA-256 {}", self.persistent_id(), self.pdf_sha256))),
        ];
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("  {k} = {{{v}}}")).collect();
        format!("@techreport{{mmr-archive-{},\n{}\n}}\n", self.id, body.join(",\n"))
    }

    /// A CSL-JSON item (`type` `report`), as citation managers import it.
    pub fn csl_json(&self, url: &str) -> Value {
        let d = self.published_at.date();
        json!({
            "id": format!("mmr-archive-{}", self.id),
            "type": "report",
            "title": self.title(),
            "author": [{ "literal": self.city_name }],
            "issued": { "date-parts": [[d.year(), d.month(), d.day()]] },
            "publisher": "UNESCO Creative Cities Network",
            "genre": "Membership Monitoring Report",
            "version": self.version.to_string(),
            "language": self.language,
            "keyword": format!("{}, {}", self.field_name, self.country_name),
            "abstract": self.description(),
            "URL": url,
            "note": self.persistent_id(),
        })
    }

    /// The sets it belongs to: its field's and its country's.
    pub fn set_specs(&self) -> [String; 2] {
        super::harvest::set_specs(&self.field_slug, &self.country_code)
    }
}

/// One entry, if it is published by `now`.
pub fn record(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<Option<Record>> {
    Ok(catalog::get(conn, id, now)?.map(Record::from))
}

/// The `limit` entries most recently made public, newest first.
pub fn newest(conn: &mut Conn<'_>, now: NaiveDateTime, limit: usize) -> Result<Vec<Record>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(catalog::newest(conn, now, limit)?.into_iter().map(Record::from).collect())
}

/// The persistent identifier of archive entry `id`: `mmr:archive/<id>`.
pub fn persistent_id(id: i64) -> String {
    format!("mmr:archive/{id}")
}

/// The address of entry `id`'s page for people, `{base}/reports/{id}`, from the public base URL
/// (`MMR_PUBLIC_URL`): what feeds, harvesting records and exports link to where a landing page is
/// meant (the PDF keeps its own address).
pub fn page_url(base: &str, id: i64) -> String {
    format!("{}/reports/{id}", base.trim_end_matches('/'))
}

/// The language's English name, as BibTeX's `language` field takes it.
fn language_name(code: &str) -> &str {
    match code {
        "en" => "english",
        "fr" => "french",
        other => other,
    }
}

/// Escapes the characters (La)TeX gives a meaning to; other Unicode passes as is (biber reads
/// UTF-8).
fn tex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '{' | '}' | '&' | '%' | '$' | '#' | '_' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(ch),
        }
    }
    out
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

/// What a search, an export or a bulk download selects among published entries; every given
/// criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// UNESCO's region of the city's country.
    pub region: Option<Region>,
    pub field: Option<String>,
    /// The last year of the reporting period.
    pub year: Option<i32>,
    /// `en` or `fr`.
    pub language: Option<String>,
    /// Words that must all occur in the report or the action plan, as [`query_words`] gives
    /// them. Empty: no text condition.
    pub words: Vec<String>,
}

/// A search's filters as a query string gives them (`GET /api/v1/archive`, the exports, the
/// search page): each optional, an empty value no filter. [`SearchParams::filter`] checks them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Words that must all occur in the report or the action plan.
    pub q: Option<String>,
    pub page: Option<i64>,
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

/// One value of a facet and how many entries of the search have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    pub code: String,
    /// The field's or country's name; the year itself for years.
    pub name: String,
    pub count: i64,
}

/// The facets of a search: its entries counted per creative field, country, UNESCO region and
/// period end year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub fields: Vec<FacetCount>,
    pub countries: Vec<FacetCount>,
    /// Summed from the countries' counts; countries without a region are not counted.
    pub regions: Vec<FacetCount>,
    pub years: Vec<FacetCount>,
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

    #[test]
    fn tex_escapes_what_tex_reads() {
        assert_eq!(tex("Saint-Étienne"), "Saint-Étienne");
        assert_eq!(tex("A & B {x} 50% $1 #2 a_b"), "A \\& B \\{x\\} 50\\% \\$1 \\#2 a\\_b");
        assert_eq!(tex("~^\\"), "\\textasciitilde{}\\textasciicircum{}\\textbackslash{}");
    }
}
