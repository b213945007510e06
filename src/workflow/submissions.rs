//! A city's side of a report: saving a draft (as often as it likes until the cycle is accepted),
//! checking it against the template, previewing it as the archive would render it, and submitting
//! it as an immutable version.
//!
//! Every save and submit runs the template check ([`crate::render::check`]). A save is refused
//! only for what cannot be stored (text that is not UTF-8 or over the size limit, attachments that
//! are not PNG or JPEG or have unusable names); every other finding comes back with the saved
//! draft. A submission is refused (422) while the check finds any error.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::cycles::{Access, CycleOverview};
use super::render::{CityCover, Rendering, Reporting, Sources, city_cover, cycle_meta};
use super::{Actor, audit};
use crate::db::submissions::{Draft, NewAttachment, NewSubmission, Owner, StoredAttachment, Submission};
use crate::db::{self, Conn};
use crate::domain::Invalid;
use crate::domain::auth::Principal;
use crate::domain::cycles::{CycleRules, CycleStatus, Decision};
use crate::domain::submissions::{AttachmentName, MAX_ATTACHMENTS, is_late, may_submit, sniff_image};
use crate::error::{Error, Result};
use crate::render::{Attachment, CheckRequest, Finding, PlanItem, Status, check};
use crate::storage::sha256_hex;

/// A file uploaded with a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A report as uploaded: raw bytes (the check reports text that is not UTF-8, with its line).
/// `attachments: None` keeps a draft's stored attachments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upload {
    pub report_markdown: Vec<u8>,
    pub action_plan_markdown: Option<Vec<u8>>,
    pub attachments: Option<Vec<UploadedFile>>,
}

/// A draft with its attachments (listed without their bytes) and the check's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftOverview {
    pub draft: Draft,
    pub attachments: Vec<StoredAttachment>,
    pub findings: Vec<Finding>,
}

/// The result of a submit: the version, and whether this call created it (`false` when the same
/// bundle was already the version awaiting review).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub submission: Submission,
    pub created: bool,
    pub findings: Vec<Finding>,
}

/// Runs the template check on an upload and turns it into storable sources, or says why it
/// cannot be stored at all.
/// `previous` are the items of the previous cycle's accepted action plan, which the report's
/// progress part must list ([`super::continuity`]).
fn prepare(
    kit: &Reporting,
    upload: &Upload,
    stored: Option<Vec<StoredAttachment>>,
    previous: &[PlanItem],
) -> Result<(Sources, Vec<Finding>)> {
    let files: Vec<(String, Vec<u8>)> = match (&upload.attachments, stored) {
        (Some(files), _) => files.iter().map(|f| (f.name.clone(), f.bytes.clone())).collect(),
        (None, Some(stored)) => stored.into_iter().map(|a| (a.name, a.data)).collect(),
        (None, None) => Vec::new(),
    };
    if files.len() > MAX_ATTACHMENTS {
        return Err(Error::TooLarge(format!(
            "{} attachments, above the limit of {MAX_ATTACHMENTS} per report",
            files.len()
        )));
    }
    let mut names = BTreeSet::new();
    let mut attachments = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let name = AttachmentName::parse(&name)?;
        if !names.insert(name.clone()) {
            return Err(Invalid::new("attachment", format!("`{}` is attached twice", name.as_str())).into());
        }
        if bytes.len() > kit.limits.max_image_bytes {
            return Err(Error::TooLarge(format!(
                "attachment `{}` is {} bytes, above the limit of {} bytes",
                name.as_str(),
                bytes.len(),
                kit.limits.max_image_bytes
            )));
        }
        if sniff_image(&bytes).is_none() {
            return Err(
                Invalid::new("attachment", format!("`{}` is neither a PNG nor a JPEG image", name.as_str())).into()
            );
        }
        attachments.push(Attachment { name: name.as_str().to_owned(), bytes });
    }
    attachments.sort_by(|a, b| a.name.cmp(&b.name));
    for (what, bytes) in
        [("report", Some(&upload.report_markdown)), ("action plan", upload.action_plan_markdown.as_ref())]
    {
        if let Some(bytes) = bytes
            && bytes.len() > kit.limits.max_markdown_bytes
        {
            return Err(Error::TooLarge(format!(
                "the {what} is {} bytes, above the limit of {} bytes",
                bytes.len(),
                kit.limits.max_markdown_bytes
            )));
        }
    }
    let findings = check(&CheckRequest {
        report_markdown: &upload.report_markdown,
        action_plan_markdown: upload.action_plan_markdown.as_deref(),
        attachments: &attachments,
        template: &kit.template,
        limits: &kit.limits,
        previous_items: previous,
    });
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec());
    let (Ok(report), Ok(plan)) =
        (text(&upload.report_markdown), text(upload.action_plan_markdown.as_deref().unwrap_or_default()))
    else {
        let findings = findings.into_iter().filter(Finding::is_error).collect();
        return Err(Error::CheckFailed { summary: "the text is not valid UTF-8".into(), findings });
    };
    Ok((Sources { report_markdown: report, action_plan_markdown: plan, attachments }, findings))
}

