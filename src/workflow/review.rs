//! The review of submitted versions: reading them, commenting (optionally anchored to a section
//! heading), the Secretariat's decision, and a section-by-section diff between versions.
//!
//! A version is decided once, and only the latest version of a cycle can be decided. Accepting
//! records the exact bundle digest accepted; the archive entry is made right after by
//! [`super::archive`], outside the decision's transaction, so a crash between the two leaves an
//! acceptance that [`super::archive::resume`] completes.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::json;
use similar::{ChangeTag, TextDiff};

use super::cycles::CycleOverview;
use super::render::{Rendering, Reporting};
use super::{Actor, Postman, audit};
use crate::db::archive::ArchivedDocument;
/// The stored versions, comments and decisions, as `workflow` hands them to the entry points.
pub use crate::db::submissions::{Comment, DecisionRow, StoredAttachment, Submission};
use crate::db::submissions::{NewComment, Owner};
use crate::db::{self, Conn, Db};
use crate::domain::Invalid;
use crate::domain::auth::{Action, Principal, Role, authorize};
use crate::domain::cycles::CycleRules;
use crate::domain::submissions::{DecisionInput, markdown_text, section_anchor};
use crate::error::{Error, Result};
use crate::mail::{self, OutgoingMessage};
use crate::render;
use crate::storage::BlobStore;

/// A version with what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub submission: Submission,
    pub decision: Option<DecisionRow>,
    pub archive: Option<ArchivedDocument>,
    /// Listed without their bytes.
    pub attachments: Vec<StoredAttachment>,
    pub comments: usize,
}

/// A version and its cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInCycle {
    pub version: Version,
    pub cycle: CycleOverview,
}

fn version(conn: &mut Conn<'_>, submission: Submission) -> Result<Version> {
    let decision = db::submissions::decisions(conn, &[submission.id])?.pop();
    let archive = db::archive::by_submission(conn, submission.id)?;
    let attachments = db::submissions::attachments(conn, Owner::Submission(submission.id), false)?;
    let comments = db::submissions::comments(conn, submission.id)?.len();
    Ok(Version { submission, decision, archive, attachments, comments })
}

/// A cycle's versions, oldest first.
pub fn versions(conn: &mut Conn<'_>, cycle_id: i64) -> Result<Vec<Version>> {
    db::submissions::versions(conn, cycle_id)?.into_iter().map(|s| version(conn, s)).collect()
}

/// One version with its cycle (for the permission check, which depends on the cycle's city).
/// Version `submission_id`, once `caller` is found allowed to read its city's work.
pub fn readable(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    caller: &Principal,
    submission_id: i64,
    now: NaiveDateTime,
) -> Result<VersionInCycle> {
    let found = get(conn, rules, now, submission_id)?;
    super::cycles::may_read(Some(caller), &found.cycle)?;
    Ok(found)
}

pub fn get(conn: &mut Conn<'_>, rules: &CycleRules, now: NaiveDateTime, submission_id: i64) -> Result<VersionInCycle> {
    let submission = db::submissions::submission(conn, submission_id)?
        .ok_or_else(|| Error::not_found("submission", submission_id.to_string()))?;
    let cycle = super::cycles::get(conn, rules, now.and_utc(), submission.cycle_id)?;
    Ok(VersionInCycle { version: version(conn, submission)?, cycle })
}

/// One attachment of a version, with its bytes.
pub fn attachment(conn: &mut Conn<'_>, submission_id: i64, name: &str) -> Result<StoredAttachment> {
    db::submissions::attachment(conn, Owner::Submission(submission_id), name)?
        .ok_or_else(|| Error::not_found("attachment", name.to_owned()))
}

