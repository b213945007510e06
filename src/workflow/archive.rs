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
//!
//! Damage: whoever finds a stored file missing or changed (a download checking its size and edge
//! digest before sending, or its hash at the end; a bulk download; `/verify`; the fixity run)
//! reports it through [`report_damage`], which marks every entry holding the file damaged at once
//! (as a failed fixity check would: downloads and bulk downloads then refuse it) and alarms the
//! Secretariat once per entry, on the path the fixity run mails by. Edge digests
//! (`storage::edges_sha256`) are recorded at archiving; [`backfill_edges`] records those of
//! entries archived before, after hashing each file whole.
//!
//! Verification re-renders a bundle once per renderer and template version: the outcome is stored
//! ([`db::archive::Verdict`]) and later calls answer from it, re-hashing only the stored files,
//! unless a fresh one is asked for.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::json;

use super::render::{Reporting, Sources, city_cover, cycle_meta};
use super::{Actor, audit};
use crate::db::archive::{ArchivedDocument, NewArchivedDocument, NewBundle};
use crate::db::{self, Conn, Db};
use crate::domain::cycles::CycleRules;
use crate::error::{Error, Result};
use crate::mail::{self, Envelope, Transport};
use crate::render::{self, Attachment, DocumentMeta, PdfDate, Status};
use crate::storage::bundle::{
    self, Bundle, BundleLimits, Manifest, ManifestCity, ManifestCycle, ManifestDocument, ManifestSubmission,
};
use crate::storage::{self, BlobStore, Fixity};

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
    let (pdf_edges, bundle_edges) = (storage::edges_sha256(&pdf), storage::edges_sha256(&zip));
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
                    bundle: Some(NewBundle {
                        sha256: &stored_bundle.sha256,
                        bytes: stored_bundle.bytes as i64,
                        edges_sha256: &bundle_edges,
                    }),
                    renderer_version: render::RENDERER,
                    template_version: kit.template.version(),
                    archived_at: now,
                    published_at: Some(loaded.accepted_at),
                    public_since: public_since(Some(loaded.accepted_at), now),
                    pdf_edges_sha256: &pdf_edges,
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

/// Sets (or, with `None`, withdraws) the publication date of an entry. An entry that was public
/// and is not any more (withdrawn, or its date moved into the future) records when: harvesters
/// are told of it as a deleted record. Only an accepted report is published: a received document
/// of a report that was not accepted (history import) is refused (409).
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
        if at.is_some()
            && db::submissions::decisions(conn, &[before.submission_id])?.pop().is_none_or(|d| d.decision != "accept")
        {
            return Err(Error::Conflict(format!(
                "archive {id} holds a report received but never accepted (imported from the Secretariat's \
                 records); only accepted reports are published"
            )));
        }
        let since = public_since(at, now);
        // An entry that had been public before now and no longer is, is withdrawn from now on
        // (OAI-PMH tells harvesters); one public again is not; one still hidden keeps its first
        // withdrawal. Hidden in the very instant it became public (accepted and withdrawn in one
        // tick of the clock) it was never shown, and is not named.
        let was_public = before.public_since.is_some_and(|t| t < now);
        let withdrawn_at = if since.is_some_and(|t| t <= now) {
            None
        } else if was_public {
            Some(now)
        } else {
            before.withdrawn_at
        };
        db::archive::set_published(conn, id, db::archive::Publication { at, since, withdrawn_at })?;
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
    /// `None` for a received document, which has no bundle.
    pub bundle: Option<Fixity>,
    /// SHA-256 of the PDF re-rendered from the stored bundle, when the bundle could be read.
    pub rerendered_sha256: Option<String>,
    /// Both stored files are intact and re-rendering the bundle gives exactly the PDF's bytes;
    /// `None` when the entry was made by another renderer version, which this server does not
    /// re-render (its fixity alone is known).
    pub matches: Option<bool>,
    /// The renderer version that made the archived PDF.
    pub made_by: String,
    /// Why the PDF was not re-rendered here, and how to re-render it elsewhere; not a problem.
    pub note: Option<String>,
    /// Why the PDF does not verify, or why the re-rendering could not be compared.
    pub problem: Option<String>,
    /// When the re-rendering was done.
    pub rendered_at: Option<NaiveDateTime>,
    /// The re-rendering is a stored verdict, not one made for this call.
    pub cached: bool,
}

