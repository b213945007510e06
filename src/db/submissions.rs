//! Drafts, submitted versions and their attachments, review comments and decisions.
//!
//! A cycle has at most one draft, overwritten at will; a submitted version is inserted once and
//! never updated. A version is decided once: the UNIQUE on `review_decisions.submission_id` makes
//! concurrent decisions race to exactly one winner, the loser getting [`DbError::Conflict`].

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{attachments, drafts, review_comments, review_decisions, submissions};
use super::{Conn, DbError, with_conn};

/// A file to store with a draft or a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub name: String,
    pub content_type: &'static str,
    pub sha256: String,
    pub data: Vec<u8>,
}

/// A stored attachment; `data` is empty when only the listing was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct StoredAttachment {
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub data: Vec<u8>,
}

/// A cycle's working draft.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Draft {
    pub report_markdown: String,
    pub action_plan_markdown: String,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

/// A version to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubmission<'a> {
    pub cycle_id: i64,
    pub version: i32,
    pub report_markdown: &'a str,
    pub action_plan_markdown: &'a str,
    pub bundle_sha256: &'a str,
    pub submitted_by: &'a str,
    pub submitted_at: NaiveDateTime,
    pub late: bool,
}

/// A submitted version.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = submissions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Submission {
    pub id: i64,
    pub cycle_id: i64,
    pub version: i32,
    pub report_markdown: String,
    pub action_plan_markdown: String,
    pub bundle_sha256: String,
    pub submitted_by: String,
    pub submitted_at: NaiveDateTime,
    pub late: bool,
}

/// The decision on a version.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = review_decisions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct DecisionRow {
    pub submission_id: i64,
    pub decision: String,
    pub comments: Option<String>,
    pub revision_due: Option<NaiveDate>,
    pub accepted_sha256: Option<String>,
    pub decided_by: String,
    pub decided_at: NaiveDateTime,
}

/// A review comment.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = review_comments, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Comment {
    pub id: i64,
    pub submission_id: i64,
    pub parent_id: Option<i64>,
    pub author: String,
    pub author_role: String,
    pub section: Option<String>,
    pub body_markdown: String,
    pub created_at: NaiveDateTime,
}

/// A comment to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment<'a> {
    pub submission_id: i64,
    pub parent_id: Option<i64>,
    pub author: &'a str,
    pub author_role: &'a str,
    pub section: Option<&'a str>,
    pub body_markdown: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn draft(conn: &mut Conn<'_>, cycle_id: i64) -> Result<Option<Draft>, DbError> {
    with_conn!(conn, |c| {
        Ok(drafts::table
            .find(cycle_id)
            .select((drafts::report_markdown, drafts::action_plan_markdown, drafts::updated_by, drafts::updated_at))
            .first(c)
            .optional()?)
    })
}

/// Creates or overwrites a cycle's draft; with `attachments`, its attachments are replaced too.
pub fn save_draft(
    conn: &mut Conn<'_>,
    cycle_id: i64,
    draft: &Draft,
    attachments: Option<&[NewAttachment]>,
) -> Result<(), DbError> {
    let values = (
        drafts::cycle_id.eq(cycle_id),
        drafts::report_markdown.eq(&draft.report_markdown),
        drafts::action_plan_markdown.eq(&draft.action_plan_markdown),
        drafts::updated_by.eq(&draft.updated_by),
        drafts::updated_at.eq(draft.updated_at),
    );
    let changes = (
        drafts::report_markdown.eq(&draft.report_markdown),
        drafts::action_plan_markdown.eq(&draft.action_plan_markdown),
        drafts::updated_by.eq(&draft.updated_by),
        drafts::updated_at.eq(draft.updated_at),
    );
    with_conn!(conn, |c| {
        diesel::insert_into(drafts::table)
            .values(values)
            .on_conflict(drafts::cycle_id)
            .do_update()
            .set(changes)
            .execute(c)
    })?;
    if let Some(files) = attachments {
        with_conn!(conn, |c| {
            diesel::delete(attachments::table.filter(attachments::draft_cycle_id.eq(cycle_id))).execute(c)
        })?;
        insert_attachments(conn, Some(cycle_id), None, files)?;
    }
    Ok(())
}

