//! Signing in to the pages (DESIGN.md §3): single-use e-mail links to addresses the registry
//! knows, API tokens, and the server-side sessions both open.
//!
//! - **Links.** A person types their address. Each role it carries (a Secretariat staff address,
//!   a field's coordinator address, a city's contact) gets a link valid for [`LINK_VALID`], all
//!   in one message in the person's language (the city's, for a city's contact). Whether the
//!   address is known or not, [`request_link`] answers the same ([`LinkRequest`] is for the
//!   caller's logs only), so the page cannot be used to learn who is registered. Links to one
//!   address are limited to [`LINKS_PER_ADDRESS`] per [`LINK_WINDOW`]; per client, the page
//!   keeps a [`ClientThrottle`].
//! - **Sessions.** Only the SHA-256 of the session secret is stored, and a person is known by the
//!   SHA-256 of their address ("token:<id>" for a session opened with a token): no address is
//!   stored outside the registry. A session ends after [`IDLE`] without use, [`LONGEST`] after it
//!   began, at sign-out, when the token it was opened with is revoked, or when the Secretariat
//!   ends every session of a person ([`end_sessions_of`], also done when a staff address is
//!   removed).
//! - **Audit.** Every sign-in, refused sign-in and sign-out is an audit event on the session (or
//!   the link) with the role and scope, never the address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use chrono::{NaiveDateTime, TimeDelta};
use rand::RngCore;
use serde_json::json;

use super::tokens::Authentication;
use super::{Actor, Postman, audit};
use crate::db::sessions::{Grant, NewLink, NewSession, StaffRow};
use crate::db::{self, Conn};
use crate::domain::auth::{Action, Credential, Principal, Scope, authorize};
use crate::domain::cities::Language;
use crate::domain::clean_text;
use crate::domain::contacts::Email;
use crate::error::{Error, Result};
use crate::mail::{self, Envelope, OutgoingMessage, SignInLink};
use crate::storage::{hex, sha256_hex};

/// How long a sign-in link may be used.
pub const LINK_VALID: TimeDelta = TimeDelta::minutes(15);
/// How many links one address may be sent per [`LINK_WINDOW`].
pub const LINKS_PER_ADDRESS: i64 = 5;
pub const LINK_WINDOW: TimeDelta = TimeDelta::hours(1);
/// A session unused this long has ended.
pub const IDLE: TimeDelta = TimeDelta::hours(12);
/// A session ends this long after it began, however much it is used.
pub const LONGEST: TimeDelta = TimeDelta::days(7);
/// How often a session's last use is written (it is read on every page).
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

/// A random secret, hex-encoded (256 bits).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// The SHA-256 of a secret or an address, hex-encoded: what is stored in its place.
pub fn digest(text: &str) -> String {
    sha256_hex(text.as_bytes())
}

/// What became of a request for a link: for the logs and tests, never shown to the person.
#[derive(Debug)]
pub enum LinkRequest {
    /// The address is known: the message to send (after the page has answered).
    Send(Box<OutgoingMessage>),
    /// No one has this address.
    Unknown,
    /// The address was sent as many links as it may be lately.
    Limited,
}

/// Whom a grant signs in as, in `language`: a city's name, a field's coordinator, the Secretariat.
fn label(conn: &mut Conn<'_>, grant: &Grant, language: Language) -> Result<String> {
    Ok(match (grant.role.as_str(), grant.city_id, &grant.field) {
        ("city", Some(city_id), _) => db::cities::find_by_id(conn, city_id)?.name,
        ("coordinator", _, Some(field)) => {
            let fields = db::cities::list_fields(conn)?;
            let found = fields.into_iter().map(|(f, _)| f).find(|f| &f.slug == field);
            let name = found.map(|f| match language {
                Language::Fr => f.name_fr.unwrap_or(f.name),
                Language::En => f.name,
            });
            let name = name.unwrap_or_else(|| field.clone());
            match language {
                Language::En => format!("the coordinator of {name}"),
                Language::Fr => format!("coordination du domaine {name}"),
            }
        }
        _ => match language {
            Language::En => "the Secretariat".to_owned(),
            Language::Fr => "Secrétariat".to_owned(),
        },
    })
}