fn to_rows(attachments: &[Attachment]) -> Vec<NewAttachment> {
    attachments
        .iter()
        .map(|a| NewAttachment {
            name: a.name.clone(),
            content_type: sniff_image(&a.bytes).unwrap_or("image/png"),
            sha256: sha256_hex(&a.bytes),
            data: a.bytes.clone(),
        })
        .collect()
}

fn to_attachments(stored: Vec<StoredAttachment>) -> Vec<Attachment> {
    stored.into_iter().map(|a| Attachment { name: a.name, bytes: a.data }).collect()
}

/// The sources of a submitted version.
pub fn version_sources(conn: &mut Conn<'_>, submission: &Submission) -> Result<Sources> {
    Ok(Sources {
        report_markdown: submission.report_markdown.clone(),
        action_plan_markdown: submission.action_plan_markdown.clone(),
        attachments: to_attachments(db::submissions::attachments(conn, Owner::Submission(submission.id), true)?),
    })
}

/// A cycle's draft with the check's findings; 404 when the city has not saved one.
pub fn draft(conn: &mut Conn<'_>, kit: &Reporting, cycle_id: i64) -> Result<DraftOverview> {
    let draft = db::submissions::draft(conn, cycle_id)?
        .ok_or_else(|| Error::not_found("draft of cycle", cycle_id.to_string()))?;
    let stored = db::submissions::attachments(conn, Owner::Draft(cycle_id), true)?;
    let upload = Upload {
        report_markdown: draft.report_markdown.clone().into_bytes(),
        action_plan_markdown: Some(draft.action_plan_markdown.clone().into_bytes()),
        attachments: None,
    };
    let previous = super::continuity::previous_items(conn, kit, cycle_id)?;
    let (sources, findings) = prepare(kit, &upload, Some(stored), &previous)?;
    Ok(DraftOverview { draft, attachments: listing(&sources.attachments), findings })
}

fn listing(attachments: &[Attachment]) -> Vec<StoredAttachment> {
    attachments
        .iter()
        .map(|a| StoredAttachment {
            name: a.name.clone(),
            content_type: sniff_image(&a.bytes).unwrap_or("image/png").to_owned(),
            size_bytes: a.bytes.len() as i64,
            sha256: sha256_hex(&a.bytes),
            data: Vec::new(),
        })
        .collect()
}

/// Saves a cycle's draft (creating or overwriting it) and returns it with the check's findings.
pub fn save_draft(
    conn: &mut Conn<'_>,
    actor: &Actor,
    kit: &Reporting,
    cycle: &CycleOverview,
    upload: &Upload,
    now: NaiveDateTime,
) -> Result<DraftOverview> {
    if cycle.state.status == CycleStatus::Accepted {
        return Err(Error::Conflict("the report of this cycle is already accepted; its draft is closed".into()));
    }
    let cycle_id = cycle.record.id;
    let stored = match upload.attachments {
        Some(_) => None,
        None => Some(db::submissions::attachments(conn, Owner::Draft(cycle_id), true)?),
    };
    let previous = super::continuity::previous_items(conn, kit, cycle_id)?;
    let (sources, findings) = prepare(kit, upload, stored, &previous)?;
    let draft = Draft {
        report_markdown: sources.report_markdown.clone(),
        action_plan_markdown: sources.action_plan_markdown.clone(),
        updated_by: actor.name.clone(),
        updated_at: now,
    };
    let rows = upload.attachments.as_ref().map(|_| to_rows(&sources.attachments));
    conn.transaction(|conn| {
        db::submissions::save_draft(conn, cycle_id, &draft, rows.as_deref())?;
        let details = json!({
            "report_bytes": draft.report_markdown.len(),
            "action_plan_bytes": draft.action_plan_markdown.len(),
            "attachments": sources.attachments.len(),
            "errors": findings.iter().filter(|f| f.is_error()).count(),
        });
        audit(conn, actor, now, "draft.save", ("cycle", &cycle_id.to_string()), details)
    })?;
    Ok(DraftOverview { draft, attachments: listing(&sources.attachments), findings })
}

/// A draft as the drafting page edits it: both texts, images to add (replacing a stored one of
/// the same name) and names of stored images to remove; the other stored images stay.
#[derive(Debug, Clone, Default)]
pub struct DraftEdit {
    pub report_markdown: Vec<u8>,
    pub action_plan_markdown: Vec<u8>,
    pub added: Vec<UploadedFile>,
    pub removed: Vec<String>,
}

