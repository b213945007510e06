//! What the public pages show beyond one search or one record: the Network at a glance (home),
//! a city's or a field's published reports, and every public address for the sitemap. Only
//! published entries and the public registry (cities, fields) are ever read here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime};

use super::catalog::{Filter, Record, query_words};
use super::catalog_index::CatalogIndex;
use crate::db::Conn;
use crate::db::cities::CityFilter;
use crate::domain::cities::{City, CitySlug, CountryCode, FIRST_DESIGNATION_YEAR, Language};
use crate::domain::fields::CreativeField;
use crate::domain::fields::FieldSlug;
use crate::domain::regions::Region;
use crate::domain::{Invalid, PageRequest};
use crate::error::{Error, Result};

/// The Network and its archive at a glance.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Published reports.
    pub reports: usize,
    /// Member cities, and the countries they are in.
    pub cities: usize,
    pub countries: usize,
    /// Every creative field with its number of member cities.
    pub fields: Vec<(CreativeField, i64)>,
    /// The newest published reports, newest first.
    pub latest: Vec<Arc<Record>>,
    /// Reports published per year (of publication) and field: `(year, counts in `fields`'
    /// order)`, oldest year first.
    pub per_year: Vec<(i32, Vec<usize>)>,
}

/// How many of the newest reports the overview lists.
const LATEST: usize = 6;

/// The Network and its archive at `now`.
pub fn overview(index: &CatalogIndex, conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Overview> {
    let catalog = index.sync(conn)?;
    let fields = super::cities::list_fields(conn)?;
    let cities = every_city(conn, &CityFilter::default())?;
    let countries = cities.iter().map(|c| c.country.as_str()).collect::<BTreeSet<_>>().len();
    let hits = index.search(&catalog, now, &Filter::default(), LATEST);
    let latest = hits.records(0, LATEST).cloned().collect();
    let column: BTreeMap<&str, usize> = fields.iter().enumerate().map(|(i, (f, _))| (f.slug.as_str(), i)).collect();
    let mut per_year: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for r in hits.records(0, hits.total()) {
        let row = per_year.entry(r.published_at.year()).or_insert_with(|| vec![0; fields.len()]);
        if let Some(&at) = column.get(r.field_slug.as_str()) {
            row[at] += 1;
        }
    }
    Ok(Overview {
        reports: hits.total(),
        cities: cities.len(),
        countries,
        latest,
        per_year: per_year.into_iter().collect(),
        fields,
    })
}

/// Every creative field, oldest first (for the names of fields in the visitor's language).
pub fn fields(conn: &mut Conn<'_>) -> Result<Vec<CreativeField>> {
    Ok(super::cities::list_fields(conn)?.into_iter().map(|(f, _)| f).collect())
}

/// Every member city `filter` selects, by name.
pub fn every_city(conn: &mut Conn<'_>, filter: &CityFilter) -> Result<Vec<City>> {
    let mut out = Vec::new();
    for page in 1.. {
        let request = PageRequest::parse(Some(page), Some(PageRequest::MAX_PER_PAGE))?;
        let got = super::cities::list(conn, filter, request)?;
        let done = got.items.len() < usize::try_from(PageRequest::MAX_PER_PAGE).unwrap_or(0);
        out.extend(got.items);
        if done {
            break;
        }
    }
    Ok(out)
}

/// Every report of `filter` public at `now`, newest first.
pub fn reports(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    now: NaiveDateTime,
    filter: &Filter,
) -> Result<Vec<Arc<Record>>> {
    let catalog = index.sync(conn)?;
    let hits = index.search(&catalog, now, filter, usize::MAX);
    Ok(hits.records(0, hits.total()).cloned().collect())
}

/// A city with its published reports.
pub fn city(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    now: NaiveDateTime,
    slug: &str,
) -> Result<(City, Vec<Arc<Record>>)> {
    let city = super::cities::get(conn, slug)?;
    let filter = Filter { city: Some(city.slug.clone()), ..Filter::default() };
    Ok((city.clone(), reports(index, conn, now, &filter)?))
}

/// A creative field with its member cities and published reports.
pub fn field(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    now: NaiveDateTime,
    slug: &str,
) -> Result<(CreativeField, Vec<City>, Vec<Arc<Record>>)> {
    let field = super::cities::list_fields(conn)?
        .into_iter()
        .map(|(f, _)| f)
        .find(|f| f.slug == slug)
        .ok_or_else(|| Error::not_found("creative field", slug.to_owned()))?;
    let cities = every_city(conn, &CityFilter { field: Some(field.slug.clone()), ..CityFilter::default() })?;
    let filter = Filter { field: Some(field.slug.clone()), ..Filter::default() };
    let reports = reports(index, conn, now, &filter)?;
    Ok((field, cities, reports))
}

/// The published report a readable address names: `<city slug>-<field slug>-<period end year>`
/// (`ostersund-gastronomy-2026`), its newest version.
pub fn by_name(
    index: &CatalogIndex,
    conn: &mut Conn<'_>,
    now: NaiveDateTime,
    name: &str,
) -> Result<Option<Arc<Record>>> {
    let Some((rest, year)) = name.rsplit_once('-') else { return Ok(None) };
    let Some((city, field)) = rest.rsplit_once('-') else { return Ok(None) };
    let Ok(year) = year.parse::<i32>() else { return Ok(None) };
    let filter =
        Filter { city: Some(city.to_owned()), field: Some(field.to_owned()), year: Some(year), ..Filter::default() };
    Ok(reports(index, conn, now, &filter)?.into_iter().max_by_key(|r| (r.version, r.id)))
}

/// The address of a published report's page: `<base>/reports/<id>`.
pub fn page_url(base: &str, id: i64) -> String {
    format!("{}/reports/{id}", base.trim_end_matches('/'))
}

/// The readable address of a published report (see [`by_name`]).
pub fn readable_name(record: &Record) -> String {
    format!("{}-{}-{}", record.city_slug, record.field_slug, record.period_end_year)
}

/// A search's parameters as given (query-string values, an empty one meaning no filter), before
/// they are checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchParams<'a> {
    /// A city slug.
    pub city: Option<&'a str>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<&'a str>,
    /// A UNESCO region slug (`europe_north_america`, ...).
    pub region: Option<&'a str>,
    /// A creative field slug.
    pub field: Option<&'a str>,
    /// The last year of the reporting period.
    pub year: Option<&'a str>,
    /// `en` or `fr`.
    pub language: Option<&'a str>,
    /// Words that must all occur in the report or the action plan.
    pub q: Option<&'a str>,
}

