//! The audit log: an append-only list of every state change, written in the same transaction as
//! the change it records.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_events;
use super::{Conn, DbError, with_conn};
use crate::domain::{Page, PageRequest};

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AuditEvent {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub token_id: Option<i64>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    /// A JSON object describing the change.
    pub details: String,
    pub request_id: Option<String>,
    /// The address of the client whose request made the change (see `http::client`).
    pub client_addr: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub at: NaiveDateTime,
    pub actor: &'a str,
    pub token_id: Option<i64>,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub details: &'a str,
    pub request_id: Option<&'a str>,
    pub client_addr: Option<&'a str>,
}

pub fn insert(conn: &mut Conn<'_>, event: &NewAuditEvent<'_>) -> Result<(), DbError> {
    with_conn!(conn, |c| diesel::insert_into(audit_events::table).values(event).execute(c))?;
    Ok(())
}

/// Which audit events to list: each filter that is set must match, independently of the others.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter<'a> {
    /// Only this action, such as `city.update`.
    pub action: Option<&'a str>,
    /// Only this kind of subject, such as `city`.
    pub subject_type: Option<&'a str>,
    /// Only this subject id (of any kind, unless `subject_type` is set too).
    pub subject_id: Option<&'a str>,
    /// Only events about one city's subjects.
    pub city: Option<&'a CitySubjects>,
}

/// The subjects of one city's audit trail: the city, its contacts, and its cycles, versions
/// and archive entries by id.
#[derive(Debug, Clone, Default)]
pub struct CitySubjects {
    pub slug: String,
    pub cycles: Vec<String>,
    pub submissions: Vec<String>,
    pub archive: Vec<String>,
}

/// Newest first, narrowed by `filter`.
pub fn list(conn: &mut Conn<'_>, filter: AuditFilter<'_>, page: PageRequest) -> Result<Page<AuditEvent>, DbError> {
    let (total, items) = with_conn!(conn, |c| {
        let filtered = || {
            let mut q = audit_events::table.into_boxed();
            if let Some(action) = filter.action {
                q = q.filter(audit_events::action.eq(action));
            }
            if let Some(kind) = filter.subject_type {
                q = q.filter(audit_events::subject_type.eq(kind));
            }
            if let Some(id) = filter.subject_id {
                q = q.filter(audit_events::subject_id.eq(id));
            }
            if let Some(s) = filter.city {
                // Contacts are `slug/id`; a slug is lowercase letters, digits and hyphens, so it
                // holds no LIKE wildcard.
                q = q.filter(
                    (audit_events::subject_type.eq("city").and(audit_events::subject_id.eq(&s.slug)))
                        .or(audit_events::subject_type
                            .eq("contact")
                            .and(audit_events::subject_id.like(format!("{}/%", s.slug))))
                        .or(audit_events::subject_type.eq("cycle").and(audit_events::subject_id.eq_any(&s.cycles)))
                        .or(audit_events::subject_type
                            .eq("submission")
                            .and(audit_events::subject_id.eq_any(&s.submissions)))
                        .or(audit_events::subject_type.eq("archive").and(audit_events::subject_id.eq_any(&s.archive))),
                );
            }
            q
        };
        let total: i64 = filtered().count().get_result(c)?;
        let items: Vec<AuditEvent> = filtered()
            .order(audit_events::id.desc())
            .limit(page.per_page())
            .offset(page.offset())
            .select(AuditEvent::as_select())
            .load(c)?;
        Ok::<_, DbError>((total, items))
    })?;
    Ok(page.wrap(items, total))
}
