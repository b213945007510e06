//! `mmr cities import`: loads cities from a CSV file in the format of `shared/domain/cities.csv`
//! (`name,country,iso3166_alpha2,creative_field,designation_year[,verified]`), optionally with the
//! columns `slug`, `aliases` (`|`-separated), `designation_date`, `time_zone` and `language`.
//!
//! An optional column that the file does not have leaves that value of an existing city as it is:
//! importing the bare shared format over the enriched demo file changes nothing.
//!
//! The import is all or nothing: every row is checked first, every bad row is reported with its
//! line number, and only a clean file is written, in one transaction. Rows are upserted by slug,
//! so importing the same file twice changes nothing.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde_json::json;

use super::cities::{created_details, patch_details};
use super::{Actor, audit};
use crate::db::{self, Conn};
use crate::domain::cities::{
    City, CityInput, CityName, CityPatch, FIRST_DESIGNATION_YEAR, NewCity, designation_date_for_year,
};
use crate::domain::{Invalid, parse_date};
use crate::error::{Error, Result};

/// The most bad lines listed in one error; the count covers them all.
const MAX_REPORTED: usize = 50;

/// One checked row of the file.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub line: u64,
    pub city: NewCity,
    /// Which optional values the file states; the others keep their stored value on update.
    pub stated: Stated,
}

/// The optional columns present in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stated {
    pub aliases: bool,
    pub designation_date: bool,
    pub time_zone: bool,
    pub language: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Set when nothing was done because the database already held cities (`--if-empty`).
    pub skipped_non_empty: bool,
    /// Cities and distinct countries in the database afterwards.
    pub cities_total: i64,
    pub countries_total: i64,
}

const REQUIRED: [&str; 4] = ["name", "iso3166_alpha2", "creative_field", "designation_year"];

/// Parses and checks every row of a CSV file without touching the database.
pub fn parse_csv(data: &[u8], today: NaiveDate) -> Result<Vec<ImportRow>> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(data);
    let headers = reader.headers().map_err(|e| many(vec![format!("header: {e}")]))?.clone();
    let column: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|h| !column.contains_key(h)).collect();
    if !missing.is_empty() {
        return Err(many(vec![format!("line 1: missing column(s): {}", missing.join(", "))]));
    }
    let stated = Stated {
        aliases: column.contains_key("aliases"),
        designation_date: column.contains_key("designation_date"),
        time_zone: column.contains_key("time_zone"),
        language: column.contains_key("language"),
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut slugs: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("line {line}: {}", e.kind_message()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| column.get(name).and_then(|&i| record.get(i)).filter(|v| !v.is_empty());
        match parse_row(get, today) {
            Ok(city) => match slugs.insert(city.slug.as_str().to_owned(), line) {
                Some(first) => {
                    problems.push(format!("line {line}: slug `{}` is already used on line {first}", city.slug))
                }
                None => rows.push(ImportRow { line, city, stated }),
            },
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    if problems.is_empty() { Ok(rows) } else { Err(many(problems)) }
}

trait KindMessage {
    fn kind_message(&self) -> String;
}

impl KindMessage for csv::Error {
    /// The error without csv's own position prefix (we print the line ourselves).
    fn kind_message(&self) -> String {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".into(),
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("has {len} fields where the header has {expected_len}")
            }
            _ => self.to_string(),
        }
    }
}

fn parse_row<'a>(get: impl Fn(&str) -> Option<&'a str>, today: NaiveDate) -> Result<NewCity, Invalid> {
    let year_raw = get("designation_year").unwrap_or_default();
    let year: i32 =
        year_raw.parse().ok().filter(|y| (FIRST_DESIGNATION_YEAR..=today.year()).contains(y)).ok_or_else(|| {
            Invalid::new(
                "designation_year",
                format!("`{year_raw}` is not a year between {FIRST_DESIGNATION_YEAR} and {}", today.year()),
            )
        })?;
    let date = match get("designation_date") {
        Some(raw) => {
            let date = parse_date("designation_date", raw)?;
            if date.year() != year {
                return Err(Invalid::new("designation_date", format!("{date} is not in designation_year {year}")));
            }
            date
        }
        None => designation_date_for_year(year).ok_or_else(|| Invalid::new("designation_year", "has no valid date"))?,
    };
    let input = CityInput {
        slug: get("slug"),
        name: get("name").unwrap_or_default(),
        aliases: get("aliases").map(|a| a.split('|').filter(|a| !a.trim().is_empty()).collect()).unwrap_or_default(),
        country: get("iso3166_alpha2").unwrap_or_default(),
        field: get("creative_field").unwrap_or_default(),
        designation_date: Some(date),
        time_zone: get("time_zone"),
        language: get("language"),
    };
    NewCity::parse(&input, today)
}

fn many(problems: Vec<String>) -> Error {
    let n = problems.len();
    let summary = format!("{n} bad row{} in the file; nothing was imported", if n == 1 { "" } else { "s" });
    Error::InvalidMany { summary, problems: problems.into_iter().take(MAX_REPORTED).collect() }
}