/// Saves an edit of cycle `cycle_id`'s draft, for a `caller` who may write the city's work (the
/// city, or the Secretariat on its behalf).
#[allow(clippy::too_many_arguments)] // the caller and the actor are both needed: rights and audit trail
pub fn edit_draft(
    conn: &mut Conn<'_>,
    actor: &Actor,
    rules: &CycleRules,
    kit: &Reporting,
    caller: &Principal,
    cycle_id: i64,
    edit: &DraftEdit,
    now: NaiveDateTime,
) -> Result<DraftOverview> {
    let cycle = super::cycles::for_caller(conn, rules, caller, cycle_id, Access::Write, now)?;
    let kept = db::submissions::attachments(conn, Owner::Draft(cycle_id), true)?
        .into_iter()
        .filter(|a| !edit.removed.contains(&a.name) && !edit.added.iter().any(|n| n.name == a.name))
        .map(|a| UploadedFile { name: a.name, bytes: a.data });
    let upload = Upload {
        report_markdown: edit.report_markdown.clone(),
        action_plan_markdown: Some(edit.action_plan_markdown.clone()),
        attachments: Some(kept.chain(edit.added.iter().cloned()).collect()),
    };
    save_draft(conn, actor, kit, &cycle, &upload, now)
}

/// What the drafting page starts from: the cycle, and its saved draft with the check's findings,
/// or (before the first save) the template's skeleton in the city's language.
#[derive(Debug, Clone)]
pub struct Drafting {
    pub cycle: CycleOverview,
    pub draft: Option<DraftOverview>,
    pub skeleton: Option<super::continuity::DraftSkeleton>,
}

