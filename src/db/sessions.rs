//! Queries on sign-in: the Secretariat's staff addresses, the single-use links sent by e-mail and
//! the sessions of people signed in to the pages. Secrets are stored as SHA-256 hashes only, and a
//! person as the hash of their address (see the `sign_in` migration).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_tokens, cities, contacts, creative_fields, sessions, sign_in_links, staff_addresses};
use super::{Conn, DbError, with_conn};

/// Who a link or a session signs in: a role and its scope, as in `api_tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub name: String,
    pub role: String,
    pub field: Option<String>,
    pub city_id: Option<i64>,
}

/// A staff address of the Secretariat.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = staff_addresses, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct StaffRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

pub fn staff(conn: &mut Conn<'_>) -> Result<Vec<StaffRow>, DbError> {
    with_conn!(conn, |c| {
        Ok(staff_addresses::table.order(staff_addresses::email).select(StaffRow::as_select()).load(c)?)
    })
}

/// Adds a staff address; `false` if it is there already.
pub fn add_staff(conn: &mut Conn<'_>, email: &str, name: &str, now: NaiveDateTime) -> Result<bool, DbError> {
    with_conn!(conn, |c| {
        let exists = staff_addresses::table.filter(staff_addresses::email.eq(email)).count().get_result::<i64>(c)? > 0;
        if exists {
            return Ok(false);
        }
        diesel::insert_into(staff_addresses::table)
            .values((
                staff_addresses::email.eq(email),
                staff_addresses::name.eq(name),
                staff_addresses::created_at.eq(now),
            ))
            .execute(c)?;
        Ok(true)
    })
}

/// Removes a staff address; `false` if there was none.
pub fn remove_staff(conn: &mut Conn<'_>, email: &str) -> Result<bool, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::delete(staff_addresses::table.filter(staff_addresses::email.eq(email))).execute(c)? > 0)
    })
}

/// Everyone an address signs in as: a staff member, a field's coordinator, a city's contact
/// (each city the address is a contact of). `email` is lowercased; so are the stored addresses
/// of staff and contacts; coordinators' are compared lowercased.
pub fn grants_for(conn: &mut Conn<'_>, email: &str) -> Result<Vec<Grant>, DbError> {
    with_conn!(conn, |c| {
        let mut grants = Vec::new();
        if let Some(name) = staff_addresses::table
            .filter(staff_addresses::email.eq(email))
            .select(staff_addresses::name)
            .first::<String>(c)
            .optional()?
        {
            grants.push(Grant { name, role: "secretariat".into(), field: None, city_id: None });
        }
        let fields: Vec<(String, String, Option<String>)> = creative_fields::table
            .select((creative_fields::slug, creative_fields::name, creative_fields::coordinator_email))
            .order(creative_fields::slug)
            .load(c)?;
        for (slug, name, address) in fields {
            if address.is_some_and(|a| a.trim().eq_ignore_ascii_case(email)) {
                grants.push(Grant { name, role: "coordinator".into(), field: Some(slug), city_id: None });
            }
        }
        let cities: Vec<(i64, String)> = contacts::table
            .filter(contacts::email.eq(email))
            .select((contacts::city_id, contacts::name))
            .order(contacts::city_id)
            .load(c)?;
        for (city_id, name) in cities {
            grants.push(Grant { name, role: "city".into(), field: None, city_id: Some(city_id) });
        }
        Ok(grants)
    })
}

pub struct NewLink<'a> {
    pub hash: &'a str,
    pub person: &'a str,
    pub grant: &'a Grant,
    pub return_to: Option<&'a str>,
    pub expires_at: NaiveDateTime,
}