/// Prepares the sign-in message for `address`: one link per role the address carries, each
/// returning to `return_to` (a path on this site) once used. `language` is the page's; a city's
/// contact is written to in the city's language.
pub fn request_link(
    conn: &mut Conn<'_>,
    postman: &Postman,
    address: &str,
    return_to: Option<&str>,
    language: Language,
    now: NaiveDateTime,
) -> Result<LinkRequest> {
    let email = Email::parse(address)?;
    let return_to = return_to.filter(|path| is_local_path(path));
    conn.transaction(|conn| {
        let grants = db::sessions::grants_for(conn, email.as_str())?;
        if grants.is_empty() {
            return Ok(LinkRequest::Unknown);
        }
        let person = digest(email.as_str());
        if db::sessions::links_since(conn, &person, now - LINK_WINDOW)? >= LINKS_PER_ADDRESS {
            return Ok(LinkRequest::Limited);
        }
        let mut language = language;
        if let Some(city_id) = grants.iter().find_map(|g| g.city_id) {
            language = Language::parse(&db::cities::find_by_id(conn, city_id)?.language).unwrap_or(language);
        }
        let mut links = Vec::with_capacity(grants.len());
        for grant in &grants {
            let secret = new_secret();
            let hash = digest(&secret);
            let link = NewLink { hash: &hash, person: &person, grant, return_to, expires_at: now + LINK_VALID };
            db::sessions::insert_link(conn, &link, now)?;
            links.push(SignInLink {
                label: label(conn, grant, language)?,
                url: postman.link(&format!("/sign-in/link/{secret}")),
            });
        }
        let envelope = Envelope {
            from: postman.from.clone(),
            to: vec![email.as_str().to_owned()],
            cc: Vec::new(),
            message_id: mail::message_id_on(&format!("sign-in.{}", &new_secret()[..24]), &postman.public_url),
        };
        match mail::compose_sign_in(&envelope, language.into(), &links, LINK_VALID.num_minutes()) {
            Ok(message) => Ok(LinkRequest::Send(Box::new(message))),
            Err(e) => {
                tracing::error!(error = %e, "a sign-in message could not be composed (is MMR_MAIL_FROM an address?)");
                Ok(LinkRequest::Unknown)
            }
        }
    })
}

/// A path on this site to return to after signing in: `/…`, not `//host` and no scheme, so a
/// link cannot send a person elsewhere.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 1000
        && !path.chars().any(|c| c.is_control() || c == '\\')
}

/// What a link is, before it is used: the confirmation page shows whom it signs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// The person's name, and whom they sign in as (a city, a field's coordinator, the
    /// Secretariat) in the page's language.
    Valid { name: String, label: String },
    /// Past its [`LINK_VALID`].
    Expired,
    /// Used already.
    Used,
    /// No link has this secret.
    Unknown,
}

fn scope_of(grant: &Grant) -> Option<Scope> {
    match (grant.role.as_str(), &grant.field, grant.city_id) {
        ("secretariat", _, _) => Some(Scope::Secretariat),
        ("coordinator", Some(field), _) => Some(Scope::Coordinator { field: field.clone() }),
        ("city", _, Some(city_id)) => Some(Scope::City { city_id }),
        _ => None,
    }
}

