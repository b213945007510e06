//! The archive: turning an accepted version into a write-once, checksummed PDF and source bundle,
//! publishing it, verifying it by re-rendering, and the fixity run that re-hashes every stored
//! file.
//!
//! Order of durability (DESIGN.md §6): the PDF and the bundle are written to the blob store (temp
//! file, fsync, rename, fsync directory) before the database row that points at them is inserted.
//! A crash in between leaves an acceptance without an archive entry and, at worst, unreferenced
//! files; [`resume`] (run at server start and by `mmr fixity`) completes such acceptances. Since
//! objects are content-addressed and rendering is deterministic, completing one writes the very
//! same bytes again.
//!
//! The PDF is rendered only from what the bundle's manifest holds, through [`manifest_meta`], so
//! [`verify`] can re-render a stored bundle alone and compare bytes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::json;

use super::render::{Reporting, Sources, city_cover, cycle_meta};
use super::{Actor, audit};
use crate::db::archive::{ArchivedDocument, NewArchivedDocument};
use crate::db::{self, Conn, Db};
use crate::domain::cycles::CycleRules;
use crate::error::{Error, Result};
use crate::mail::{self, Envelope, Transport};
use crate::render::{self, Attachment, DocumentMeta, PdfDate, Status};
use crate::storage::bundle::{
    self, Bundle, BundleLimits, Manifest, ManifestCity, ManifestCycle, ManifestDocument, ManifestSubmission,
};
use crate::storage::{BlobStore, Fixity};

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The cover and metadata a manifest stands for: the only input of an archived rendering
/// besides the sources.
pub fn manifest_meta(manifest: &Manifest) -> Result<DocumentMeta> {
    let d = &manifest.document;
    let date = |field: &'static str, raw: &str| {
        PdfDate::parse(raw).map_err(|_| {
            Error::Invalid(crate::domain::Invalid::new(field, format!("`{raw}` in the manifest is not a date")))
        })
    };
    Ok(DocumentMeta {
        title: d.title.clone(),
        city: manifest.city.name.clone(),
        country: d.country.clone(),
        creative_field: d.creative_field.clone(),
        cycle: d.cycle_label.clone(),
        version: d.version_label.clone(),
        submission_date: Some(date("submission_date", &d.submission_date)?),
        status: Status::Accepted { date: date("accepted_date", &d.accepted_date)? },
        language: d.language.clone(),
        keywords: d.keywords.clone(),
        creation_date: date("creation_date", &d.creation_date)?,
    })
}

/// Everything an archiving needs from the database, read in one go.
struct ToArchive {
    manifest: Manifest,
    sources: Sources,
    accepted_at: NaiveDateTime,
}

fn load_accepted(conn: &mut Conn<'_>, rules: &CycleRules, kit: &Reporting, submission_id: i64) -> Result<ToArchive> {
    let submission = db::submissions::submission(conn, submission_id)?
        .ok_or_else(|| Error::not_found("submission", submission_id.to_string()))?;
    let decision = db::submissions::decisions(conn, &[submission_id])?
        .pop()
        .filter(|d| d.decision == "accept")
        .ok_or_else(|| Error::Conflict(format!("version {} is not accepted", submission.version)))?;
    if decision.accepted_sha256.as_deref() != Some(submission.bundle_sha256.as_str()) {
        return Err(Error::Conflict(format!(
            "version {} does not match the digest that was accepted",
            submission.version
        )));
    }
    let cycle = super::cycles::get(conn, rules, decision.decided_at.and_utc(), submission.cycle_id)?;
    let cover = city_cover(conn, &cycle.record.city.slug)?;
    let submitted_on = submission.submitted_at.date();
    let accepted_on = decision.decided_at.date();
    let meta = cycle_meta(
        &cycle.record,
        &cover,
        Some((submission.version, submitted_on)),
        Status::Accepted { date: super::render::pdf_date(accepted_on) },
        submitted_on,
    );
    let sources = super::submissions::version_sources(conn, &submission)?;
    let city = &cycle.record.city;
    let manifest = Manifest {
        format: bundle::FORMAT.to_owned(),
        city: ManifestCity {
            slug: city.slug.clone(),
            name: city.name.clone(),
            country: city.country.clone(),
            field: city.field.clone(),
        },
        cycle: ManifestCycle {
            number: cycle.record.number,
            period_start_year: cycle.record.period_start_year,
            period_end_year: cycle.record.period_end_year,
        },
        submission: ManifestSubmission {
            id: submission.id,
            version: submission.version,
            submitted_at: rfc3339(submission.submitted_at),
            late: submission.late,
            bundle_sha256: submission.bundle_sha256.clone(),
        },
        accepted_at: rfc3339(decision.decided_at),
        renderer: render::RENDERER.to_owned(),
        template_version: kit.template.version().to_owned(),
        document: ManifestDocument {
            title: meta.title.clone(),
            language: meta.language.clone(),
            country: meta.country.clone(),
            creative_field: meta.creative_field.clone(),
            cycle_label: meta.cycle.clone(),
            version_label: meta.version.clone(),
            keywords: meta.keywords.clone(),
            submission_date: submitted_on.to_string(),
            accepted_date: accepted_on.to_string(),
            creation_date: submitted_on.to_string(),
        },
        files: Vec::new(),
    };
    Ok(ToArchive { manifest, sources, accepted_at: decision.decided_at })
}