/// Adds a comment to version `submission_id` for `caller`, who must be allowed to comment on the
/// city's work: the field's coordinator and the Secretariat; the city only in reply.
#[allow(clippy::too_many_arguments)] // the caller and the actor are both needed: rights and audit trail
pub fn comment_as(
    conn: &mut Conn<'_>,
    actor: &Actor,
    rules: &CycleRules,
    kit: &Reporting,
    caller: &Principal,
    submission_id: i64,
    input: &NewCommentInput,
    now: NaiveDateTime,
) -> Result<Comment> {
    let found = readable(conn, rules, caller, submission_id, now)?;
    authorize(Some(caller), Action::Comment { city: found.cycle.city(), is_reply: input.parent_id.is_some() })?;
    comment(conn, actor, caller.scope.role(), kit, &found.version.submission, input, now)
}

/// The Secretariat's decision on version `submission_id`, for a `caller` who may decide.
pub fn decide_as(
    conn: &mut Conn<'_>,
    actor: &Actor,
    rules: &CycleRules,
    caller: &Principal,
    submission_id: i64,
    decision: &DecisionInput,
    now: NaiveDateTime,
) -> Result<DecisionRow> {
    authorize(Some(caller), Action::Decide)?;
    decide(conn, actor, rules, submission_id, decision, now)
}

/// What the review page shows of a version: the version and its cycle, its comments, its
/// sections (the anchors comments may name), what changed since the previous version, and the
/// plan the previous cycle accepted.
#[derive(Debug, Clone)]
pub struct ReviewView {
    pub found: VersionInCycle,
    pub comments: Vec<Comment>,
    pub report_sections: Vec<String>,
    pub plan_sections: Vec<String>,
    pub diff: Option<VersionDiff>,
    pub previous_plan: Option<super::continuity::PreviousPlan>,
}

