//! The public catalogue of published reports, as harvesters and feed readers see it: each entry
//! with its city, country and creative field names resolved, its descriptive metadata, and the
//! sets it belongs to (`field:<slug>`, `country:<ISO>`). Nothing unpublished is ever returned.

use chrono::NaiveDateTime;

use crate::db::Conn;
use crate::db::catalog::{self, CatalogRow, Selection, Within};
use crate::error::Result;

/// How many records or headers one OAI-PMH list response carries by default.
pub const PAGE_SIZE: usize = 100;

/// How many entries the Atom feed carries.
pub const FEED_SIZE: usize = 50;

/// A published report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    /// When it became public (the OAI datestamp and the feed's `published`).
    pub published_at: NaiveDateTime,
    pub pdf_bytes: i64,
    pub city_slug: String,
    pub city_name: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// The country's short English name (the code when it is unknown).
    pub country_name: String,
    pub field_slug: String,
    pub field_name: String,
    /// `en` or `fr`.
    pub language: String,
    pub cycle_number: i32,
    pub period_start_year: i32,
    pub period_end_year: i32,
    pub version: i32,
}

impl From<CatalogRow> for Record {
    fn from(r: CatalogRow) -> Self {
        let country_name =
            crate::domain::countries::country(&r.country).map_or_else(|| r.country.clone(), |c| c.name.to_owned());
        Self {
            id: r.id,
            published_at: r.published_at,
            pdf_bytes: r.pdf_bytes,
            city_slug: r.city_slug,
            city_name: r.city_name,
            country_code: r.country,
            country_name,
            field_slug: r.field_slug,
            field_name: r.field_name,
            language: r.language,
            cycle_number: r.cycle_number,
            period_start_year: r.period_start_year,
            period_end_year: r.period_end_year,
            version: r.version,
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

    /// The sets it belongs to: its field's and its country's.
    pub fn set_specs(&self) -> [String; 2] {
        [format!("field:{}", self.field_slug), format!("country:{}", self.country_code)]
    }
}

/// A set of the catalogue: its spec and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetInfo {
    pub spec: String,
    pub name: String,
}

/// What a set spec selects: `Some(None)` for a whole top-level set (`field`, `country`, which
/// hold every entry), `None` for a spec outside the hierarchy.
pub fn parse_set(spec: &str) -> Option<Option<Within>> {
    match spec.split_once(':') {
        None if spec == "field" || spec == "country" => Some(None),
        Some(("field", slug)) if !slug.is_empty() => Some(Some(Within::Field(slug.to_owned()))),
        Some(("country", code)) if !code.is_empty() => Some(Some(Within::Country(code.to_owned()))),
        _ => None,
    }
}

/// The sets that hold published entries: `field` and `country`, then one per field and country
/// with an entry. Empty when nothing is published.
pub fn sets(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Vec<SetInfo>> {
    let fields = catalog::fields(conn, now)?;
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let countries = catalog::countries(conn, now)?;
    let mut sets = vec![SetInfo { spec: "field".into(), name: "Creative fields".into() }];
    sets.extend(fields.into_iter().map(|f| SetInfo { spec: format!("field:{}", f.code), name: f.name }));
    sets.push(SetInfo { spec: "country".into(), name: "Countries".into() });
    sets.extend(countries.into_iter().map(|code| {
        let name = crate::domain::countries::country(&code).map_or_else(|| code.clone(), |c| c.name.to_owned());
        SetInfo { spec: format!("country:{code}"), name }
    }));
    Ok(sets)
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    pub records: Vec<Record>,
    /// How many entries the whole selection holds.
    pub total: i64,
    /// Whether entries follow the last one of this page.
    pub more: bool,
}

/// Up to `limit` entries of `sel` after the keyset position `after`, oldest first.
pub fn slice(conn: &mut Conn<'_>, sel: &Selection, after: Option<(NaiveDateTime, i64)>, limit: usize) -> Result<Slice> {
    let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX - 1);
    let mut rows = catalog::page(conn, sel, after, limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let total = catalog::count(conn, sel)?;
    Ok(Slice { records: rows.into_iter().map(Record::from).collect(), total, more })
}

/// One entry, if it is published by `now`.
pub fn record(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<Option<Record>> {
    Ok(catalog::get(conn, id, now)?.map(Record::from))
}

/// The `limit` most recently published entries, newest first.
pub fn newest(conn: &mut Conn<'_>, now: NaiveDateTime, limit: usize) -> Result<Vec<Record>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(catalog::newest(conn, now, limit)?.into_iter().map(Record::from).collect())
}

/// The earliest publication time among published entries.
pub fn earliest(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Option<NaiveDateTime>> {
    Ok(catalog::earliest(conn, now)?)
}
