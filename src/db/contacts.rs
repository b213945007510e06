//! Queries on a city's focal points. The database keeps at most one primary contact per city (a
//! partial unique index); [`insert`] and [`update`] demote the old primary first.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::contacts;
use super::{Conn, DbError, with_conn};
use crate::domain::contacts::{Contact, ContactPatch, NewContact};

#[derive(Queryable, Selectable)]
#[diesel(table_name = contacts, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ContactRow {
    id: i64,
    city_id: i64,
    name: String,
    email: String,
    role: Option<String>,
    phone: Option<String>,
    is_primary: bool,
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Self {
        Contact {
            id: r.id,
            city_id: r.city_id,
            name: r.name,
            email: r.email,
            role: r.role,
            phone: r.phone,
            is_primary: r.is_primary,
        }
    }
}

/// A city's contacts, the primary first.
pub fn list(conn: &mut Conn<'_>, city_id: i64) -> Result<Vec<Contact>, DbError> {
    let rows: Vec<ContactRow> = with_conn!(conn, |c| {
        contacts::table
            .filter(contacts::city_id.eq(city_id))
            .order((contacts::is_primary.desc(), contacts::id))
            .select(ContactRow::as_select())
            .load(c)
    })?;
    Ok(rows.into_iter().map(Contact::from).collect())
}

pub fn find(conn: &mut Conn<'_>, city_id: i64, id: i64) -> Result<Option<Contact>, DbError> {
    let row: Option<ContactRow> = with_conn!(conn, |c| {
        contacts::table
            .filter(contacts::city_id.eq(city_id))
            .filter(contacts::id.eq(id))
            .select(ContactRow::as_select())
            .first(c)
            .optional()
    })?;
    Ok(row.map(Contact::from))
}

fn demote_primary(conn: &mut Conn<'_>, city_id: i64, now: NaiveDateTime) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::update(contacts::table.filter(contacts::city_id.eq(city_id)).filter(contacts::is_primary.eq(true)))
            .set((contacts::is_primary.eq(false), contacts::updated_at.eq(now)))
            .execute(c)
    })?;
    Ok(())
}

/// Adds a contact. Call it inside a transaction.
pub fn insert(conn: &mut Conn<'_>, city_id: i64, new: &NewContact, now: NaiveDateTime) -> Result<Contact, DbError> {
    if new.is_primary {
        demote_primary(conn, city_id, now)?;
    }
    let id: i64 = with_conn!(conn, |c| {
        diesel::insert_into(contacts::table)
            .values((
                contacts::city_id.eq(city_id),
                contacts::name.eq(&new.name),
                contacts::email.eq(new.email.as_str()),
                contacts::role.eq(new.role.as_deref()),
                contacts::phone.eq(new.phone.as_deref()),
                contacts::is_primary.eq(new.is_primary),
                contacts::created_at.eq(now),
                contacts::updated_at.eq(now),
            ))
            .returning(contacts::id)
            .get_result(c)
    })?;
    find(conn, city_id, id)?.ok_or(DbError::NotFound)
}

#[derive(AsChangeset)]
#[diesel(table_name = contacts)]
struct ContactChanges<'a> {
    name: Option<&'a str>,
    email: Option<&'a str>,
    role: Option<Option<&'a str>>,
    phone: Option<Option<&'a str>>,
    is_primary: Option<bool>,
    updated_at: NaiveDateTime,
}

/// Changes a contact. Call it inside a transaction.
pub fn update(
    conn: &mut Conn<'_>,
    contact: &Contact,
    patch: &ContactPatch,
    now: NaiveDateTime,
) -> Result<Contact, DbError> {
    if patch.is_primary == Some(true) && !contact.is_primary {
        demote_primary(conn, contact.city_id, now)?;
    }
    let changes = ContactChanges {
        name: patch.name.as_deref(),
        email: patch.email.as_ref().map(|e| e.as_str()),
        role: patch.role.as_ref().map(Option::as_deref),
        phone: patch.phone.as_ref().map(Option::as_deref),
        is_primary: patch.is_primary,
        updated_at: now,
    };
    with_conn!(conn, |c| diesel::update(contacts::table.find(contact.id)).set(&changes).execute(c))?;
    find(conn, contact.city_id, contact.id)?.ok_or(DbError::NotFound)
}

pub fn delete(conn: &mut Conn<'_>, contact: &Contact) -> Result<(), DbError> {
    with_conn!(conn, |c| diesel::delete(contacts::table.find(contact.id)).execute(c))?;
    Ok(())
}

/// Every contact's (city, e-mail, name), by city then primary first: the recipients of reminders.
pub fn all_recipients(conn: &mut Conn<'_>) -> Result<Vec<(i64, String, String)>, DbError> {
    with_conn!(conn, |c| {
        Ok(contacts::table
            .order((contacts::city_id, contacts::is_primary.desc(), contacts::id))
            .select((contacts::city_id, contacts::email, contacts::name))
            .load(c)?)
    })
}