/// Writes checked rows: creates new slugs, updates changed cities, leaves equal ones alone. With
/// `only_if_empty`, does nothing when the database already has cities (the `make run` seeding).
pub fn import(
    conn: &mut Conn<'_>,
    actor: &Actor,
    rows: &[ImportRow],
    only_if_empty: bool,
    progress: &dyn super::Progress,
    now: NaiveDateTime,
) -> Result<ImportSummary> {
    conn.transaction(|conn| {
        let mut summary = ImportSummary::default();
        if only_if_empty && db::cities::count(conn)?.0 > 0 {
            summary.skipped_non_empty = true;
        } else {
            let fields: Vec<String> = db::cities::list_fields(conn)?.into_iter().map(|(f, _)| f.slug).collect();
            let unknown: Vec<String> = rows
                .iter()
                .filter(|r| !fields.iter().any(|f| f == r.city.field.as_str()))
                .map(|r| format!("line {}: field: `{}` is not a creative field", r.line, r.city.field))
                .collect();
            if !unknown.is_empty() {
                return Err(many(unknown));
            }
            progress.begin("cities", rows.len() as u64);
            for row in rows {
                upsert(conn, actor, row, now, &mut summary)?;
                progress.step();
            }
            progress.end();
            audit(
                conn,
                actor,
                now,
                "cities.import",
                ("cities", "*"),
                json!({ "created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged }),
            )?;
        }
        (summary.cities_total, summary.countries_total) = db::cities::count(conn)?;
        Ok(summary)
    })
}

fn upsert(
    conn: &mut Conn<'_>,
    actor: &Actor,
    row: &ImportRow,
    now: NaiveDateTime,
    summary: &mut ImportSummary,
) -> Result<()> {
    let city = &row.city;
    match db::cities::find_by_slug(conn, city.slug.as_str())? {
        None => {
            db::cities::insert(conn, city, now)?;
            audit(conn, actor, now, "city.create", ("city", city.slug.as_str()), created_details(city))?;
            summary.created += 1;
        }
        Some(existing) => {
            let patch = difference(&existing, city, row.stated);
            if patch.is_empty() {
                summary.unchanged += 1;
            } else {
                db::cities::update(conn, &existing, &patch, now.date(), now)?;
                audit(conn, actor, now, "city.update", ("city", city.slug.as_str()), patch_details(&patch))?;
                summary.updated += 1;
            }
        }
    }
    Ok(())
}

/// The patch that turns `existing` into `wanted`, for the values the file states. Without a
/// `designation_date` column a stored date in the stated year is kept. Status is the
/// Secretariat's, never imported.
fn difference(existing: &City, wanted: &NewCity, stated: Stated) -> CityPatch {
    let aliases: Vec<&str> = wanted.aliases.iter().map(CityName::as_str).collect();
    let date_differs = if stated.designation_date {
        existing.designation_date != wanted.designation_date
    } else {
        existing.designation_date.year() != wanted.designation_date.year()
    };
    CityPatch {
        name: (existing.name != wanted.name.as_str()).then(|| wanted.name.clone()),
        aliases: (stated.aliases && existing.aliases != aliases).then(|| wanted.aliases.clone()),
        country: (existing.country != wanted.country.as_str()).then_some(wanted.country),
        field: (existing.field != wanted.field.as_str()).then(|| wanted.field.clone()),
        designation_date: date_differs.then_some(wanted.designation_date),
        time_zone: (stated.time_zone && existing.time_zone != wanted.time_zone.name()).then_some(wanted.time_zone),
        language: (stated.language && existing.language != wanted.language.as_str()).then_some(wanted.language),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    #[test]
    fn the_shared_format_parses() {
        let csv = "name,country,iso3166_alpha2,creative_field,designation_year,verified\n\
                   Adelaide,Australia,AU,music,2015,yes\n\
                   Kraków,Poland,PL,literature,2013,yes\n";
        let rows = parse_csv(csv.as_bytes(), today()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].city.slug.as_str(), "krakow");
        assert_eq!(rows[1].city.designation_date.to_string(), "2013-01-01");
        assert_eq!(rows[0].city.designation_date.to_string(), "2015-12-11");
        assert_eq!(rows[0].city.time_zone.name(), "Australia/Sydney");
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn every_bad_row_is_named_by_line() {
        let csv = "name,country,iso3166_alpha2,creative_field,designation_year\n\
                   Good,Sweden,SE,music,2015\n\
                   Bad country,Nowhere,XX,music,2015\n\
                   Bad year,Sweden,SE,music,19x9\n\
                   Future,Sweden,SE,music,2031\n\
                   Good,Sweden,SE,music,2015\n";
        let Err(Error::InvalidMany { summary, problems }) = parse_csv(csv.as_bytes(), today()) else { panic!() };
        assert_eq!(summary, "4 bad rows in the file; nothing was imported");
        assert!(problems[0].starts_with("line 3: country"), "{problems:?}");
        assert!(problems[1].starts_with("line 4: designation_year"), "{problems:?}");
        assert!(problems[2].starts_with("line 5: designation_year"), "{problems:?}");
        assert!(problems[3].contains("line 6: slug `good` is already used on line 2"), "{problems:?}");
    }

    #[test]
    fn structural_problems_are_reported() {
        let Err(Error::InvalidMany { problems, .. }) = parse_csv(b"name,country\nA,B\n", today()) else { panic!() };
        assert!(problems[0].contains("missing column(s): iso3166_alpha2, creative_field, designation_year"));
        let csv = b"name,iso3166_alpha2,creative_field,designation_year\nA,SE,music\n\xff\xfe,SE,music,2015\n";
        let Err(Error::InvalidMany { problems, .. }) = parse_csv(csv, today()) else { panic!() };
        assert_eq!(problems, ["line 2: has 3 fields where the header has 4", "line 3: is not valid UTF-8"]);
    }
}
