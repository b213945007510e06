//! Use cases shared by the HTTP API, the CLI and the scheduler. Each is a plain function over a
//! database connection and the current time (never the clock), opens its own transaction, checks
//! what the database cannot, and records an audit event with the change it makes.

pub mod admission;
pub mod archive;
pub mod backup;
pub mod catalog;
pub mod catalog_index;
pub mod cities;
pub mod contacts;
pub mod continuity;
pub mod cycles;
pub mod demo;
pub mod desk;
pub mod excerpts;
pub mod harvest;
pub mod history;
pub mod import;
pub mod operations;
pub mod portal;
mod postman;
pub mod progress;
pub mod public;
pub mod reading;
pub mod reminders;
pub mod render;
pub mod review;
pub mod sign_in;
pub mod spreadsheet;
pub mod submissions;
pub mod tokens;

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::db;
/// The database handle and a connection, as the entry points (`http`, `web`, the CLI) pass them
/// to the use cases here without looking into them.
pub use crate::db::audit::{AuditEvent, AuditFilter};
pub use crate::db::{Conn, Db};
pub use postman::Postman;
pub use progress::{Progress, Silent};

/// The current time, as the HTTP handlers and pages see it; tests pin it.
pub type Clock = std::sync::Arc<dyn Fn() -> chrono::NaiveDateTime + Send + Sync>;
use crate::domain::auth::Principal;
use crate::error::Result;

/// The client's address as the HTTP layer found it (the TCP peer's, or the one a trusted proxy
/// forwarded), kept in each request's extensions; `None` when the request came with no peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

/// Who is making a change, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's name, or `cli:<user>` for the command line.
    pub name: String,
    pub token_id: Option<i64>,
    /// The HTTP request id, to tie the audit event to the request's logs.
    pub request_id: Option<String>,
    /// The client's address, for a change made over HTTP (see `http::client`).
    pub client_addr: Option<String>,
}

impl Actor {
    /// The operator at the command line, named after the OS user.
    pub fn cli() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Self { name: format!("cli:{user}"), token_id: None, request_id: None, client_addr: None }
    }

    /// The service acting on its own schedule, such as the reminder sweep.
    pub fn system(name: &str) -> Self {
        Self { name: name.to_owned(), token_id: None, request_id: None, client_addr: None }
    }

    /// The holder of a token, making a change in the request `request_id` from `client_addr`.
    pub fn from_principal(principal: &Principal, request_id: Option<String>, client_addr: Option<String>) -> Self {
        Self { name: principal.name.clone(), token_id: principal.token_id(), request_id, client_addr }
    }
}

/// Appends an audit event for `action` on a subject; call it inside the change's transaction.
pub(crate) fn audit(
    conn: &mut Conn<'_>,
    actor: &Actor,
    now: NaiveDateTime,
    action: &str,
    subject: (&str, &str),
    details: Value,
) -> Result<()> {
    db::audit::insert(
        conn,
        &db::audit::NewAuditEvent {
            at: now,
            actor: &actor.name,
            token_id: actor.token_id,
            action,
            subject_type: subject.0,
            subject_id: subject.1,
            details: &details.to_string(),
            request_id: actor.request_id.as_deref(),
            client_addr: actor.client_addr.as_deref(),
        },
    )?;
    Ok(())
}

/// The audit log, newest first.
pub fn audit_log(
    conn: &mut Conn<'_>,
    filter: db::audit::AuditFilter<'_>,
    page: crate::domain::PageRequest,
) -> Result<crate::domain::Page<db::audit::AuditEvent>> {
    Ok(db::audit::list(conn, filter, page)?)
}