pub fn insert_link(conn: &mut Conn<'_>, link: &NewLink<'_>, now: NaiveDateTime) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::insert_into(sign_in_links::table)
            .values((
                sign_in_links::link_hash.eq(link.hash),
                sign_in_links::person.eq(link.person),
                sign_in_links::name.eq(&link.grant.name),
                sign_in_links::role.eq(&link.grant.role),
                sign_in_links::field.eq(link.grant.field.as_deref()),
                sign_in_links::city_id.eq(link.grant.city_id),
                sign_in_links::return_to.eq(link.return_to),
                sign_in_links::created_at.eq(now),
                sign_in_links::expires_at.eq(link.expires_at),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// How many links were sent to `person` since `since`.
pub fn links_since(conn: &mut Conn<'_>, person: &str, since: NaiveDateTime) -> Result<i64, DbError> {
    with_conn!(conn, |c| {
        Ok(sign_in_links::table
            .filter(sign_in_links::person.eq(person))
            .filter(sign_in_links::created_at.ge(since))
            .count()
            .get_result(c)?)
    })
}

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub id: i64,
    pub person: String,
    pub grant: Grant,
    pub return_to: Option<String>,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

type LinkColumns =
    (i64, String, String, String, Option<String>, Option<i64>, Option<String>, NaiveDateTime, Option<NaiveDateTime>);

pub fn find_link(conn: &mut Conn<'_>, hash: &str) -> Result<Option<LinkRow>, DbError> {
    let row: Option<LinkColumns> = with_conn!(conn, |c| {
        sign_in_links::table
            .filter(sign_in_links::link_hash.eq(hash))
            .select((
                sign_in_links::id,
                sign_in_links::person,
                sign_in_links::name,
                sign_in_links::role,
                sign_in_links::field,
                sign_in_links::city_id,
                sign_in_links::return_to,
                sign_in_links::expires_at,
                sign_in_links::used_at,
            ))
            .first(c)
            .optional()?
    });
    Ok(row.map(|(id, person, name, role, field, city_id, return_to, expires_at, used_at)| LinkRow {
        id,
        person,
        grant: Grant { name, role, field, city_id },
        return_to,
        expires_at,
        used_at,
    }))
}

/// Marks a link used; `false` if it was used already (a concurrent use lost the race).
pub fn use_link(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<bool, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::update(
            sign_in_links::table.filter(sign_in_links::id.eq(id)).filter(sign_in_links::used_at.is_null()),
        )
        .set(sign_in_links::used_at.eq(now))
        .execute(c)?
            == 1)
    })
}

/// Forgets links that expired before `before`: they can only ever be refused.
pub fn purge_links(conn: &mut Conn<'_>, before: NaiveDateTime) -> Result<usize, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::delete(sign_in_links::table.filter(sign_in_links::expires_at.lt(before))).execute(c)?)
    })
}

pub struct NewSession<'a> {
    pub hash: &'a str,
    pub person: &'a str,
    pub grant: &'a Grant,
    pub token_id: Option<i64>,
    pub expires_at: NaiveDateTime,
}

pub fn insert_session(conn: &mut Conn<'_>, new: &NewSession<'_>, now: NaiveDateTime) -> Result<i64, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::insert_into(sessions::table)
            .values((
                sessions::session_hash.eq(new.hash),
                sessions::person.eq(new.person),
                sessions::name.eq(&new.grant.name),
                sessions::role.eq(&new.grant.role),
                sessions::field.eq(new.grant.field.as_deref()),
                sessions::city_id.eq(new.grant.city_id),
                sessions::token_id.eq(new.token_id),
                sessions::created_at.eq(now),
                sessions::last_seen_at.eq(now),
                sessions::expires_at.eq(new.expires_at),
            ))
            .returning(sessions::id)
            .get_result(c)?)
    })
}

/// A session as stored, with whether the token it was opened with has been revoked since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: i64,
    pub person: String,
    pub grant: Grant,
    pub token_id: Option<i64>,
    pub token_revoked: bool,
    /// The language of the session's city, for a city's focal point.
    pub city_language: Option<String>,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

type SessionColumns = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<NaiveDateTime>,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

pub fn find_session(conn: &mut Conn<'_>, hash: &str) -> Result<Option<SessionRow>, DbError> {
    let row: Option<SessionColumns> = with_conn!(conn, |c| {
        sessions::table
            .left_join(api_tokens::table)
            .left_join(cities::table)
            .filter(sessions::session_hash.eq(hash))
            .select((
                sessions::id,
                sessions::person,
                sessions::name,
                sessions::role,
                sessions::field,
                sessions::city_id,
                sessions::token_id,
                api_tokens::revoked_at.nullable(),
                cities::language.nullable(),
                sessions::last_seen_at,
                sessions::expires_at,
                sessions::ended_at,
            ))
            .first(c)
            .optional()?
    });
    Ok(row.map(
        |(
            id,
            person,
            name,
            role,
            field,
            city_id,
            token_id,
            revoked,
            city_language,
            last_seen_at,
            expires_at,
            ended_at,
        )| {
            SessionRow {
                id,
                person,
                grant: Grant { name, role, field, city_id },
                token_id,
                token_revoked: revoked.is_some(),
                city_language,
                last_seen_at,
                expires_at,
                ended_at,
            }
        },
    ))
}

pub fn touch_session(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::update(sessions::table.filter(sessions::id.eq(id))).set(sessions::last_seen_at.eq(now)).execute(c)?;
        Ok(())
    })
}

/// Ends one session; `false` if it had ended already.
pub fn end_session(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<bool, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::update(sessions::table.filter(sessions::id.eq(id)).filter(sessions::ended_at.is_null()))
            .set(sessions::ended_at.eq(now))
            .execute(c)?
            == 1)
    })
}

/// Ends every open session of `person`; how many were open.
pub fn end_sessions_of(conn: &mut Conn<'_>, person: &str, now: NaiveDateTime) -> Result<usize, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::update(sessions::table.filter(sessions::person.eq(person)).filter(sessions::ended_at.is_null()))
            .set(sessions::ended_at.eq(now))
            .execute(c)?)
    })
}
