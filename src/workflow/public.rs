//! What the public pages show beyond one search or one record: the Network at a glance (home),
//! a city's or a field's published reports, and every public address for the sitemap. Only
//! published entries and the public registry (cities, fields) are ever read here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime};

use super::catalog::{Filter, Record};
use super::catalog_index::CatalogIndex;
use crate::db::{self, Conn};
use crate::domain::PageRequest;
use crate::domain::cities::City;
use crate::domain::fields::CreativeField;
use crate::error::{Error, Result};
use crate::workflow::cities::CityFilter;

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

/// Every creative field, oldest first (for the names of fields in the visitor's language), without
/// counting their cities: every page that names a field reads it.
pub fn fields(conn: &mut Conn<'_>) -> Result<Vec<CreativeField>> {
    Ok(db::cities::fields(conn)?)
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