/// Version `submission_id` as its review page shows it, for a `caller` who may read the city's work.
pub fn review_view(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    kit: &Reporting,
    caller: &Principal,
    submission_id: i64,
    now: NaiveDateTime,
) -> Result<ReviewView> {
    let found = readable(conn, rules, caller, submission_id, now)?;
    let submission = &found.version.submission;
    let headings = |markdown: &str| -> Vec<String> {
        render::sections(markdown, &kit.template).into_iter().filter_map(|s| s.heading).collect()
    };
    let diff = match diff_with_previous(conn, kit, submission) {
        Ok(diff) => Some(diff),
        Err(Error::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    Ok(ReviewView {
        comments: comments(conn, submission_id)?,
        report_sections: headings(&submission.report_markdown),
        plan_sections: headings(&submission.action_plan_markdown),
        diff,
        previous_plan: super::continuity::previous_plan(conn, &found.cycle.record)?,
        found,
    })
}

/// The comments on a version, oldest first.
pub fn comments(conn: &mut Conn<'_>, submission_id: i64) -> Result<Vec<Comment>> {
    Ok(db::submissions::comments(conn, submission_id)?)
}

/// A comment to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCommentInput {
    pub body_markdown: String,
    pub section: Option<String>,
    pub parent_id: Option<i64>,
}

/// Adds a comment to a version. A reply must answer a comment on the same version; an anchor
/// must name a section heading of the version.
pub fn comment(
    conn: &mut Conn<'_>,
    actor: &Actor,
    role: Role,
    kit: &Reporting,
    submission: &Submission,
    input: &NewCommentInput,
    now: NaiveDateTime,
) -> Result<Comment> {
    let body = markdown_text("body_markdown", &input.body_markdown)?;
    let section = input.section.as_deref().map(section_anchor).transpose()?;
    if let Some(anchor) = &section {
        // A template section matches however its heading is typed (language, numbering, accents,
        // quotes); any other heading matches by its text, ignoring case.
        let anchor_key = render::sections(&format!("# {anchor}\n"), &kit.template).pop().and_then(|s| s.key);
        let found = [&submission.report_markdown, &submission.action_plan_markdown]
            .into_iter()
            .flat_map(|text| render::sections(text, &kit.template))
            .any(|s| {
                (anchor_key.is_some() && s.key == anchor_key)
                    || s.heading.is_some_and(|h| h.trim().to_lowercase() == anchor.to_lowercase())
            });
        if !found {
            return Err(Invalid::new(
                "section",
                format!("`{anchor}` is not a section heading of version {}", submission.version),
            )
            .into());
        }
    }
    conn.transaction(|conn| {
        if let Some(parent) = input.parent_id {
            match db::submissions::comment(conn, parent)? {
                Some(p) if p.submission_id == submission.id => {}
                _ => {
                    return Err(Invalid::new(
                        "parent_id",
                        format!("comment {parent} is not a comment on version {}", submission.version),
                    )
                    .into());
                }
            }
        }
        let id = db::submissions::insert_comment(
            conn,
            &NewComment {
                submission_id: submission.id,
                parent_id: input.parent_id,
                author: &actor.name,
                author_role: role.as_str(),
                section: section.as_deref(),
                body_markdown: &body,
                created_at: now,
            },
        )?;
        let details = json!({ "submission": submission.id, "parent": input.parent_id, "section": section });
        audit(conn, actor, now, "comment.create", ("comment", &id.to_string()), details)?;
        db::submissions::comment(conn, id)?.ok_or_else(|| db::DbError::NotFound.into())
    })
}

/// What a recorded decision sets going, outside its transaction (blocking): the city is told by
/// mail, when the server sends mail, in its language, to each of its contacts with the field's
/// coordinator in copy, and with links to the review page and the drafting page; then an
/// acceptance is archived ([`super::archive::archive_accepted`]). Returns the archive entry an
/// acceptance made. An archiving error leaves the acceptance standing: archiving is completed at
/// the next start or fixity run ([`super::archive::resume`]).
#[allow(clippy::too_many_arguments, reason = "the stores and settings a decision's sequel uses, each once")]
pub fn follow_up(
    db: &Db,
    store: &dyn BlobStore,
    kit: &Reporting,
    rules: &CycleRules,
    actor: &Actor,
    postman: Option<&Arc<Postman>>,
    decided: &DecisionRow,
    now: NaiveDateTime,
) -> Result<Option<i64>> {
    if let Some(postman) = postman {
        match db.run_blocking(|conn| decision_message(conn, rules, postman, decided, now)) {
            Ok(Some(message)) => postman.post(message),
            Ok(None) => {
                tracing::info!(submission.id = decided.submission_id, "the city has no contact to tell of the decision")
            }
            Err(e) => {
                tracing::error!(submission.id = decided.submission_id, error = %e, "the decision could not be told to the city")
            }
        }
    }
    if decided.decision != "accept" {
        return Ok(None);
    }
    super::archive::archive_accepted(db, store, kit, rules, actor, decided.submission_id, now).map(|doc| Some(doc.id))
}

/// The message that tells the city's contacts of a decision; `None` when the city has none (or
/// the message cannot be composed, which is logged).
fn decision_message(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    postman: &Postman,
    decided: &DecisionRow,
    now: NaiveDateTime,
) -> Result<Option<OutgoingMessage>> {
    let found = get(conn, rules, now, decided.submission_id)?;
    let city = &found.cycle.record.city;
    let to: Vec<String> = db::contacts::list(conn, city.id)?.into_iter().map(|c| c.email).collect();
    if to.is_empty() {
        return Ok(None);
    }
    let cc =
        db::cities::coordinator_emails(conn)?.into_iter().filter(|(f, _)| *f == city.field).map(|(_, e)| e).collect();
    let outcome = match (&decided.comments, decided.revision_due) {
        (Some(comments), Some(due)) if decided.decision != "accept" => {
            mail::DecisionOutcome::Revision { comments: comments.clone(), due }
        }
        _ => mail::DecisionOutcome::Accepted,
    };
    let record = &found.cycle.record;
    let notice = mail::DecisionNotice {
        city_name: city.name.clone(),
        period: format!("{}–{}", record.period_start_year, record.period_end_year),
        version: found.version.submission.version,
        outcome,
        review_url: postman.link(&format!("/submissions/{}", decided.submission_id)),
        draft_url: postman.link(&format!("/cycles/{}/draft", record.id)),
    };
    let envelope = mail::Envelope {
        from: postman.from.clone(),
        to,
        cc,
        message_id: mail::message_id_on(&format!("decision-{}", decided.submission_id), &postman.public_url),
    };
    let composed = mail::compose_decision(&envelope, city.language.into(), &notice);
    // A message that cannot be composed is a mail setting's fault (MMR_MAIL_FROM), not the decision's.
    Ok(composed.inspect_err(|e| tracing::error!(error = %e, "a decision message could not be composed")).ok())
}

/// Records the Secretariat's decision on a version: the latest one of its cycle, decided once.
/// A revision request reopens the cycle against the revision deadline (its reminder stages apply
/// from the next sweep); an acceptance records the version's bundle digest and closes the cycle.
pub fn decide(
    conn: &mut Conn<'_>,
    actor: &Actor,
    rules: &CycleRules,
    submission_id: i64,
    decision: &DecisionInput,
    now: NaiveDateTime,
) -> Result<DecisionRow> {
    conn.transaction(|conn| {
        let found = get(conn, rules, now, submission_id)?;
        let submission = &found.version.submission;
        if let Some(existing) = &found.version.decision {
            return Err(Error::Conflict(format!(
                "version {} was already decided ({}) on {}",
                submission.version, existing.decision, existing.decided_at
            )));
        }
        if found.cycle.record.submissions.last().is_some_and(|latest| latest.id != submission.id) {
            return Err(Error::Conflict(format!(
                "version {} is not the latest version of its cycle; decide on the latest",
                submission.version
            )));
        }
        let (comments, revision_due, accepted_sha256) = match decision {
            DecisionInput::Accept => (None, None, Some(submission.bundle_sha256.clone())),
            DecisionInput::RequestRevision { comments, revision_due } => {
                (Some(comments.clone()), Some(*revision_due), None)
            }
        };
        let row = DecisionRow {
            submission_id,
            decision: decision.as_str().to_owned(),
            comments,
            revision_due,
            accepted_sha256,
            decided_by: actor.name.clone(),
            decided_at: now,
        };
        db::submissions::insert_decision(conn, &row).map_err(|e| match e {
            db::DbError::Conflict(_) => Error::Conflict(format!(
                "version {} was decided by someone else at the same moment",
                submission.version
            )),
            other => other.into(),
        })?;
        let cycle_id = submission.cycle_id;
        db::cycles::refresh_progress(conn, cycle_id)?;
        let cancelled = db::reminders::cancel_pending(conn, cycle_id, "revision", now)?;
        let details = json!({
            "cycle": cycle_id,
            "version": submission.version,
            "decision": row.decision,
            "revision_due": row.revision_due.map(|d| d.to_string()),
            "accepted_sha256": row.accepted_sha256,
            "reminders_cancelled": cancelled,
        });
        audit(conn, actor, now, "submission.decide", ("submission", &submission_id.to_string()), details)?;
        Ok(row)
    })
}

/// How one section changed between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionDiff {
    /// The section's heading (None for text before the first heading).
    pub heading: Option<String>,
    /// The template's key for it, when it is a template section.
    pub key: Option<String>,
    pub change: SectionChange,
    /// Changed lines with context, in unified-diff form (`+`, `-`, ` ` prefixes), grouped in hunks.
    pub hunks: Vec<String>,
}