fn plausible_secret(secret: &str) -> bool {
    secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Looks a link up without using it.
pub fn link_state(conn: &mut Conn<'_>, secret: &str, language: Language, now: NaiveDateTime) -> Result<LinkState> {
    if !plausible_secret(secret) {
        return Ok(LinkState::Unknown);
    }
    let Some(link) = db::sessions::find_link(conn, &digest(secret))? else {
        return Ok(LinkState::Unknown);
    };
    Ok(if link.used_at.is_some() {
        LinkState::Used
    } else if now >= link.expires_at {
        LinkState::Expired
    } else {
        let label = label(conn, &link.grant, language)?;
        LinkState::Valid { name: link.grant.name, label }
    })
}

/// A new session: its secret (for the cookie, shown nowhere else), who it signs in, and where
/// to go next.
#[derive(Debug, Clone)]
pub struct Opened {
    pub secret: String,
    pub principal: Principal,
    pub return_to: Option<String>,
}

/// Why signing in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The link or token is not one of ours (or a revoked token).
    Unknown,
    Expired,
    Used,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Expired => "expired",
            Self::Used => "used",
        }
    }
}

fn open(
    conn: &mut Conn<'_>,
    actor: &Actor,
    person: &str,
    grant: &Grant,
    token_id: Option<i64>,
    via: &str,
    now: NaiveDateTime,
) -> Result<(String, Principal)> {
    let scope = scope_of(grant).ok_or_else(|| Error::Conflict(format!("a sign-in with role `{}`", grant.role)))?;
    let secret = new_secret();
    let new = NewSession { hash: &digest(&secret), person, grant, token_id, expires_at: now + LONGEST };
    let id = db::sessions::insert_session(conn, &new, now)?;
    let principal =
        Principal { credential: Credential::Session { id, token: token_id }, name: grant.name.clone(), scope };
    let actor = Actor { name: grant.name.clone(), token_id, ..actor.clone() };
    let details = json!({ "via": via, "role": grant.role, "field": grant.field, "city_id": grant.city_id });
    audit(conn, &actor, now, "session.sign_in", ("session", &id.to_string()), details)?;
    Ok((secret, principal))
}

fn refuse(
    conn: &mut Conn<'_>,
    actor: &Actor,
    via: &str,
    why: Refused,
    subject: (&str, &str),
    now: NaiveDateTime,
) -> Result<()> {
    audit(conn, actor, now, "session.sign_in_refused", subject, json!({ "via": via, "reason": why.as_str() }))
}

/// Uses a sign-in link: a session for whom it names, or why not (recorded in the audit log).
/// `actor` carries the request's id and client address.
pub fn use_link(
    conn: &mut Conn<'_>,
    actor: &Actor,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Result<Opened, Refused>> {
    conn.transaction(|conn| {
        let link = if plausible_secret(secret) { db::sessions::find_link(conn, &digest(secret))? } else { None };
        let Some(link) = link else {
            refuse(conn, actor, "link", Refused::Unknown, ("link", "-"), now)?;
            return Ok(Err(Refused::Unknown));
        };
        let subject = link.id.to_string();
        let why = if link.used_at.is_some() {
            Some(Refused::Used)
        } else if now >= link.expires_at {
            Some(Refused::Expired)
        } else if !db::sessions::use_link(conn, link.id, now)? {
            Some(Refused::Used)
        } else {
            None
        };
        if let Some(why) = why {
            refuse(conn, actor, "link", why, ("link", &subject), now)?;
            return Ok(Err(why));
        }
        let (secret, principal) = open(conn, actor, &link.person, &link.grant, None, "link", now)?;
        Ok(Ok(Opened { secret, principal, return_to: link.return_to }))
    })
}

/// Signs in with an API token: a session with the token's role and scope, which ends when the
/// token is revoked.
pub fn use_token(
    conn: &mut Conn<'_>,
    actor: &Actor,
    token: &str,
    now: NaiveDateTime,
) -> Result<Result<Opened, Refused>> {
    conn.transaction(|conn| {
        let principal = match super::tokens::authenticate(conn, token.trim(), now)? {
            Authentication::Valid(principal) => principal,
            Authentication::Revoked { token_id } => {
                refuse(conn, actor, "token", Refused::Unknown, ("token", &token_id.to_string()), now)?;
                return Ok(Err(Refused::Unknown));
            }
            Authentication::Unknown => {
                refuse(conn, actor, "token", Refused::Unknown, ("token", "-"), now)?;
                return Ok(Err(Refused::Unknown));
            }
        };
        let token_id = principal.token_id();
        let (role, field, city_id) = match &principal.scope {
            Scope::Secretariat => ("secretariat", None, None),
            Scope::Coordinator { field } => ("coordinator", Some(field.clone()), None),
            Scope::City { city_id } => ("city", None, Some(*city_id)),
        };
        let grant = Grant { name: principal.name.clone(), role: role.to_owned(), field, city_id };
        let person = format!("token:{}", token_id.unwrap_or_default());
        let (secret, principal) = open(conn, actor, &person, &grant, token_id, "token", now)?;
        Ok(Ok(Opened { secret, principal, return_to: None }))
    })
}

/// A signed-in person, and the language their pages default to: a city's focal points read their
/// city's language; `None` for others (the browser's choice stands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub principal: Principal,
    pub language: Option<Language>,
}

