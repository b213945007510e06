//! Queries on creative fields, cities, their aliases and their field history.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::{cities, city_aliases, city_field_history, creative_fields};
use super::{Conn, DbError, with_conn};
use crate::domain::cities::{City, CityName, CityPatch, FieldPeriod, NewCity, search_text};
use crate::domain::fields::CreativeField;
use crate::domain::{Page, PageRequest};

#[derive(Queryable, Selectable)]
#[diesel(table_name = cities, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct CityRow {
    id: i64,
    slug: String,
    name: String,
    country: String,
    field: String,
    designation_date: NaiveDate,
    time_zone: String,
    language: String,
    status: String,
}

impl CityRow {
    fn into_city(self, aliases: Vec<String>) -> City {
        City {
            id: self.id,
            slug: self.slug,
            name: self.name,
            aliases,
            country: self.country,
            field: self.field,
            designation_date: self.designation_date,
            time_zone: self.time_zone,
            language: self.language,
            status: self.status,
        }
    }
}

/// Filters of the city list; text values are already validated, `query` already folded.
#[derive(Debug, Default, Clone)]
pub struct CityFilter {
    pub field: Option<String>,
    pub country: Option<String>,
    pub status: Option<String>,
    pub query: Option<String>,
}

/// Every creative field with the number of cities currently in it, oldest fields first.
/// The creative fields, oldest first (eight rows: what a page needs to name them).
pub fn fields(conn: &mut Conn<'_>) -> Result<Vec<CreativeField>, DbError> {
    with_conn!(conn, |c| {
        let fields: Vec<(String, String, Option<String>, i32)> = creative_fields::table
            .select((
                creative_fields::slug,
                creative_fields::name,
                creative_fields::name_fr,
                creative_fields::since_year,
            ))
            .order((creative_fields::since_year, creative_fields::slug))
            .load(c)?;
        Ok(fields
            .into_iter()
            .map(|(slug, name, name_fr, since_year)| CreativeField { slug, name, name_fr, since_year })
            .collect())
    })
}

/// The creative fields with how many cities each has (a count over every city).
pub fn list_fields(conn: &mut Conn<'_>) -> Result<Vec<(CreativeField, i64)>, DbError> {
    let fields = fields(conn)?;
    let counts: Vec<(String, i64)> =
        with_conn!(conn, |c| cities::table.group_by(cities::field).select((cities::field, count_star())).load(c))?;
    Ok(fields
        .into_iter()
        .map(|field| {
            let n = counts.iter().find(|(f, _)| *f == field.slug).map_or(0, |(_, n)| *n);
            (field, n)
        })
        .collect())
}

pub fn field_exists(conn: &mut Conn<'_>, slug: &str) -> Result<bool, DbError> {
    with_conn!(conn, |c| {
        let n: i64 = creative_fields::table.filter(creative_fields::slug.eq(slug)).count().get_result(c)?;
        Ok(n > 0)
    })
}

/// Inserts a city with its aliases and the first period of its field history (from its
/// designation date). Call it inside a transaction.
pub fn insert(conn: &mut Conn<'_>, city: &NewCity, now: NaiveDateTime) -> Result<City, DbError> {
    let id = with_conn!(conn, |c| {
        diesel::insert_into(cities::table)
            .values((
                cities::slug.eq(city.slug.as_str()),
                cities::name.eq(city.name.as_str()),
                cities::country.eq(city.country.as_str()),
                cities::field.eq(city.field.as_str()),
                cities::designation_date.eq(city.designation_date),
                cities::time_zone.eq(city.time_zone.name()),
                cities::language.eq(city.language.as_str()),
                cities::status.eq("active"),
                cities::search_text.eq(city.search_text()),
                cities::created_at.eq(now),
                cities::updated_at.eq(now),
            ))
            .returning(cities::id)
            .get_result::<i64>(c)
    })?;
    replace_aliases(conn, id, &city.aliases)?;
    open_field_period(conn, id, city.field.as_str(), city.designation_date)?;
    find_by_id(conn, id)
}