/// Where an alarm about the archive goes: the Secretariat, by the fixity run's transport.
#[derive(Clone)]
pub struct Alarm {
    pub transport: std::sync::Arc<dyn Transport>,
    /// The sender and the Secretariat's address; each alarm gets its own message id.
    pub envelope: Envelope,
}

impl std::fmt::Debug for Alarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alarm").field("to", &self.envelope.to).finish_non_exhaustive()
    }
}

/// Re-hashes the stored files and compares the archived PDF with the re-rendering of the stored
/// bundle: the stored verdict of this renderer and template version, or, with `fresh` or when
/// there is none, a new one (rendered under the gate, then stored). A file found missing or
/// changed is reported ([`report_damage`]). Blocking.
pub fn verify(
    db: &Db,
    kit: &Reporting,
    store: &dyn BlobStore,
    alarm: Option<&Alarm>,
    document: &ArchivedDocument,
    fresh: bool,
    now: NaiveDateTime,
) -> Result<Verification> {
    let pdf = store.verify(&document.pdf_sha256)?;
    let Some(bundle_sha256) = document.bundle_sha256.as_deref() else {
        if pdf != Fixity::Intact {
            report_damage(db, alarm, &document.pdf_sha256, &format!("/verify found it {}", fixity_label(&pdf)), now)?;
        }
        return Ok(received(document, pdf));
    };
    let bundle = store.verify(bundle_sha256)?;
    for (sha, state) in [(document.pdf_sha256.as_str(), &pdf), (bundle_sha256, &bundle)] {
        if *state != Fixity::Intact {
            report_damage(db, alarm, sha, &format!("/verify found it {}", fixity_label(state)), now)?;
        }
    }
    if document.renderer_version != render::RENDERER {
        return Ok(made_elsewhere(document, pdf, bundle));
    }
    let template = kit.template.version().to_owned();
    let stored = if fresh {
        None
    } else {
        db.run_blocking(|conn| db::archive::verdict(conn, document.id, render::RENDERER, &template))?
    };
    let (verdict, cached) = match stored {
        Some(verdict) => (Some(verdict), true),
        None if bundle == Fixity::Intact => {
            let (rerendered_sha256, problem) = rerender(kit, store, document, bundle_sha256)?;
            let verdict = db::archive::Verdict {
                archive_id: document.id,
                renderer_version: render::RENDERER.to_owned(),
                template_version: template,
                verified_at: now,
                rerendered_sha256,
                problem,
            };
            db.run_blocking(|conn| db::archive::save_verdict(conn, &verdict))?;
            (Some(verdict), false)
        }
        None => (None, false),
    };
    let rerendered_sha256 = verdict.as_ref().and_then(|v| v.rerendered_sha256.clone());
    let reproduces = rerendered_sha256.as_deref() == Some(document.pdf_sha256.as_str());
    let problem = if pdf != Fixity::Intact {
        Some(format!(
            "the stored PDF is {}{}",
            fixity_label(&pdf),
            if reproduces {
                "; re-rendering the source bundle gives the archived PDF's SHA-256, so it can be restored"
            } else {
                ""
            }
        ))
    } else if bundle != Fixity::Intact {
        Some(format!("the stored source bundle is {}, so the PDF cannot be re-rendered", fixity_label(&bundle)))
    } else {
        verdict.as_ref().and_then(|v| v.problem.clone())
    };
    Ok(Verification {
        matches: Some(pdf == Fixity::Intact && bundle == Fixity::Intact && reproduces),
        made_by: document.renderer_version.clone(),
        note: None,
        rendered_at: verdict.as_ref().map(|v| v.verified_at),
        pdf,
        bundle: Some(bundle),
        rerendered_sha256,
        problem,
        cached,
    })
}

impl Verification {
    /// The stored files (one for a received document) hash to their recorded digests.
    pub fn intact(&self) -> bool {
        self.pdf == Fixity::Intact && self.bundle.as_ref().is_none_or(|b| *b == Fixity::Intact)
    }
}

/// The verification of a received document: its PDF's fixity, and nothing to re-render (it has
/// no bundle).
fn received(document: &ArchivedDocument, pdf: Fixity) -> Verification {
    Verification {
        note: Some(
            "a received document (the report as the city sent it, archived by the history import): it was \
             not rendered here and has no source bundle, so there is nothing to re-render; the fixity of \
             the stored PDF is the whole verdict"
                .to_owned(),
        ),
        problem: (pdf != Fixity::Intact).then(|| format!("the stored PDF is {}", fixity_label(&pdf))),
        made_by: document.renderer_version.clone(),
        matches: None,
        rerendered_sha256: None,
        rendered_at: None,
        cached: false,
        bundle: None,
        pdf,
    }
}