/// The signed-in person a session secret stands for, or `None` if it is unknown or has ended.
pub fn session(conn: &mut Conn<'_>, secret: &str, now: NaiveDateTime) -> Result<Option<SignedIn>> {
    if !plausible_secret(secret) {
        return Ok(None);
    }
    let Some(row) = db::sessions::find_session(conn, &digest(secret))? else {
        return Ok(None);
    };
    let over = row.ended_at.is_some() || row.token_revoked || now >= row.expires_at || now - row.last_seen_at >= IDLE;
    let Some(scope) = scope_of(&row.grant).filter(|_| !over) else {
        return Ok(None);
    };
    if now - row.last_seen_at >= TOUCH_EVERY {
        db::sessions::touch_session(conn, row.id, now)?;
    }
    let credential = Credential::Session { id: row.id, token: row.token_id };
    let language = row.city_language.as_deref().and_then(|l| Language::parse(l).ok());
    Ok(Some(SignedIn { principal: Principal { credential, name: row.grant.name, scope }, language }))
}

/// Ends the caller's session.
pub fn sign_out(conn: &mut Conn<'_>, actor: &Actor, caller: &Principal, now: NaiveDateTime) -> Result<()> {
    let Credential::Session { id, .. } = caller.credential else {
        return Ok(());
    };
    conn.transaction(|conn| {
        if db::sessions::end_session(conn, id, now)? {
            audit(conn, actor, now, "session.sign_out", ("session", &id.to_string()), json!({}))?;
        }
        Ok(())
    })
}

/// Ends every session of the person with this address (the Secretariat only; `caller` is
/// `None` at the command line); how many.
pub fn end_sessions_of(
    conn: &mut Conn<'_>,
    actor: &Actor,
    caller: Option<&Principal>,
    address: &str,
    now: NaiveDateTime,
) -> Result<usize> {
    if let Some(caller) = caller {
        authorize(Some(caller), Action::Administer)?;
    }
    let email = Email::parse(address)?;
    conn.transaction(|conn| end_all(conn, actor, &digest(email.as_str()), now))
}

/// Ends every session of the person at `address` inside the caller's transaction: a city's
/// contact removed, or moved to another address, signs in no more as that city; how many.
pub(crate) fn end_sessions_at(conn: &mut Conn<'_>, actor: &Actor, address: &str, now: NaiveDateTime) -> Result<usize> {
    end_all(conn, actor, &digest(&address.to_lowercase()), now)
}

fn end_all(conn: &mut Conn<'_>, actor: &Actor, person: &str, now: NaiveDateTime) -> Result<usize> {
    let ended = db::sessions::end_sessions_of(conn, person, now)?;
    if ended > 0 {
        audit(conn, actor, now, "session.end_all", ("person", &person[..12]), json!({ "sessions": ended }))?;
    }
    Ok(ended)
}

/// The Secretariat's staff addresses (`caller` is `None` at the command line).
pub fn staff(conn: &mut Conn<'_>, caller: Option<&Principal>) -> Result<Vec<StaffRow>> {
    if let Some(caller) = caller {
        authorize(Some(caller), Action::Administer)?;
    }
    Ok(db::sessions::staff(conn)?)
}