/// Renders the PDF of a bundle from its manifest and sources alone.
fn render_bundle(kit: &Reporting, manifest: &Manifest, sources: &Sources) -> Result<Vec<u8>> {
    Ok(kit.render(sources, &manifest_meta(manifest)?)?.pdf)
}

/// Archives an accepted version: renders its PDF, writes PDF and bundle to the store, then
/// records the entry (published from the acceptance on). Idempotent: an entry that exists is
/// returned as is. Blocking; call it off the async threads.
pub fn archive_accepted(
    db: &Db,
    store: &dyn BlobStore,
    kit: &Reporting,
    rules: &CycleRules,
    actor: &Actor,
    submission_id: i64,
    now: NaiveDateTime,
) -> Result<ArchivedDocument> {
    let loaded = db.run_blocking(|conn| match db::archive::by_submission(conn, submission_id)? {
        Some(done) => Ok(Err(done)),
        None => load_accepted(conn, rules, kit, submission_id).map(Ok),
    })?;
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(done) => return Ok(done),
    };
    let pdf = render_bundle(kit, &loaded.manifest, &loaded.sources)?;
    let zip = bundle::encode(&Bundle {
        manifest: loaded.manifest,
        report_markdown: loaded.sources.report_markdown,
        action_plan_markdown: loaded.sources.action_plan_markdown,
        attachments: loaded.sources.attachments.into_iter().map(|a| (a.name, a.bytes)).collect(),
    })?;
    let stored_pdf = store.put(&pdf)?;
    let stored_bundle = store.put(&zip)?;
    db.run_blocking(|conn| {
        conn.transaction(|conn| {
            let entry = db::archive::insert(
                conn,
                &NewArchivedDocument {
                    submission_id,
                    pdf_sha256: &stored_pdf.sha256,
                    pdf_bytes: stored_pdf.bytes as i64,
                    bundle_sha256: &stored_bundle.sha256,
                    bundle_bytes: stored_bundle.bytes as i64,
                    renderer_version: render::RENDERER,
                    template_version: kit.template.version(),
                    archived_at: now,
                    published_at: Some(loaded.accepted_at),
                    public_since: public_since(Some(loaded.accepted_at), now),
                },
            )?;
            let details = json!({
                "submission": submission_id,
                "pdf_sha256": entry.pdf_sha256,
                "pdf_bytes": entry.pdf_bytes,
                "bundle_sha256": entry.bundle_sha256,
                "store": store.describe(),
            });
            audit(conn, actor, now, "archive.create", ("archive", &entry.id.to_string()), details)?;
            Ok(entry)
        })
    })
}

