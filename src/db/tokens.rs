//! Queries on API tokens. Only the SHA-256 of a token is stored; lookups are by that hash.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::schema::{api_tokens, cities};
use super::{Conn, DbError, with_conn};

/// A token as stored, without its hash.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub field: Option<String>,
    pub city_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A token's row with the slug of its city, for listing.
pub type TokenWithCity = (TokenRow, Option<String>);

pub struct NewToken<'a> {
    pub name: &'a str,
    pub hash: &'a str,
    pub role: &'a str,
    pub field: Option<&'a str>,
    pub city_id: Option<i64>,
}

pub fn insert(conn: &mut Conn<'_>, new: &NewToken<'_>, now: NaiveDateTime) -> Result<i64, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::name.eq(new.name),
                api_tokens::token_hash.eq(new.hash),
                api_tokens::role.eq(new.role),
                api_tokens::field.eq(new.field),
                api_tokens::city_id.eq(new.city_id),
                api_tokens::created_at.eq(now),
            ))
            .returning(api_tokens::id)
            .get_result(c)?)
    })
}

/// The token with this hash, revoked or not, if any.
pub fn find_by_hash(conn: &mut Conn<'_>, hash: &str) -> Result<Option<TokenRow>, DbError> {
    with_conn!(conn, |c| {
        Ok(api_tokens::table
            .filter(api_tokens::token_hash.eq(hash))
            .select(TokenRow::as_select())
            .first(c)
            .optional()?)
    })
}

/// Records use at most once an hour per token, so reads do not turn into writes.
pub fn touch(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<(), DbError> {
    let stale = now - TimeDelta::hours(1);
    with_conn!(conn, |c| {
        diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::last_used_at.is_null().or(api_tokens::last_used_at.lt(stale))),
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(c)
    })?;
    Ok(())
}

/// All tokens, newest first, with their city's slug.
pub fn list(conn: &mut Conn<'_>) -> Result<Vec<TokenWithCity>, DbError> {
    with_conn!(conn, |c| {
        Ok(api_tokens::table
            .left_join(cities::table)
            .order(api_tokens::id.desc())
            .select((TokenRow::as_select(), cities::slug.nullable()))
            .load(c)?)
    })
}

/// Revokes a token; `false` if it does not exist or was already revoked.
pub fn revoke(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<bool, DbError> {
    let n = with_conn!(conn, |c| {
        diesel::update(api_tokens::table.find(id).filter(api_tokens::revoked_at.is_null()))
            .set(api_tokens::revoked_at.eq(now))
            .execute(c)
    })?;
    Ok(n == 1)
}