/// The verification of an entry made by another renderer version: the stored files' fixity, and
/// no re-rendering, since this renderer's bytes differ by design (README, "Renderer versions").
fn made_elsewhere(document: &ArchivedDocument, pdf: Fixity, bundle: Fixity) -> Verification {
    let made_by = &document.renderer_version;
    let tag = made_by.replace(' ', "-");
    let problem = [("PDF", &pdf), ("source bundle", &bundle)]
        .iter()
        .filter(|(_, state)| **state != Fixity::Intact)
        .map(|(what, state)| format!("the stored {what} is {}", fixity_label(state)))
        .reduce(|a, b| format!("{a}; {b}"));
    Verification {
        note: Some(format!(
            "made by renderer {made_by}, this server runs {}: not re-rendered here. To re-render it, build \
             the release tagged {tag} and render the source bundle with it (README, Renderer versions)",
            render::RENDERER
        )),
        made_by: made_by.clone(),
        matches: None,
        rerendered_sha256: None,
        rendered_at: None,
        cached: false,
        problem,
        pdf,
        bundle: Some(bundle),
    }
}

/// Re-renders an entry's stored bundle (`bundle_sha256`): the SHA-256 of the PDF it gives and,
/// when that cannot be the archived one, why.
fn rerender(
    kit: &Reporting,
    store: &dyn BlobStore,
    document: &ArchivedDocument,
    bundle_sha256: &str,
) -> Result<(Option<String>, Option<String>)> {
    let decoded = bundle::decode(&store.get(bundle_sha256)?, &BundleLimits::default())?;
    if decoded.manifest.template_version != kit.template.version() {
        let problem = format!(
            "the bundle was rendered with template {}, this server has {}",
            decoded.manifest.template_version,
            kit.template.version()
        );
        return Ok((None, Some(problem)));
    }
    let made_by = decoded.manifest.renderer.clone();
    let sha = crate::storage::sha256_hex(&render_decoded(kit, decoded)?);
    let problem = (sha != document.pdf_sha256 && made_by != render::RENDERER)
        .then(|| format!("the PDF was made by {made_by}, this server runs {}", render::RENDERER));
    Ok((Some(sha), problem))
}

/// Renders a decoded bundle as its manifest says.
fn render_decoded(kit: &Reporting, decoded: Bundle) -> Result<Vec<u8>> {
    let sources = Sources {
        report_markdown: decoded.report_markdown,
        action_plan_markdown: decoded.action_plan_markdown,
        attachments: decoded.attachments.into_iter().map(|(name, bytes)| Attachment { name, bytes }).collect(),
    };
    render_bundle(kit, &decoded.manifest, &sources)
}

/// A source bundle rendered again, away from the archive (`mmr render-bundle`).
#[derive(Debug)]
pub struct Rerendered {
    pub pdf: Vec<u8>,
    /// The renderer and template versions the bundle's manifest names (those that made the
    /// archived PDF).
    pub made_by: String,
    pub template_version: String,
}

/// Renders a source bundle (the ZIP `GET /archive/{id}/source.zip` serves) again, with this
/// renderer: the same bytes as the archived PDF when the manifest names this renderer and
/// template version.
pub fn rerender_bundle(kit: &Reporting, zip: &[u8]) -> Result<Rerendered> {
    let decoded = bundle::decode(zip, &BundleLimits::default())?;
    let (made_by, template_version) = (decoded.manifest.renderer.clone(), decoded.manifest.template_version.clone());
    Ok(Rerendered { pdf: render_decoded(kit, decoded)?, made_by, template_version })
}