/// Adds a staff address: whoever receives a link at it signs in as the Secretariat. `caller` is
/// `None` at the command line (the operator).
pub fn add_staff(
    conn: &mut Conn<'_>,
    actor: &Actor,
    caller: Option<&Principal>,
    address: &str,
    name: &str,
    now: NaiveDateTime,
) -> Result<bool> {
    if let Some(caller) = caller {
        authorize(Some(caller), Action::Administer)?;
    }
    let email = Email::parse(address)?;
    let name = clean_text("name", name, 200)?;
    conn.transaction(|conn| {
        let added = db::sessions::add_staff(conn, email.as_str(), &name, now)?;
        if added {
            let person = digest(email.as_str());
            audit(conn, actor, now, "staff.add", ("person", &person[..12]), json!({ "name": name }))?;
        }
        Ok(added)
    })
}

/// Removes a staff address and ends that person's sessions.
pub fn remove_staff(
    conn: &mut Conn<'_>,
    actor: &Actor,
    caller: Option<&Principal>,
    address: &str,
    now: NaiveDateTime,
) -> Result<()> {
    if let Some(caller) = caller {
        authorize(Some(caller), Action::Administer)?;
    }
    let email = Email::parse(address)?;
    conn.transaction(|conn| {
        if !db::sessions::remove_staff(conn, email.as_str())? {
            return Err(Error::not_found("staff address", email.as_str()));
        }
        let person = digest(email.as_str());
        audit(conn, actor, now, "staff.remove", ("person", &person[..12]), json!({}))?;
        end_all(conn, actor, &person, now)?;
        Ok(())
    })
}

/// Forgets links that can no longer be used (expired a day ago or more).
pub fn purge(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<usize> {
    Ok(db::sessions::purge_links(conn, now - TimeDelta::days(1))?)
}

/// Requests for links per client address: at most `limit` per `window`, kept in memory (bounded:
/// at [`ClientThrottle::MAX_CLIENTS`] the oldest windows are forgotten).
#[derive(Debug)]
pub struct ClientThrottle {
    limit: u32,
    window: TimeDelta,
    seen: Mutex<HashMap<Option<IpAddr>, (NaiveDateTime, u32)>>,
}

impl Default for ClientThrottle {
    fn default() -> Self {
        Self::new(20, TimeDelta::minutes(15))
    }
}

impl ClientThrottle {
    pub const MAX_CLIENTS: usize = 50_000;

    pub fn new(limit: u32, window: TimeDelta) -> Self {
        Self { limit, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts a request from `client`; `false` if it is over the limit.
    pub fn allow(&self, client: Option<IpAddr>, now: NaiveDateTime) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= Self::MAX_CLIENTS && !seen.contains_key(&client) {
            let window = self.window;
            seen.retain(|_, (start, _)| now - *start < window);
            if seen.len() >= Self::MAX_CLIENTS {
                seen.clear();
            }
        }
        let entry = seen.entry(client).or_insert((now, 0));
        if now - entry.0 >= self.window || now < entry.0 {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_the_site() {
        assert!(is_local_path("/portal"));
        assert!(is_local_path("/desk/cities/lyon?tab=contacts"));
        for bad in ["//evil.example/", "https://evil.example/", "portal", "/\\evil.example", "/a\nb", ""] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn throttle_counts_per_client_and_window() {
        let t = ClientThrottle::new(2, TimeDelta::minutes(15));
        let now = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let a = Some("192.0.2.1".parse().unwrap());
        let b = Some("192.0.2.2".parse().unwrap());
        assert!(t.allow(a, now) && t.allow(a, now));
        assert!(!t.allow(a, now));
        assert!(t.allow(b, now));
        assert!(t.allow(a, now + TimeDelta::minutes(15)));
    }

    #[test]
    fn secrets_are_long_and_hashed() {
        let s = new_secret();
        assert!(plausible_secret(&s));
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(!plausible_secret("mmr_abc"));
    }
}