/// Completes acceptances whose archiving was interrupted; returns the entries made.
pub fn resume(
    db: &Db,
    store: &dyn BlobStore,
    kit: &Reporting,
    rules: &CycleRules,
    now: NaiveDateTime,
) -> Result<Vec<ArchivedDocument>> {
    let cleaned = store.clean_interrupted()?;
    if cleaned > 0 {
        tracing::info!(files = cleaned, "removed the temporary files of interrupted archive writes");
    }
    let pending = db.run_blocking(db::submissions::accepted_without_archive)?;
    let actor = Actor::system("archive-resume");
    pending.into_iter().map(|id| archive_accepted(db, store, kit, rules, &actor, id, now)).collect()
}

/// An archive entry with the version and cycle it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub document: ArchivedDocument,
    pub submission: db::submissions::Submission,
    pub cycle: super::cycles::CycleOverview,
}

impl Entry {
    /// Public from its publication date on.
    pub fn is_published(&self, now: NaiveDateTime) -> bool {
        self.document.published_at.is_some_and(|at| at <= now)
    }
}

pub fn get(conn: &mut Conn<'_>, rules: &CycleRules, now: NaiveDateTime, id: i64) -> Result<Entry> {
    let document = db::archive::get(conn, id)?.ok_or_else(|| Error::not_found("archived report", id.to_string()))?;
    let submission = db::submissions::submission(conn, document.submission_id)?.ok_or(db::DbError::NotFound)?;
    let cycle = super::cycles::get(conn, rules, now.and_utc(), submission.cycle_id)?;
    Ok(Entry { document, submission, cycle })
}

/// When an entry published from `published_at` on, as written at `now`, is public since: the
/// later of the two. A publication date set in the past (or an acceptance archived late) makes
/// the entry appear now, so harvesters asking for what changed since their last visit see it.
pub fn public_since(published_at: Option<NaiveDateTime>, now: NaiveDateTime) -> Option<NaiveDateTime> {
    published_at.map(|at| at.max(now))
}

/// Sets (or, with `None`, withdraws) the publication date of an entry.
pub fn publish(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    published_on: Option<NaiveDate>,
    now: NaiveDateTime,
) -> Result<ArchivedDocument> {
    conn.transaction(|conn| {
        let before = db::archive::get(conn, id)?.ok_or_else(|| Error::not_found("archived report", id.to_string()))?;
        let at = published_on.map(|d| d.and_time(chrono::NaiveTime::MIN));
        db::archive::set_published(conn, id, at, public_since(at, now))?;
        let details = json!({
            "from": before.published_at.map(rfc3339),
            "to": at.map(rfc3339),
        });
        audit(conn, actor, now, "archive.publish", ("archive", &id.to_string()), details)?;
        db::archive::get(conn, id)?.ok_or_else(|| db::DbError::NotFound.into())
    })
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub pdf: Fixity,
    pub bundle: Fixity,
    /// SHA-256 of the PDF re-rendered from the stored bundle, when the bundle could be read.
    pub rerendered_sha256: Option<String>,
    /// The re-rendered PDF has exactly the archived bytes.
    pub matches: bool,
    /// Why the re-rendering could not be compared, if it could not.
    pub problem: Option<String>,
}

/// Re-hashes the stored files and re-renders the stored bundle, comparing the bytes with the
/// archived PDF. Blocking.
pub fn verify(kit: &Reporting, store: &dyn BlobStore, document: &ArchivedDocument) -> Result<Verification> {
    let pdf = store.verify(&document.pdf_sha256)?;
    let bundle_state = store.verify(&document.bundle_sha256)?;
    let mut out =
        Verification { pdf, bundle: bundle_state.clone(), rerendered_sha256: None, matches: false, problem: None };
    if bundle_state != Fixity::Intact {
        out.problem = Some("the stored source bundle is missing or damaged".into());
        return Ok(out);
    }
    let decoded = bundle::decode(&store.get(&document.bundle_sha256)?, &BundleLimits::default())?;
    if decoded.manifest.template_version != kit.template.version() {
        out.problem = Some(format!(
            "the bundle was rendered with template {}, this server has {}",
            decoded.manifest.template_version,
            kit.template.version()
        ));
        return Ok(out);
    }
    let sources = Sources {
        report_markdown: decoded.report_markdown,
        action_plan_markdown: decoded.action_plan_markdown,
        attachments: decoded.attachments.into_iter().map(|(name, bytes)| Attachment { name, bytes }).collect(),
    };
    let pdf_bytes = render_bundle(kit, &decoded.manifest, &sources)?;
    let sha = crate::storage::sha256_hex(&pdf_bytes);
    out.matches = sha == document.pdf_sha256;
    out.rerendered_sha256 = Some(sha);
    if !out.matches && decoded.manifest.renderer != render::RENDERER {
        out.problem =
            Some(format!("the PDF was made by {}, this server runs {}", decoded.manifest.renderer, render::RENDERER));
    }
    Ok(out)
}