/// Marks every entry holding the stored file `sha256` damaged at once, records it in the audit
/// log and alarms the Secretariat, once per entry: entries already marked damaged (by an earlier
/// reader or the fixity run) are neither recorded nor mailed again. `problem` says who found what.
/// Returns the entries newly marked. Blocking.
pub fn report_damage(
    db: &Db,
    alarm: Option<&Alarm>,
    sha256: &str,
    problem: &str,
    now: NaiveDateTime,
) -> Result<Vec<i64>> {
    tracing::error!(archive.sha256 = %sha256, problem, "an archived file is missing or damaged");
    let actor = Actor::system("archive-reader");
    let newly = db.run_blocking(|conn| {
        conn.transaction(|conn| {
            let newly = db::archive::mark_damaged(conn, sha256, now)?;
            for id in &newly {
                let details = json!({ "sha256": sha256, "problem": problem });
                audit(conn, &actor, now, "archive.damaged", ("archive", &id.to_string()), details)?;
            }
            Ok::<_, Error>(newly)
        })
    })?;
    if !newly.is_empty()
        && let Some(alarm) = alarm
    {
        let ids: Vec<String> = newly.iter().map(ToString::to_string).collect();
        let subject = format!("[MMR archive] damaged file found by a reader: archive {}", ids.join(", "));
        let body = format!(
            "At {}, a stored file of archived report(s) {} was found missing or changed: {problem}.\n\n             File: {sha256}\nStore: the archive store of this server\n\n             The report(s) are marked damaged and are no longer served; bulk downloads leave them out.\n             Restore the file from a backup copy; `mmr fixity` checks it again and clears the mark.\n",
            now.and_utc().format("%Y-%m-%d %H:%M UTC"),
            ids.join(", "),
        );
        let mut envelope = alarm.envelope.clone();
        envelope.message_id = format!("damage.{}.{}@mmr.invalid", ids.join("-"), &sha256[..sha256.len().min(16)]);
        send_alarm(alarm.transport.as_ref(), &envelope, &subject, &body);
    }
    Ok(newly)
}

/// Mails an alarm to the Secretariat; a failure is logged, never returned (the finding itself is
/// already recorded).
fn send_alarm(transport: &dyn Transport, envelope: &Envelope, subject: &str, body: &str) {
    let sent = mail::compose_notice(envelope, subject, body).and_then(|message| transport.send(&message));
    if let Err(e) = sent {
        tracing::error!(error = %e, "an archive alarm could not be sent to the Secretariat");
    }
}

/// Records the edge digests of entries archived before they were recorded: each file is hashed
/// whole first, and only an intact one gets its edges recorded (a damaged one is the fixity
/// run's to report). Returns how many entries got them. Blocking.
pub fn backfill_edges(db: &Db, store: &dyn BlobStore) -> Result<usize> {
    let pending = db.run_blocking(db::archive::without_edges)?;
    let mut done = 0;
    for doc in &pending {
        if record_edges(db, store, doc)? {
            done += 1;
        }
    }
    Ok(done)
}

/// Records `doc`'s edge digests if all its files hash to their names; whether it did.
fn record_edges(db: &Db, store: &dyn BlobStore, doc: &ArchivedDocument) -> Result<bool> {
    let mut edges = Vec::with_capacity(2);
    for (_, sha, _) in doc.files() {
        if store.verify(sha)? != Fixity::Intact {
            return Ok(false);
        }
        let mut reader = store.open(sha)?;
        let digest = storage::read_edges_sha256(&mut reader).map_err(|source| storage::StorageError::Io {
            op: "read",
            path: sha.into(),
            source,
        })?;
        edges.push(digest);
    }
    db.run_blocking(|conn| db::archive::backfill_edges(conn, doc.id, &edges[0], edges.get(1).map(String::as_str)))?;
    Ok(true)
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
/// the audit log (and the edge digests of intact entries that lack them), and mails the
/// Secretariat when anything is missing or changed. Blocking.
pub fn fixity(
    db: &Db,
    store: &dyn BlobStore,
    notify: Option<(&dyn Transport, &Envelope)>,
    progress: &dyn super::Progress,
    now: NaiveDateTime,
) -> Result<FixityReport> {
    let actor = Actor::system("fixity");
    let documents = db.run_blocking(db::archive::all)?;
    let mut report = FixityReport { documents: documents.len(), ..FixityReport::default() };
    progress.begin("archive entries", documents.len() as u64);
    for doc in &documents {
        progress.step();
        let mut ok = true;
        // A received document has its PDF only.
        for (file, sha, _) in doc.files() {
            report.files += 1;
            let state = store.verify(sha)?;
            if state != Fixity::Intact {
                ok = false;
                tracing::error!(archive.id = doc.id, file, sha256 = %sha, state = ?state, "fixity check failed");
                report.problems.push(FixityProblem { archive_id: doc.id, file, sha256: sha.to_owned(), state });
            }
        }
        db.run_blocking(|conn| db::archive::record_fixity(conn, doc.id, now, ok))?;
        if ok && (doc.pdf_edges_sha256.is_none() || (doc.bundle_sha256.is_some() && doc.bundle_edges_sha256.is_none()))
        {
            record_edges(db, store, doc)?;
        }
    }
    progress.end();
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
        send_alarm(transport, envelope, &fixity_subject(&report), &fixity_body(&report, store, now));
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