impl SearchParams<'_> {
    /// The filter, each value checked; a bad one is refused naming its parameter.
    pub fn filter(&self) -> std::result::Result<Filter, Invalid> {
        let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let city = given(self.city)
            .map(|c| CitySlug::parse(&c).map_err(|e| Invalid::new("city", e.message)))
            .transpose()?
            .map(|c| c.as_str().to_owned());
        let country = given(self.country).map(|c| CountryCode::parse(&c)).transpose()?.map(|c| c.as_str().to_owned());
        let region = given(self.region).map(|r| Region::parse(&r)).transpose()?;
        let field = given(self.field).map(|f| FieldSlug::parse(&f)).transpose()?.map(|f| f.as_str().to_owned());
        let year = given(self.year).map(|y| parse_year(&y)).transpose()?;
        let language = given(self.language).map(|l| Language::parse(&l)).transpose()?.map(|l| l.as_str().to_owned());
        let words = self.q.map(query_words).transpose()?.unwrap_or_default();
        Ok(Filter { city, country, region, field, year, language, words })
    }
}

/// A period end year: from the first designations' first deadline on, four digits.
pub fn parse_year(raw: &str) -> std::result::Result<i32, Invalid> {
    raw.parse::<i32>().ok().filter(|y| (FIRST_DESIGNATION_YEAR..=9999).contains(y)).ok_or_else(|| {
        let shown: String = raw.chars().take(40).collect();
        Invalid::new(
            "year",
            format!("`{shown}` is not a year between {FIRST_DESIGNATION_YEAR} and 9999 (the period's last year)"),
        )
    })
}