fn replace_aliases(conn: &mut Conn<'_>, city_id: i64, aliases: &[CityName]) -> Result<(), DbError> {
    let rows: Vec<_> =
        aliases.iter().map(|a| (city_aliases::city_id.eq(city_id), city_aliases::alias.eq(a.as_str()))).collect();
    with_conn!(conn, |c| {
        diesel::delete(city_aliases::table.filter(city_aliases::city_id.eq(city_id))).execute(c)?;
        diesel::insert_into(city_aliases::table).values(&rows).execute(c)?;
        Ok(())
    })
}

fn open_field_period(conn: &mut Conn<'_>, city_id: i64, field: &str, from: NaiveDate) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::insert_into(city_field_history::table)
            .values((
                city_field_history::city_id.eq(city_id),
                city_field_history::field.eq(field),
                city_field_history::valid_from.eq(from),
            ))
            .execute(c)?;
        Ok(())
    })
}

fn aliases_of(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<(i64, String)>, DbError> {
    with_conn!(conn, |c| {
        Ok(city_aliases::table
            .filter(city_aliases::city_id.eq_any(ids))
            .order((city_aliases::city_id, city_aliases::id))
            .select((city_aliases::city_id, city_aliases::alias))
            .load(c)?)
    })
}

fn with_aliases(conn: &mut Conn<'_>, rows: Vec<CityRow>) -> Result<Vec<City>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let aliases = aliases_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let own = aliases.iter().filter(|(id, _)| *id == row.id).map(|(_, a)| a.clone()).collect();
            row.into_city(own)
        })
        .collect())
}

pub fn find_by_id(conn: &mut Conn<'_>, id: i64) -> Result<City, DbError> {
    let row = with_conn!(conn, |c| cities::table.find(id).select(CityRow::as_select()).first(c))?;
    with_aliases(conn, vec![row]).map(|mut v| v.remove(0))
}

pub fn find_by_slug(conn: &mut Conn<'_>, slug: &str) -> Result<Option<City>, DbError> {
    let row = with_conn!(conn, |c| {
        cities::table.filter(cities::slug.eq(slug)).select(CityRow::as_select()).first(c).optional()
    })?;
    match row {
        Some(row) => with_aliases(conn, vec![row]).map(|mut v| v.pop()),
        None => Ok(None),
    }
}

/// One page of cities matching `filter`, ordered by slug, with the total count.
pub fn list(conn: &mut Conn<'_>, filter: &CityFilter, page: PageRequest) -> Result<Page<City>, DbError> {
    let pattern = filter.query.as_ref().map(|q| format!("%{}%", escape_like(q)));
    let (total, rows) = with_conn!(conn, |c| {
        let filtered = || {
            let mut q = cities::table.into_boxed();
            if let Some(field) = &filter.field {
                q = q.filter(cities::field.eq(field.as_str()));
            }
            if let Some(country) = &filter.country {
                q = q.filter(cities::country.eq(country.as_str()));
            }
            if let Some(status) = &filter.status {
                q = q.filter(cities::status.eq(status.as_str()));
            }
            if let Some(pattern) = &pattern {
                q = q.filter(cities::search_text.like(pattern.as_str()).escape('\\'));
            }
            q
        };
        let total: i64 = filtered().count().get_result(c)?;
        let rows: Vec<CityRow> = filtered()
            .order(cities::slug)
            .limit(page.per_page())
            .offset(page.offset())
            .select(CityRow::as_select())
            .load(c)?;
        Ok::<_, DbError>((total, rows))
    })?;
    Ok(page.wrap(with_aliases(conn, rows)?, total))
}

/// Escapes `%`, `_` and `\` so user text matches literally in a LIKE pattern.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[derive(AsChangeset)]
#[diesel(table_name = cities)]
struct CityChanges<'a> {
    name: Option<&'a str>,
    country: Option<&'a str>,
    field: Option<&'a str>,
    designation_date: Option<NaiveDate>,
    time_zone: Option<&'a str>,
    language: Option<&'a str>,
    status: Option<&'a str>,
    search_text: Option<String>,
    updated_at: NaiveDateTime,
}

