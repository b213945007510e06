//! Registering and editing member cities (the Secretariat's registry).

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use super::{Actor, audit};
use crate::db::audit::{AuditEvent, AuditFilter, CitySubjects};
/// The city list's filters, as the entry points pass them.
pub use crate::db::cities::CityFilter;
use crate::db::{self, Conn};
use crate::domain::auth::{Action, CityRef, Principal, authorize};
use crate::domain::cities::{City, CityName, CityPatch, FieldPeriod, NewCity};
use crate::domain::fields::{CreativeField, FieldSlug};
use crate::domain::{Invalid, Page, PageRequest};
use crate::error::{Error, Result};

/// Fails with a 422-style error naming the field when no such creative field exists.
pub fn check_field(conn: &mut Conn<'_>, field: &FieldSlug) -> Result<()> {
    if db::cities::field_exists(conn, field.as_str())? {
        Ok(())
    } else {
        Err(Invalid::new("field", format!("`{field}` is not a creative field (see GET /api/v1/fields)")).into())
    }
}

/// The audit trail of city `slug` (the Secretariat): the changes to the city, its contacts, its
/// cycles and their versions and archive entries, newest first.
pub fn audit_trail(conn: &mut Conn<'_>, caller: &Principal, slug: &str, page: PageRequest) -> Result<Page<AuditEvent>> {
    authorize(Some(caller), Action::Administer)?;
    let city = get(conn, slug)?;
    let mut subjects = CitySubjects { slug: city.slug, ..Default::default() };
    let selection =
        db::cycles::CycleSelection { city_id: Some(city.id), include_withdrawn: true, ..Default::default() };
    for cycle in db::cycles::load(conn, &selection)? {
        for version in db::submissions::versions(conn, cycle.id)? {
            if let Some(entry) = db::archive::by_submission(conn, version.id)? {
                subjects.archive.push(entry.id.to_string());
            }
            subjects.submissions.push(version.id.to_string());
        }
        subjects.cycles.push(cycle.id.to_string());
    }
    Ok(db::audit::list(conn, AuditFilter { city: Some(&subjects), ..Default::default() }, page)?)
}

/// Every creative field with its number of cities.
pub fn list_fields(conn: &mut Conn<'_>) -> Result<Vec<(CreativeField, i64)>> {
    Ok(db::cities::list_fields(conn)?)
}

pub fn get(conn: &mut Conn<'_>, slug: &str) -> Result<City> {
    db::cities::find_by_slug(conn, slug)?.ok_or_else(|| Error::not_found("city", slug))
}

/// City `slug`, once `caller` is found allowed to read its work (cycles, reminders, versions).
pub fn with_readable_work(conn: &mut Conn<'_>, caller: &Principal, slug: &str) -> Result<City> {
    let city = get(conn, slug)?;
    authorize(Some(caller), Action::ReadCityWork(CityRef { id: city.id, field: &city.field }))?;
    Ok(city)
}

/// A city by its id (from a token's scope).
pub fn by_id(conn: &mut Conn<'_>, id: i64) -> Result<City> {
    Ok(db::cities::find_by_id(conn, id)?)
}

pub fn list(conn: &mut Conn<'_>, filter: &CityFilter, page: PageRequest) -> Result<Page<City>> {
    Ok(db::cities::list(conn, filter, page)?)
}

pub fn field_history(conn: &mut Conn<'_>, slug: &str) -> Result<(City, Vec<FieldPeriod>)> {
    let city = get(conn, slug)?;
    let history = db::cities::field_history(conn, city.id)?;
    Ok((city, history))
}

/// Registers a city. A slug already taken is a conflict.
pub fn create(conn: &mut Conn<'_>, actor: &Actor, city: &NewCity, now: NaiveDateTime) -> Result<City> {
    conn.transaction(|conn| {
        check_field(conn, &city.field)?;
        if db::cities::find_by_slug(conn, city.slug.as_str())?.is_some() {
            return Err(Error::Conflict(format!("a city with slug `{}` already exists", city.slug)));
        }
        let created = db::cities::insert(conn, city, now)?;
        audit(conn, actor, now, "city.create", ("city", &created.slug), created_details(city))?;
        Ok(created)
    })
}

/// Applies a change to a city; a change of field is kept in the city's field history.
pub fn update(conn: &mut Conn<'_>, actor: &Actor, slug: &str, patch: &CityPatch, now: NaiveDateTime) -> Result<City> {
    if patch.is_empty() {
        return Err(Invalid::new("body", "names nothing to change").into());
    }
    conn.transaction(|conn| {
        let city = get(conn, slug)?;
        if let Some(field) = &patch.field {
            check_field(conn, field)?;
        }
        let updated = db::cities::update(conn, &city, patch, now.date(), now)?;
        audit(conn, actor, now, "city.update", ("city", slug), patch_details(patch))?;
        Ok(updated)
    })
}

pub(crate) fn created_details(city: &NewCity) -> Value {
    json!({
        "name": city.name.as_str(),
        "country": city.country.as_str(),
        "field": city.field.as_str(),
        "designation_date": city.designation_date.to_string(),
        "time_zone": city.time_zone.name(),
    })
}

/// The values a patch sets, for the audit log.
pub(crate) fn patch_details(patch: &CityPatch) -> Value {
    let mut changes = Map::new();
    let mut set = |key: &str, value: Value| {
        changes.insert(key.to_owned(), value);
    };
    if let Some(v) = &patch.name {
        set("name", v.as_str().into());
    }
    if let Some(v) = &patch.aliases {
        set("aliases", v.iter().map(CityName::as_str).collect::<Vec<_>>().into());
    }
    if let Some(v) = patch.country {
        set("country", v.as_str().into());
    }
    if let Some(v) = &patch.field {
        set("field", v.as_str().into());
    }
    if let Some(v) = patch.designation_date {
        set("designation_date", v.to_string().into());
    }
    if let Some(v) = patch.time_zone {
        set("time_zone", v.name().into());
    }
    if let Some(v) = patch.language {
        set("language", v.as_str().into());
    }
    if let Some(v) = patch.status {
        set("status", v.as_str().into());
    }
    Value::Object(changes)
}

/// Sets or clears where a field's coordinator is reached (formal reminders are copied there).
pub fn set_coordinator_email(
    conn: &mut Conn<'_>,
    actor: &Actor,
    field: &FieldSlug,
    email: Option<&crate::domain::contacts::Email>,
    now: NaiveDateTime,
) -> Result<()> {
    conn.transaction(|conn| {
        if !db::cities::set_coordinator_email(conn, field.as_str(), email.map(|e| e.as_str()))? {
            return Err(Error::not_found("field", field.as_str()));
        }
        audit(
            conn,
            actor,
            now,
            "field.update",
            ("field", field.as_str()),
            json!({ "coordinator_email_set": email.is_some() }),
        )
    })
}