/// What happened to a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionChange {
    Added,
    Removed,
    Changed,
    Unchanged,
}

impl SectionChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
            Self::Unchanged => "unchanged",
        }
    }
}

/// The differences between a version and the one before it, per part and section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionDiff {
    pub from_version: i32,
    pub to_version: i32,
    pub report: Vec<SectionDiff>,
    pub action_plan: Vec<SectionDiff>,
}

/// Diffs `submission` against the previous version of its cycle; 404 for a first version.
pub fn diff_with_previous(conn: &mut Conn<'_>, kit: &Reporting, submission: &Submission) -> Result<VersionDiff> {
    let previous = db::submissions::versions(conn, submission.cycle_id)?
        .into_iter()
        .rfind(|v| v.version < submission.version)
        .ok_or_else(|| Error::not_found("previous version of submission", submission.id.to_string()))?;
    Ok(VersionDiff {
        from_version: previous.version,
        to_version: submission.version,
        report: diff_sections(&previous.report_markdown, &submission.report_markdown, kit),
        action_plan: diff_sections(&previous.action_plan_markdown, &submission.action_plan_markdown, kit),
    })
}

/// Pairs sections by template key, else by heading text, else by position among the unmatched,
/// and diffs each pair line by line.
fn diff_sections(old: &str, new: &str, kit: &Reporting) -> Vec<SectionDiff> {
    let old_sections = render::sections(old, &kit.template);
    let new_sections = render::sections(new, &kit.template);
    let identity = |s: &render::SectionText| s.key.clone().or_else(|| s.heading.as_ref().map(|h| h.to_lowercase()));
    let mut used = vec![false; old_sections.len()];
    let mut out = Vec::new();
    for section in &new_sections {
        let id = identity(section);
        let matched = old_sections.iter().enumerate().position(|(i, o)| !used[i] && identity(o) == id);
        match matched {
            Some(i) => {
                used[i] = true;
                let hunks = hunks(&old_sections[i].text, &section.text);
                let change = if hunks.is_empty() { SectionChange::Unchanged } else { SectionChange::Changed };
                out.push(SectionDiff { heading: section.heading.clone(), key: section.key.clone(), change, hunks });
            }
            None => out.push(SectionDiff {
                heading: section.heading.clone(),
                key: section.key.clone(),
                change: SectionChange::Added,
                hunks: hunks("", &section.text),
            }),
        }
    }
    for (section, _) in old_sections.iter().zip(&used).filter(|(_, used)| !**used) {
        out.push(SectionDiff {
            heading: section.heading.clone(),
            key: section.key.clone(),
            change: SectionChange::Removed,
            hunks: hunks(&section.text, ""),
        });
    }
    out
}