/// Cycle `cycle_id`'s draft, or its skeleton, for a `caller` who may read the city's work.
pub fn drafting(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    kit: &Reporting,
    caller: &Principal,
    cycle_id: i64,
    now: NaiveDateTime,
) -> Result<Drafting> {
    let cycle = super::cycles::for_caller(conn, rules, caller, cycle_id, Access::Read, now)?;
    let draft = match draft(conn, kit, cycle_id) {
        Ok(draft) => Some(draft),
        Err(Error::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let skeleton = match draft {
        Some(_) => None,
        None => Some(super::continuity::skeleton(conn, rules, kit, caller, cycle_id, now)?),
    };
    Ok(Drafting { cycle, draft, skeleton })
}

/// An image of cycle `cycle_id`'s draft, with its bytes, for a `caller` who may read the city's
/// work.
pub fn draft_image(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    caller: &Principal,
    cycle_id: i64,
    name: &str,
    now: NaiveDateTime,
) -> Result<StoredAttachment> {
    super::cycles::for_caller(conn, rules, caller, cycle_id, Access::Read, now)?;
    db::submissions::attachment(conn, Owner::Draft(cycle_id), name)?
        .ok_or_else(|| Error::not_found("image", name.to_owned()))
}

/// What rendering a cycle's draft as the archive would, marked draft, needs; nothing is stored.
pub fn draft_rendering(conn: &mut Conn<'_>, cycle: &CycleOverview, today: NaiveDate) -> Result<Rendering> {
    let cycle_id = cycle.record.id;
    let draft = db::submissions::draft(conn, cycle_id)?
        .ok_or_else(|| Error::not_found("draft of cycle", cycle_id.to_string()))?;
    let sources = Sources {
        report_markdown: draft.report_markdown,
        action_plan_markdown: draft.action_plan_markdown,
        attachments: to_attachments(db::submissions::attachments(conn, Owner::Draft(cycle_id), true)?),
    };
    let cover = city_cover(conn, &cycle.record.city.slug)?;
    let meta = cycle_meta(&cycle.record, &cover, None, Status::Draft, today);
    Ok(Rendering { sources, meta })
}

/// Renders an upload that belongs to no cycle (`POST /preview`), marked draft, with the caller's
/// city on the cover when there is one.
pub fn preview(kit: &Reporting, upload: &Upload, cover: Option<&CityCover>, today: NaiveDate) -> Result<Vec<u8>> {
    // Findings do not stop a preview; input the renderer refuses is a 422 naming the limit.
    let (sources, _) = prepare(kit, upload, None, &[])?;
    let mut meta = match cover {
        Some(c) => {
            let mut meta = crate::render::DocumentMeta::for_city(&c.name);
            meta.country.clone_from(&c.country);
            meta.creative_field.clone_from(&c.field);
            meta.language.clone_from(&c.language);
            meta
        }
        None => crate::render::DocumentMeta::default(),
    };
    meta.creation_date = super::render::pdf_date(today);
    Ok(kit.render(&sources, &meta)?.pdf)
}

/// Turns the draft (or `upload`, when given) into a new immutable version.
///
/// Allowed in the submission window, when overdue and after a revision request; otherwise a 409
/// with the reason. Submitting the bundle that is already awaiting review returns that version
/// (`created: false`) instead of a second one. Pending reminders of the cycle are cancelled.
pub fn submit(
    conn: &mut Conn<'_>,
    actor: &Actor,
    rules: &CycleRules,
    kit: &Reporting,
    cycle_id: i64,
    upload: Option<&Upload>,
    now: NaiveDateTime,
) -> Result<Submitted> {
    let previous = super::continuity::previous_items(conn, kit, cycle_id)?;
    let (sources, findings) = match upload {
        Some(upload) => prepare(kit, upload, None, &previous)?,
        None => {
            let draft = db::submissions::draft(conn, cycle_id)?.ok_or_else(|| {
                Error::Conflict("this cycle has no draft; save one or send the report with the submission".into())
            })?;
            let stored = db::submissions::attachments(conn, Owner::Draft(cycle_id), true)?;
            let upload = Upload {
                report_markdown: draft.report_markdown.into_bytes(),
                action_plan_markdown: Some(draft.action_plan_markdown.into_bytes()),
                attachments: None,
            };
            prepare(kit, &upload, Some(stored), &previous)?
        }
    };
    let errors = findings.iter().filter(|f| f.is_error()).count();
    if errors > 0 {
        return Err(Error::CheckFailed {
            summary: format!("the report cannot be submitted: the template check found {errors} error(s)"),
            findings,
        });
    }
    let digest = sources.digest();
    let rows = to_rows(&sources.attachments);
    // The version number a concurrent submit took first, if one did (below).
    let mut raced = None;
    let outcome = conn.transaction(|conn| {
        // Submits of one cycle take turns, so a retry sees the version it repeats (PostgreSQL).
        db::cycles::lock(conn, cycle_id)?;
        let cycle = super::cycles::get(conn, rules, now.and_utc(), cycle_id)?;
        let versions = db::submissions::versions(conn, cycle_id)?;
        if let Some(latest) = versions.last()
            && cycle.state.status == CycleStatus::Submitted
            && latest.bundle_sha256 == digest
        {
            return Ok(Submitted { submission: latest.clone(), created: false, findings: findings.clone() });
        }
        may_submit(&cycle.state).map_err(Error::Conflict)?;
        let revision_due = match super::cycles::facts(&cycle.record).latest_decision {
            Some(Decision::RevisionRequested { revision_due }) => Some(revision_due),
            _ => None,
        };
        let tz = cycle.record.city.time_zone.tz();
        let version = versions.last().map_or(1, |v| v.version + 1);
        let new = NewSubmission {
            cycle_id,
            version,
            report_markdown: &sources.report_markdown,
            action_plan_markdown: &sources.action_plan_markdown,
            bundle_sha256: &digest,
            submitted_by: &actor.name,
            submitted_at: now,
            late: is_late(now.and_utc(), &cycle.state, revision_due, tz),
        };
        let id = db::submissions::insert_submission(conn, &new, &rows).map_err(|e| match e {
            db::DbError::Conflict(_) => {
                raced = Some(version);
                Error::Conflict(format!("version {version} was submitted at the same moment"))
            }
            other => other.into(),
        })?;
        db::cycles::refresh_progress(conn, cycle_id)?;
        let mut cancelled = db::reminders::cancel_pending(conn, cycle_id, "deadline", now)?;
        cancelled += db::reminders::cancel_pending(conn, cycle_id, "revision", now)?;
        let details = json!({
            "cycle": cycle_id,
            "version": version,
            "bundle_sha256": digest,
            "late": new.late,
            "attachments": rows.len(),
            "reminders_cancelled": cancelled,
        });
        audit(conn, actor, now, "submission.create", ("submission", &id.to_string()), details)?;
        let submission = db::submissions::submission(conn, id)?.ok_or(db::DbError::NotFound)?;
        Ok(Submitted { submission, created: true, findings: findings.clone() })
    });
    // Another submit took this version number first (the cycle lock makes it rare, but a store
    // may still refuse the insert): when it submitted the same bundle, this call is its retry
    // and answers it, as when the version was already there.
    match (outcome, raced) {
        (Err(Error::Conflict(message)), Some(version)) => {
            let versions = db::submissions::versions(conn, cycle_id)?;
            match versions.into_iter().find(|v| v.version == version) {
                Some(winner) if winner.bundle_sha256 == digest => {
                    Ok(Submitted { submission: winner, created: false, findings })
                }
                _ => Err(Error::Conflict(message)),
            }
        }
        (outcome, _) => outcome,
    }
}