/// Applies `patch` to `city`. A field change closes the open history period on `today` and opens
/// a new one. Call it inside a transaction.
pub fn update(
    conn: &mut Conn<'_>,
    city: &City,
    patch: &CityPatch,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<City, DbError> {
    let names_changed = patch.name.is_some() || patch.aliases.is_some();
    let search = names_changed.then(|| {
        let name = patch.name.as_ref().map_or(city.name.as_str(), CityName::as_str);
        let aliases: Vec<&str> = match &patch.aliases {
            Some(new) => new.iter().map(CityName::as_str).collect(),
            None => city.aliases.iter().map(String::as_str).collect(),
        };
        search_text(std::iter::once(name).chain(aliases))
    });
    let field_changed = patch.field.as_ref().filter(|f| f.as_str() != city.field);
    let changes = CityChanges {
        name: patch.name.as_ref().map(CityName::as_str),
        country: patch.country.map(|c| c.as_str()),
        field: field_changed.map(|f| f.as_str()),
        designation_date: patch.designation_date,
        time_zone: patch.time_zone.map(|tz| tz.name()),
        language: patch.language.map(|l| l.as_str()),
        status: patch.status.map(|s| s.as_str()),
        search_text: search,
        updated_at: now,
    };
    with_conn!(conn, |c| diesel::update(cities::table.find(city.id)).set(&changes).execute(c))?;
    if let Some(aliases) = &patch.aliases {
        replace_aliases(conn, city.id, aliases)?;
    }
    if let Some(field) = field_changed {
        with_conn!(conn, |c| {
            diesel::update(
                city_field_history::table
                    .filter(city_field_history::city_id.eq(city.id))
                    .filter(city_field_history::valid_to.is_null()),
            )
            .set(city_field_history::valid_to.eq(today))
            .execute(c)
        })?;
        open_field_period(conn, city.id, field.as_str(), today)?;
    }
    find_by_id(conn, city.id)
}

/// The fields a city has belonged to, oldest first.
pub fn field_history(conn: &mut Conn<'_>, city_id: i64) -> Result<Vec<FieldPeriod>, DbError> {
    let rows: Vec<(String, NaiveDate, Option<NaiveDate>)> = with_conn!(conn, |c| {
        city_field_history::table
            .filter(city_field_history::city_id.eq(city_id))
            .order((city_field_history::valid_from, city_field_history::id))
            .select((city_field_history::field, city_field_history::valid_from, city_field_history::valid_to))
            .load(c)
    })?;
    Ok(rows.into_iter().map(|(field, from, until)| FieldPeriod { field, from, until }).collect())
}

/// How many cities there are, and in how many distinct countries.
pub fn count(conn: &mut Conn<'_>) -> Result<(i64, i64), DbError> {
    with_conn!(conn, |c| {
        let cities_n: i64 = cities::table.count().get_result(c)?;
        let countries_n: i64 =
            cities::table.select(diesel::dsl::count(cities::country).aggregate_distinct()).get_result(c)?;
        Ok((cities_n, countries_n))
    })
}

/// Every field's coordinator address, where one is set.
pub fn coordinator_emails(conn: &mut Conn<'_>) -> Result<Vec<(String, String)>, DbError> {
    with_conn!(conn, |c| {
        Ok(creative_fields::table
            .filter(creative_fields::coordinator_email.is_not_null())
            .select((creative_fields::slug, creative_fields::coordinator_email.assume_not_null()))
            .load(c)?)
    })
}

/// Sets or clears a field's coordinator address; `false` if there is no such field.
pub fn set_coordinator_email(conn: &mut Conn<'_>, field: &str, email: Option<&str>) -> Result<bool, DbError> {
    let n = with_conn!(conn, |c| {
        diesel::update(creative_fields::table.find(field)).set(creative_fields::coordinator_email.eq(email)).execute(c)
    })?;
    Ok(n == 1)
}