fn hunks(old: &str, new: &str) -> Vec<String> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(2)
        .iter()
        .map(|group| {
            let mut hunk = String::new();
            for op in group {
                for change in diff.iter_changes(op) {
                    let sign = match change.tag() {
                        ChangeTag::Delete => '-',
                        ChangeTag::Insert => '+',
                        ChangeTag::Equal => ' ',
                    };
                    hunk.push(sign);
                    hunk.push_str(change.value().trim_end_matches(['\n', '\r']));
                    hunk.push('\n');
                }
            }
            hunk
        })
        .collect()
}

/// Where a version's PDF comes from.
#[derive(Debug, Clone)]
pub enum VersionPdf {
    /// The archived file, by its SHA-256, once the version is accepted and archived.
    Archived { sha256: String },
    /// Otherwise a rendering marked submitted (nothing is stored).
    Render(Box<Rendering>),
}

/// Where a version's PDF comes from: the archive, or a rendering loaded here.
pub fn pdf(conn: &mut Conn<'_>, found: &VersionInCycle) -> Result<VersionPdf> {
    if let Some(archived) = &found.version.archive {
        return Ok(VersionPdf::Archived { sha256: archived.pdf_sha256.clone() });
    }
    let submission = &found.version.submission;
    let cover = super::render::city_cover(conn, &found.cycle.record.city.slug)?;
    let submitted_on = submission.submitted_at.date();
    let meta = super::render::cycle_meta(
        &found.cycle.record,
        &cover,
        Some((submission.version, submitted_on)),
        render::Status::Submitted,
        submitted_on,
    );
    let sources = super::submissions::version_sources(conn, submission)?;
    Ok(VersionPdf::Render(Box::new(Rendering { sources, meta })))
}
