//! A city's focal points: the Secretariat writes them; the city and the Secretariat read them.
//! A contact removed, or given another address, is signed out of every session at the old
//! address in the same transaction ([`sign_in::end_sessions_at`]): the address no longer speaks
//! for the city.

use chrono::NaiveDateTime;
use serde_json::json;

use super::{Actor, audit, sign_in};
use crate::db::{self, Conn};
use crate::domain::cities::City;
use crate::domain::contacts::{Contact, ContactPatch, NewContact};
use crate::error::{Error, Result};

pub fn list(conn: &mut Conn<'_>, city: &City) -> Result<Vec<Contact>> {
    Ok(db::contacts::list(conn, city.id)?)
}

fn get(conn: &mut Conn<'_>, city: &City, id: i64) -> Result<Contact> {
    db::contacts::find(conn, city.id, id)?.ok_or_else(|| Error::not_found("contact", format!("{}/{id}", city.slug)))
}

fn duplicate_email(city: &City) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Conflict(_) => {
            Error::Conflict(format!("`{}` already has a contact with this e-mail address", city.slug))
        }
        other => other,
    }
}

/// Adds a contact; marking it primary demotes the previous primary.
pub fn create(
    conn: &mut Conn<'_>,
    actor: &Actor,
    city: &City,
    new: &NewContact,
    now: NaiveDateTime,
) -> Result<Contact> {
    conn.transaction(|conn| {
        let contact =
            db::contacts::insert(conn, city.id, new, now).map_err(Error::from).map_err(duplicate_email(city))?;
        let subject = format!("{}/{}", city.slug, contact.id);
        audit(conn, actor, now, "contact.create", ("contact", &subject), json!({ "primary": contact.is_primary }))?;
        Ok(contact)
    })
}

pub fn update(
    conn: &mut Conn<'_>,
    actor: &Actor,
    city: &City,
    id: i64,
    patch: &ContactPatch,
    now: NaiveDateTime,
) -> Result<Contact> {
    conn.transaction(|conn| {
        let contact = get(conn, city, id)?;
        let updated =
            db::contacts::update(conn, &contact, patch, now).map_err(Error::from).map_err(duplicate_email(city))?;
        if patch.email.as_ref().is_some_and(|e| e.as_str() != contact.email) {
            sign_in::end_sessions_at(conn, actor, &contact.email, now)?;
        }
        let subject = format!("{}/{id}", city.slug);
        let changed: Vec<&str> = [
            ("name", patch.name.is_some()),
            ("email", patch.email.is_some()),
            ("role", patch.role.is_some()),
            ("phone", patch.phone.is_some()),
            ("primary", patch.is_primary.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        audit(conn, actor, now, "contact.update", ("contact", &subject), json!({ "changed": changed }))?;
        Ok(updated)
    })
}

pub fn delete(conn: &mut Conn<'_>, actor: &Actor, city: &City, id: i64, now: NaiveDateTime) -> Result<()> {
    conn.transaction(|conn| {
        let contact = get(conn, city, id)?;
        db::contacts::delete(conn, &contact)?;
        let subject = format!("{}/{id}", city.slug);
        audit(conn, actor, now, "contact.delete", ("contact", &subject), json!({}))?;
        sign_in::end_sessions_at(conn, actor, &contact.email, now)?;
        Ok(())
    })
}