/// One stored file that failed its fixity check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixityProblem {
    pub archive_id: i64,
    /// `pdf` or `bundle`.
    pub file: &'static str,
    pub sha256: String,
    pub state: Fixity,
}

/// What a fixity run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixityReport {
    pub documents: usize,
    pub files: usize,
    pub problems: Vec<FixityProblem>,
}

/// Re-hashes every stored file of every archive entry, records the result on each entry and in
/// the audit log, and mails the Secretariat when anything is missing or changed. Blocking.
pub fn fixity(
    db: &Db,
    store: &dyn BlobStore,
    notify: Option<(&dyn Transport, &Envelope)>,
    now: NaiveDateTime,
) -> Result<FixityReport> {
    let actor = Actor::system("fixity");
    let documents = db.run_blocking(db::archive::all)?;
    let mut report = FixityReport { documents: documents.len(), ..FixityReport::default() };
    for doc in &documents {
        let mut ok = true;
        for (file, sha) in [("pdf", &doc.pdf_sha256), ("bundle", &doc.bundle_sha256)] {
            report.files += 1;
            let state = store.verify(sha)?;
            if state != Fixity::Intact {
                ok = false;
                tracing::error!(archive.id = doc.id, file, sha256 = %sha, state = ?state, "fixity check failed");
                report.problems.push(FixityProblem { archive_id: doc.id, file, sha256: sha.clone(), state });
            }
        }
        db.run_blocking(|conn| db::archive::record_fixity(conn, doc.id, now, ok))?;
    }
    let problems: Vec<_> = report
        .problems
        .iter()
        .map(
            |p| json!({ "archive": p.archive_id, "file": p.file, "sha256": p.sha256, "state": fixity_label(&p.state) }),
        )
        .collect();
    let details = json!({ "documents": report.documents, "files": report.files, "problems": problems });
    db.run_blocking(|conn| audit(conn, &actor, now, "archive.fixity", ("archive", "*"), details))?;
    if !report.problems.is_empty()
        && let Some((transport, envelope)) = notify
    {
        let sent = mail::compose_notice(envelope, &fixity_subject(&report), &fixity_body(&report, store, now))
            .and_then(|message| transport.send(&message));
        if let Err(e) = sent {
            tracing::error!(error = %e, "the fixity alert could not be sent to the Secretariat");
        }
    }
    Ok(report)
}

/// `intact`, `missing` or `changed`.
pub fn fixity_label(state: &Fixity) -> &'static str {
    match state {
        Fixity::Intact => "intact",
        Fixity::Missing => "missing",
        Fixity::Changed { .. } => "changed",
    }
}

fn fixity_subject(report: &FixityReport) -> String {
    format!("[MMR archive] fixity check: {} damaged or missing file(s)", report.problems.len())
}

fn fixity_body(report: &FixityReport, store: &dyn BlobStore, now: NaiveDateTime) -> String {
    let when: DateTime<Utc> = now.and_utc();
    let mut body = format!(
        "The fixity check of {} re-hashed {} files of {} archived reports in {}.\n\n\
         These files are missing or no longer match their SHA-256:\n\n",
        when.format("%Y-%m-%d %H:%M UTC"),
        report.files,
        report.documents,
        store.describe()
    );
    for p in &report.problems {
        body.push_str(&format!("- archive {} {}: {} ({})\n", p.archive_id, p.file, fixity_label(&p.state), p.sha256));
    }
    body.push_str("\nRestore these files from a backup copy; `mmr fixity` checks them again.\n");
    body
}