fn insert_attachments(
    conn: &mut Conn<'_>,
    draft_cycle_id: Option<i64>,
    submission_id: Option<i64>,
    files: &[NewAttachment],
) -> Result<(), DbError> {
    // One row per statement: attachments can be megabytes each, and a multi-row insert would hold
    // them all in one statement.
    for f in files {
        with_conn!(conn, |c| {
            diesel::insert_into(attachments::table)
                .values((
                    attachments::draft_cycle_id.eq(draft_cycle_id),
                    attachments::submission_id.eq(submission_id),
                    attachments::name.eq(&f.name),
                    attachments::content_type.eq(f.content_type),
                    attachments::size_bytes.eq(f.data.len() as i64),
                    attachments::sha256.eq(&f.sha256),
                    attachments::data.eq(&f.data),
                ))
                .execute(c)
        })?;
    }
    Ok(())
}

/// Which attachments to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Draft(i64),
    Submission(i64),
}

/// The attachments of a draft or a version, by name; with `with_data` false, `data` stays empty.
pub fn attachments(conn: &mut Conn<'_>, owner: Owner, with_data: bool) -> Result<Vec<StoredAttachment>, DbError> {
    with_conn!(conn, |c| {
        let mut q = attachments::table.into_boxed();
        q = match owner {
            Owner::Draft(cycle) => q.filter(attachments::draft_cycle_id.eq(cycle)),
            Owner::Submission(id) => q.filter(attachments::submission_id.eq(id)),
        };
        let q = q.order(attachments::name);
        if with_data {
            Ok(q.select((
                attachments::name,
                attachments::content_type,
                attachments::size_bytes,
                attachments::sha256,
                attachments::data,
            ))
            .load(c)?)
        } else {
            let rows: Vec<(String, String, i64, String)> = q
                .select((attachments::name, attachments::content_type, attachments::size_bytes, attachments::sha256))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(name, content_type, size_bytes, sha256)| StoredAttachment {
                    name,
                    content_type,
                    size_bytes,
                    sha256,
                    data: Vec::new(),
                })
                .collect())
        }
    })
}

/// One attachment of a version, with its bytes.
pub fn attachment(conn: &mut Conn<'_>, owner: Owner, name: &str) -> Result<Option<StoredAttachment>, DbError> {
    Ok(attachments(conn, owner, true)?.into_iter().find(|a| a.name == name))
}

/// Inserts a version with its attachments; returns its id. A version number taken already
/// (a concurrent submit) is a [`DbError::Conflict`].
pub fn insert_submission(
    conn: &mut Conn<'_>,
    new: &NewSubmission<'_>,
    files: &[NewAttachment],
) -> Result<i64, DbError> {
    let id: i64 = with_conn!(conn, |c| {
        diesel::insert_into(submissions::table)
            .values((
                submissions::cycle_id.eq(new.cycle_id),
                submissions::version.eq(new.version),
                submissions::report_markdown.eq(new.report_markdown),
                submissions::action_plan_markdown.eq(new.action_plan_markdown),
                submissions::bundle_sha256.eq(new.bundle_sha256),
                submissions::submitted_by.eq(new.submitted_by),
                submissions::submitted_at.eq(new.submitted_at),
                submissions::late.eq(new.late),
            ))
            .returning(submissions::id)
            .get_result(c)
    })?;
    insert_attachments(conn, None, Some(id), files)?;
    Ok(id)
}

pub fn submission(conn: &mut Conn<'_>, id: i64) -> Result<Option<Submission>, DbError> {
    with_conn!(conn, |c| Ok(submissions::table.find(id).select(Submission::as_select()).first(c).optional()?))
}

