//! API tokens: random bearer secrets of which only a SHA-256 is stored. A token is shown once,
//! when created; it can be listed (without the secret) and revoked.

use chrono::NaiveDateTime;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Actor, audit};
use crate::db::tokens::NewToken;
/// A token with its city, as the entry points list them.
pub use crate::db::tokens::TokenWithCity;
use crate::db::{self, Conn};
use crate::domain::auth::{Credential, Principal, Role, Scope};
use crate::domain::cities::CitySlug;
use crate::domain::fields::FieldSlug;
use crate::domain::{Invalid, clean_text};
use crate::error::{Error, Result};

const PREFIX: &str = "mmr_";

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub role: Role,
    pub field: Option<FieldSlug>,
    pub city: Option<CitySlug>,
    pub name: String,
}

impl TokenSpec {
    /// Checks the combination: a coordinator names a field, a city names its city, the
    /// Secretariat names neither.
    pub fn parse(role: Role, field: Option<&str>, city: Option<&str>, name: &str) -> Result<Self, Invalid> {
        let field = field.map(FieldSlug::parse).transpose()?;
        let city = city.map(CitySlug::parse).transpose()?;
        match (role, &field, &city) {
            (Role::Coordinator, None, _) => {
                return Err(Invalid::new("field", "a coordinator token needs a field"));
            }
            (Role::City, _, None) => return Err(Invalid::new("city", "a city token needs a city")),
            (Role::Coordinator | Role::Secretariat, _, Some(_)) => {
                return Err(Invalid::new("city", format!("a {role} token has no city")));
            }
            (Role::City | Role::Secretariat, Some(_), _) => {
                return Err(Invalid::new("field", format!("a {role} token has no field")));
            }
            _ => {}
        }
        Ok(Self { role, field, city, name: clean_text("name", name, 200)? })
    }
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a token and returns its id and the secret, which is not stored and cannot be shown again.
pub fn create(conn: &mut Conn<'_>, actor: &Actor, spec: &TokenSpec, now: NaiveDateTime) -> Result<(i64, String)> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    conn.transaction(|conn| {
        let city_id = match &spec.city {
            Some(slug) => Some(
                db::cities::find_by_slug(conn, slug.as_str())?
                    .ok_or_else(|| Invalid::new("city", format!("no city has slug `{slug}`")))?
                    .id,
            ),
            None => None,
        };
        if let Some(field) = &spec.field {
            super::cities::check_field(conn, field)?;
        }
        let new = NewToken {
            name: &spec.name,
            hash: &hash(&secret),
            role: spec.role.as_str(),
            field: spec.field.as_ref().map(FieldSlug::as_str),
            city_id,
        };
        let id = db::tokens::insert(conn, &new, now)?;
        let details = json!({
            "name": spec.name,
            "role": spec.role.as_str(),
            "field": new.field,
            "city": spec.city.as_ref().map(CitySlug::as_str),
        });
        audit(conn, actor, now, "token.create", ("token", &id.to_string()), details)?;
        Ok((id, secret))
    })
}

/// The principal a bearer secret stands for, or `None` if it is unknown or revoked.
/// What a presented bearer secret turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    Valid(Principal),
    /// No token has this secret (or it is not a token at all).
    Unknown,
    /// The token was revoked.
    Revoked {
        token_id: i64,
    },
}

/// Looks a bearer secret up; a valid token's last use is recorded.
pub fn authenticate(conn: &mut Conn<'_>, secret: &str, now: NaiveDateTime) -> Result<Authentication> {
    if !secret.starts_with(PREFIX) || secret.len() > 200 {
        return Ok(Authentication::Unknown);
    }
    let Some(row) = db::tokens::find_by_hash(conn, &hash(secret))? else {
        return Ok(Authentication::Unknown);
    };
    if row.revoked_at.is_some() {
        return Ok(Authentication::Revoked { token_id: row.id });
    }
    let scope = match (row.role.as_str(), row.field, row.city_id) {
        ("secretariat", _, _) => Scope::Secretariat,
        ("coordinator", Some(field), _) => Scope::Coordinator { field },
        ("city", _, Some(city_id)) => Scope::City { city_id },
        _ => return Ok(Authentication::Unknown),
    };
    db::tokens::touch(conn, row.id, now)?;
    Ok(Authentication::Valid(Principal { credential: Credential::Token(row.id), name: row.name, scope }))
}

/// Records in the audit log that the token `token_id` was refused (`reason`: `revoked`,
/// `forbidden`). The caller throttles it, so that a client repeating a refused request cannot
/// flood the log.
pub fn record_refusal(
    conn: &mut Conn<'_>,
    token_id: i64,
    reason: &str,
    request_id: Option<String>,
    client_addr: Option<String>,
    now: NaiveDateTime,
) -> Result<()> {
    let actor = Actor { name: format!("token:{token_id}"), token_id: Some(token_id), request_id, client_addr };
    audit(conn, &actor, now, "token.refused", ("token", &token_id.to_string()), json!({ "reason": reason }))
}

pub fn list(conn: &mut Conn<'_>) -> Result<Vec<TokenWithCity>> {
    Ok(db::tokens::list(conn)?)
}

pub fn revoke(conn: &mut Conn<'_>, actor: &Actor, id: i64, now: NaiveDateTime) -> Result<()> {
    conn.transaction(|conn| {
        if !db::tokens::revoke(conn, id, now)? {
            return Err(Error::not_found("active token", id.to_string()));
        }
        audit(conn, actor, now, "token.revoke", ("token", &id.to_string()), json!({}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_specs() {
        assert!(TokenSpec::parse(Role::Secretariat, None, None, "Paris desk").is_ok());
        assert!(TokenSpec::parse(Role::Coordinator, Some("music"), None, "Music").is_ok());
        assert!(TokenSpec::parse(Role::City, None, Some("ostersund"), "Östersund").is_ok());
        assert_eq!(TokenSpec::parse(Role::Coordinator, None, None, "x").unwrap_err().field, "field");
        assert_eq!(TokenSpec::parse(Role::City, None, None, "x").unwrap_err().field, "city");
        assert_eq!(TokenSpec::parse(Role::Secretariat, Some("music"), None, "x").unwrap_err().field, "field");
        assert_eq!(TokenSpec::parse(Role::Secretariat, None, None, " ").unwrap_err().field, "name");
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