/// A cycle's versions, oldest first.
pub fn versions(conn: &mut Conn<'_>, cycle_id: i64) -> Result<Vec<Submission>, DbError> {
    with_conn!(conn, |c| {
        Ok(submissions::table
            .filter(submissions::cycle_id.eq(cycle_id))
            .order(submissions::version)
            .select(Submission::as_select())
            .load(c)?)
    })
}

/// The decisions on the given versions.
pub fn decisions(conn: &mut Conn<'_>, submission_ids: &[i64]) -> Result<Vec<DecisionRow>, DbError> {
    with_conn!(conn, |c| {
        Ok(review_decisions::table
            .filter(review_decisions::submission_id.eq_any(submission_ids))
            .select(DecisionRow::as_select())
            .load(c)?)
    })
}

/// Records the decision on a version; a version decided already is a [`DbError::Conflict`].
pub fn insert_decision(conn: &mut Conn<'_>, d: &DecisionRow) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::insert_into(review_decisions::table)
            .values((
                review_decisions::submission_id.eq(d.submission_id),
                review_decisions::decision.eq(&d.decision),
                review_decisions::comments.eq(&d.comments),
                review_decisions::revision_due.eq(d.revision_due),
                review_decisions::accepted_sha256.eq(&d.accepted_sha256),
                review_decisions::decided_by.eq(&d.decided_by),
                review_decisions::decided_at.eq(d.decided_at),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// Accepted versions whose archive entry is missing: acceptances whose archiving was interrupted.
/// The acceptances of past rounds imported by `mmr history import` are not among them: they
/// have no sources to render, and the import archived their PDF when there was one.
pub fn accepted_without_archive(conn: &mut Conn<'_>) -> Result<Vec<i64>, DbError> {
    use super::schema::{archived_documents, reporting_cycles};
    let (accepted, archived, imported): (Vec<i64>, Vec<i64>, Vec<i64>) = with_conn!(conn, |c| {
        let accepted = review_decisions::table
            .filter(review_decisions::decision.eq("accept"))
            .order(review_decisions::submission_id)
            .select(review_decisions::submission_id)
            .load(c)?;
        let closed: Vec<i64> = reporting_cycles::table
            .filter(reporting_cycles::closed_by_history.eq(true))
            .select(reporting_cycles::id)
            .load(c)?;
        let imported =
            submissions::table.filter(submissions::cycle_id.eq_any(&closed)).select(submissions::id).load(c)?;
        (accepted, archived_documents::table.select(archived_documents::submission_id).load(c)?, imported)
    });
    let archived: std::collections::HashSet<i64> = archived.into_iter().chain(imported).collect();
    Ok(accepted.into_iter().filter(|id| !archived.contains(id)).collect())
}

pub fn insert_comment(conn: &mut Conn<'_>, new: &NewComment<'_>) -> Result<i64, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::insert_into(review_comments::table)
            .values((
                review_comments::submission_id.eq(new.submission_id),
                review_comments::parent_id.eq(new.parent_id),
                review_comments::author.eq(new.author),
                review_comments::author_role.eq(new.author_role),
                review_comments::section.eq(new.section),
                review_comments::body_markdown.eq(new.body_markdown),
                review_comments::created_at.eq(new.created_at),
            ))
            .returning(review_comments::id)
            .get_result(c)?)
    })
}

/// The comments on a version, oldest first.
pub fn comments(conn: &mut Conn<'_>, submission_id: i64) -> Result<Vec<Comment>, DbError> {
    with_conn!(conn, |c| {
        Ok(review_comments::table
            .filter(review_comments::submission_id.eq(submission_id))
            .order(review_comments::id)
            .select(Comment::as_select())
            .load(c)?)
    })
}

pub fn comment(conn: &mut Conn<'_>, id: i64) -> Result<Option<Comment>, DbError> {
    with_conn!(conn, |c| Ok(review_comments::table.find(id).select(Comment::as_select()).first(c).optional()?))
}
