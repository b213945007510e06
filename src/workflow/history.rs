//! `mmr history import` and `POST /api/v1/history/import`: past reporting rounds from the
//! Secretariat's records become ordinary cycles with their real facts, and the reports as they
//! were received become archive entries.
//!
//! A manifest row names a city, the round (its period or due year), the due date that applied,
//! when the report was received (empty: never), the decision and its date (and, for a revision
//! requested, its deadline), the language, the file of the report as sent (a PDF, for a report
//! received) and free notes. The import:
//!
//! - is all or nothing: every row is checked (on its own in `domain::history`, against the
//!   registry and the cycles here, its PDF by `render::inspect_received`) and every bad line is
//!   named before anything is written;
//! - is idempotent: a round imported before with the same facts is left alone; the same round
//!   with other facts is a bad line (history is write-once, like the archive);
//! - closes each round (`closed_by_history`): no reminder is ever planned or sent for it, and its
//!   pending ones are cancelled;
//! - writes each PDF to the blob store first, then, in one transaction, the cycle, its version
//!   (the text extracted from the PDF, so that the archive search finds it), the decision, the
//!   archive entry (an accepted report's published from the decision date; one received but not
//!   accepted stays unpublished, see `domain::history`), the imported facts and an audit event
//!   per round.
//!
//! A received document's entry is marked [`RECEIVED`] in place of a renderer version: it has no
//! source bundle (its bundle columns are NULL, migration `received_without_bundle`) and nothing
//! to re-render.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde_json::json;

use super::{Actor, audit};
use crate::db::{self, Conn, Db};
use crate::domain::auth::{Action, Principal, authorize};
use crate::domain::cities::CityTimeZone;
use crate::domain::cycles::{CyclePlan, CycleRules};
use crate::domain::history::{PastDecision, PastRound, RawRound};
use crate::error::{Error, Result};
use crate::render::{MAX_RECEIVED_PDF_BYTES, inspect_received};
use crate::storage::{self, BlobStore};

/// The `renderer_version` of an archive entry that is a received document, not a rendering.
pub const RECEIVED: &str = "received";
/// Its `template_version`.
pub const NO_TEMPLATE: &str = "none";
/// The most bad lines listed in one error; the count covers them all.
const MAX_REPORTED: usize = 100;

/// How many past rounds were imported so far (`--if-empty` loads the demo history only when none
/// was).
pub fn imported_rounds(conn: &mut Conn<'_>) -> Result<i64> {
    Ok(db::history::count(conn)?)
}

/// Whether `caller` may import history: the Secretariat edits the registry's cycles and
/// deadlines (DESIGN.md §3). The command line acts as the operator and needs no check.
pub fn may_import(caller: Option<&Principal>) -> Result<()> {
    Ok(authorize(caller, Action::EditRegistry)?)
}

/// A manifest read: the rows that are good on their own, and what is wrong with the others
/// (reported together with what the registry finds, so that one attempt names every bad line).
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub rows: Vec<ManifestRow>,
    pub problems: Vec<String>,
}

/// One checked row of a manifest.
#[derive(Debug, Clone)]
pub struct ManifestRow {
    pub line: u64,
    pub round: PastRound,
}

/// Where the files a manifest names are.
#[derive(Debug, Clone)]
pub enum Files {
    /// A directory (`--files DIR`; the manifest's own directory by default).
    Dir(PathBuf),
    /// Uploaded with the manifest, by file name.
    Uploaded(HashMap<String, Vec<u8>>),
}

impl Files {
    /// The bytes of `name`, refused before reading when over the size limit.
    fn read(&self, name: &str) -> std::result::Result<Vec<u8>, String> {
        let over =
            |n: u64| format!("is {n} bytes, over the limit of {} MiB for a received PDF", MAX_RECEIVED_PDF_BYTES >> 20);
        match self {
            Self::Dir(dir) => {
                let path = dir.join(name);
                let meta = std::fs::metadata(&path).map_err(|_| "is missing".to_owned())?;
                if !meta.is_file() {
                    return Err("is not a file".into());
                }
                if meta.len() > MAX_RECEIVED_PDF_BYTES as u64 {
                    return Err(over(meta.len()));
                }
                std::fs::read(&path).map_err(|e| format!("cannot be read ({e})"))
            }
            Self::Uploaded(files) => match files.get(name) {
                Some(bytes) if bytes.len() > MAX_RECEIVED_PDF_BYTES => Err(over(bytes.len() as u64)),
                Some(bytes) => Ok(bytes.clone()),
                None => Err("is missing (no uploaded file has that name)".into()),
            },
        }
    }
}

/// What happened (or, in a dry run, would happen) to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundOutcome {
    pub line: u64,
    pub city: String,
    pub cycle_number: i32,
    pub due_date: NaiveDate,
    /// `imported` or `unchanged`.
    pub action: &'static str,
    /// `on_time`, `late` or `never_received`.
    pub outcome: &'static str,
    pub days_late: Option<i64>,
    pub cycle_id: Option<i64>,
    pub archive_id: Option<i64>,
    /// Why the archived PDF cannot be searched by its text, when it cannot.
    pub text_note: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistorySummary {
    pub dry_run: bool,
    pub imported: usize,
    pub unchanged: usize,
    pub archived: usize,
    pub rounds: Vec<RoundOutcome>,
}

impl HistorySummary {
    /// The summary line the command prints.
    pub fn line(&self) -> String {
        let scans = self.rounds.iter().filter(|r| r.action == "imported" && r.text_note.is_some()).count();
        format!(
            "{}{} round{} imported, {} unchanged, {} PDF{} archived{}",
            if self.dry_run { "dry run, nothing written: " } else { "" },
            self.imported,
            if self.imported == 1 { "" } else { "s" },
            self.unchanged,
            self.archived,
            if self.archived == 1 { "" } else { "s" },
            if scans > 0 { format!(" ({scans} without extractable text)") } else { String::new() },
        )
    }
}

const COLUMNS: [&str; 11] = [
    "city",
    "period",
    "due_year",
    "due_date",
    "received_on",
    "decision",
    "decided_on",
    "revision_due",
    "language",
    "file",
    "notes",
];

/// Parses and checks every row of a manifest on its own, without the database; only a manifest
/// that cannot be read at all (its header) is an error here.
pub fn parse_manifest(data: &[u8], today: NaiveDate) -> Result<Manifest> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(data);
    let headers = reader.headers().map_err(|e| many(vec![format!("header: {e}")]))?.clone();
    let column: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    let unknown: Vec<&str> = headers.iter().filter(|h| !COLUMNS.contains(h)).collect();
    if !unknown.is_empty() {
        return Err(many(vec![format!(
            "line 1: unknown column(s): {} (expected {})",
            unknown.join(", "),
            COLUMNS.join(", ")
        )]));
    }
    let missing: Vec<&str> =
        ["city", "due_date", "received_on", "decision"].into_iter().filter(|h| !column.contains_key(h)).collect();
    if !missing.is_empty() || !(column.contains_key("period") || column.contains_key("due_year")) {
        let mut missing = missing.join(", ");
        if !(column.contains_key("period") || column.contains_key("due_year")) {
            missing.push_str(if missing.is_empty() { "period or due_year" } else { ", period or due_year" });
        }
        return Err(many(vec![format!("line 1: missing column(s): {missing}")]));
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("line {line}: {}", csv_message(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| column.get(name).and_then(|&i| record.get(i)).filter(|v| !v.is_empty());
        let raw = RawRound {
            city: get("city"),
            period: get("period"),
            due_year: get("due_year"),
            due_date: get("due_date"),
            received_on: get("received_on"),
            decision: get("decision"),
            decided_on: get("decided_on"),
            revision_due: get("revision_due"),
            language: get("language"),
            file: get("file"),
            notes: get("notes"),
        };
        match PastRound::parse(&raw, today) {
            Ok(round) => rows.push(ManifestRow { line, round }),
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    Ok(Manifest { rows, problems })
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".into(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} fields where the header has {expected_len}")
        }
        _ => e.to_string(),
    }
}

fn many(problems: Vec<String>) -> Error {
    let n = problems.len();
    let summary = format!("{n} bad line{} in the manifest; nothing was imported", if n == 1 { "" } else { "s" });
    Error::InvalidMany { summary, problems: problems.into_iter().take(MAX_REPORTED).collect() }
}

/// What to import: a manifest read, where its files are, and whether to write anything.
#[derive(Debug, Clone, Copy)]
pub struct ImportRequest<'a> {
    pub manifest: &'a Manifest,
    pub files: &'a Files,
    /// Check everything and report what would be done; write nothing.
    pub dry_run: bool,
    /// How long parsing one PDF may take (`MMR_RECEIVED_PDF_SECONDS`); a PDF that takes longer
    /// is a bad line.
    pub pdf_budget: Duration,
}

/// A row checked against the registry, its PDF read and inspected.
struct Planned<'a> {
    row: &'a ManifestRow,
    city_id: i64,
    city_slug: String,
    city_field: String,
    tz: chrono_tz::Tz,
    number: i32,
    regular_due: NaiveDate,
    /// The cycle, when it exists already.
    cycle_id: Option<i64>,
    /// Imported before with the same facts.
    unchanged: bool,
    pdf: Option<Pdf>,
}

struct Pdf {
    bytes: Vec<u8>,
    sha256: String,
    text: String,
    text_note: Option<String>,
}

/// Imports checked rows: all or nothing, idempotent. With `dry_run`, checks everything and
/// reports what would be done, writing nothing. Blocking (reads files, writes the blob store).
pub fn import(
    db: &Db,
    store: &dyn BlobStore,
    actor: &Actor,
    rules: &CycleRules,
    request: &ImportRequest<'_>,
    progress: &dyn super::Progress,
    now: NaiveDateTime,
) -> Result<HistorySummary> {
    let ImportRequest { manifest, files, dry_run, pdf_budget } = *request;
    let (rows, mut problems) = (&manifest.rows, manifest.problems.clone());
    // The files first, each once, outside any transaction.
    let mut pdfs: HashMap<u64, Pdf> = HashMap::new();
    let mut by_sha: HashMap<String, u64> = HashMap::new();
    progress.begin("PDFs read", rows.iter().filter(|r| r.round.file.is_some()).count() as u64);
    for row in rows {
        let Some(name) = &row.round.file else { continue };
        progress.step();
        let checked = files.read(name).and_then(|bytes| inspect_received(&bytes, pdf_budget).map(|r| (bytes, r)));
        match checked {
            Ok((bytes, found)) => {
                let sha256 = storage::sha256_hex(&bytes);
                if let Some(first) = by_sha.insert(sha256.clone(), row.line) {
                    problems.push(format!("line {}: file `{name}` is the same PDF as line {first}'s", row.line));
                    continue;
                }
                pdfs.insert(row.line, Pdf { bytes, sha256, text: found.text, text_note: found.text_note });
            }
            Err(why) => problems.push(format!("line {}: file `{name}` {why}", row.line)),
        }
    }
    progress.end();
    let summary = db.run_blocking(|conn| -> Result<HistorySummary> {
        let planned = plan(conn, rules, rows, &mut pdfs, &mut problems)?;
        if !problems.is_empty() {
            problems.sort_by_key(|p| line_of(p));
            return Err(many(std::mem::take(&mut problems)));
        }
        if dry_run {
            return Ok(outcomes(&planned, true));
        }
        // The PDFs are durable before any row names them (DESIGN.md §6).
        for p in &planned {
            if let (false, Some(pdf)) = (p.unchanged, &p.pdf) {
                let stored = store.put(&pdf.bytes)?;
                debug_assert_eq!(stored.sha256, pdf.sha256);
            }
        }
        conn.transaction(|conn| write(conn, actor, &planned, now))
    })?;
    Ok(summary)
}

fn line_of(problem: &str) -> u64 {
    problem.strip_prefix("line ").and_then(|s| s.split(':').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Checks each row against the registry and the cycles; collects what is wrong.
fn plan<'a>(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    rows: &'a [ManifestRow],
    pdfs: &mut HashMap<u64, Pdf>,
    problems: &mut Vec<String>,
) -> Result<Vec<Planned<'a>>> {
    let mut planned = Vec::new();
    let mut seen: HashMap<(i64, i32), u64> = HashMap::new();
    for row in rows {
        let r = &row.round;
        let bad = |problems: &mut Vec<String>, what: String| problems.push(format!("line {}: {what}", row.line));
        let Some(city) = db::cities::find_by_slug(conn, &r.city)? else {
            bad(problems, format!("city: `{}` is not a city of the registry", r.city));
            continue;
        };
        let designation_year = chrono::Datelike::year(&city.designation_date);
        let number = match r.round.cycle_number(designation_year) {
            Ok(n) => n as i32,
            Err(e) => {
                bad(problems, e.to_string());
                continue;
            }
        };
        if let Some(first) = seen.insert((city.id, number), row.line) {
            bad(problems, format!("the same round of `{}` as line {first}", r.city));
            continue;
        }
        let regular_due = rules.due_date(designation_year, number as u32);
        let cycle_id = db::history::cycle_id(conn, city.id, number)?;
        let pdf = pdfs.remove(&row.line);
        let mut unchanged = false;
        if let Some(id) = cycle_id {
            match db::history::of_cycle(conn, id)? {
                Some(before) => match differences(&before, r, pdf.as_ref()) {
                    None => unchanged = true,
                    Some(diff) => {
                        bad(
                            problems,
                            format!(
                                "this round was imported before with other facts ({diff}); history is not rewritten"
                            ),
                        );
                        continue;
                    }
                },
                None if db::history::has_work(conn, id)? => {
                    bad(problems, "this round has a draft or versions in the system; it is not past history".into());
                    continue;
                }
                None => {}
            }
        }
        if let (false, Some(p)) = (unchanged, &pdf)
            && let Some(entry) = db::history::archive_holding(conn, &p.sha256)?
        {
            bad(problems, format!("file `{}` is already archived (archive {entry})", r.file.as_deref().unwrap_or("")));
            continue;
        }
        let tz = CityTimeZone::parse(&city.time_zone).map_or(chrono_tz::UTC, CityTimeZone::tz);
        planned.push(Planned {
            row,
            city_id: city.id,
            city_slug: city.slug,
            city_field: city.field,
            tz,
            number,
            regular_due,
            cycle_id,
            unchanged,
            pdf,
        });
    }
    Ok(planned)
}

/// How the stored facts of a round differ from a row's, if they do.
fn differences(before: &db::history::HistoryRound, r: &PastRound, pdf: Option<&Pdf>) -> Option<String> {
    let opt = |d: Option<NaiveDate>| d.map_or_else(|| "none".to_owned(), |d| d.to_string());
    let mut diff = Vec::new();
    if before.due_date != r.due_date {
        diff.push(format!("due_date {}", before.due_date));
    }
    if before.received_on != r.received_on {
        diff.push(format!("received_on {}", opt(before.received_on)));
    }
    if before.decision != r.decision.as_str() || before.decided_on != r.decided_on {
        diff.push(format!("decision {} on {}", before.decision, opt(before.decided_on)));
    }
    if before.revision_due != r.revision_due {
        diff.push(format!("revision_due {}", opt(before.revision_due)));
    }
    if before.language != r.language.as_str() {
        diff.push(format!("language {}", before.language));
    }
    if before.pdf_sha256.as_deref() != pdf.map(|p| p.sha256.as_str()) {
        diff.push(format!("file {}", before.file_name.as_deref().unwrap_or("none")));
    }
    if before.notes != r.notes {
        diff.push("notes".to_owned());
    }
    (!diff.is_empty()).then(|| diff.join(", "))
}

/// Noon of a local date in the city's time zone, as UTC: the moment an imported date stands for,
/// safely inside that day wherever the city is.
fn local_noon(date: NaiveDate, tz: chrono_tz::Tz) -> NaiveDateTime {
    let noon = date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN));
    tz.from_local_datetime(&noon).earliest().map_or(noon, |t| t.naive_utc())
}

fn outcome_of(r: &PastRound) -> &'static str {
    match r.days_late() {
        None => "never_received",
        Some(0) => "on_time",
        Some(_) => "late",
    }
}

fn outcomes(planned: &[Planned<'_>], dry_run: bool) -> HistorySummary {
    let mut s = HistorySummary { dry_run, ..HistorySummary::default() };
    for p in planned {
        let r = &p.row.round;
        if p.unchanged {
            s.unchanged += 1;
        } else {
            s.imported += 1;
            s.archived += usize::from(p.pdf.is_some());
        }
        s.rounds.push(RoundOutcome {
            line: p.row.line,
            city: p.city_slug.clone(),
            cycle_number: p.number,
            due_date: r.due_date,
            action: if p.unchanged { "unchanged" } else { "imported" },
            outcome: outcome_of(r),
            days_late: r.days_late().filter(|d| *d > 0),
            cycle_id: p.cycle_id,
            archive_id: None,
            text_note: p.pdf.as_ref().and_then(|p| p.text_note.clone()),
        });
    }
    s
}

/// Writes the planned rounds; inside the import's transaction.
fn write(conn: &mut Conn<'_>, actor: &Actor, planned: &[Planned<'_>], now: NaiveDateTime) -> Result<HistorySummary> {
    let mut summary = outcomes(planned, false);
    for (p, outcome) in planned.iter().zip(summary.rounds.iter_mut()) {
        if p.unchanged {
            continue;
        }
        let r = &p.row.round;
        let cycle_id = match p.cycle_id {
            Some(id) => id,
            None => {
                let city = db::cycles::SyncCity {
                    id: p.city_id,
                    slug: p.city_slug.clone(),
                    field: p.city_field.clone(),
                    designation_date: NaiveDate::MIN,
                };
                let plan = CyclePlan {
                    number: p.number as u32,
                    period_start_year: r.round.end_year() - 4,
                    due_date: p.regular_due,
                };
                db::cycles::insert_missing(conn, &city, &[plan], now)?;
                db::history::cycle_id(conn, p.city_id, p.number)?.ok_or(db::DbError::NotFound)?
            }
        };
        db::history::close_cycle(conn, cycle_id, r.due_date, r.due_date != p.regular_due)?;
        let mut cancelled = 0;
        for kind in ["deadline", "revision"] {
            cancelled += db::reminders::cancel_pending(conn, cycle_id, kind, now)?;
        }
        let mut archive_id = None;
        if let Some(received_on) = r.received_on {
            let digest = match &p.pdf {
                Some(pdf) => pdf.sha256.clone(),
                // A version needs a digest of its sources: here, of the facts that stand for them.
                None => storage::sha256_hex(format!("history:{}:{}:{received_on}", p.city_slug, p.number).as_bytes()),
            };
            let text = p.pdf.as_ref().map_or("", |pdf| pdf.text.as_str());
            let submitted_by = format!("history import ({})", actor.name);
            let submission_id = db::submissions::insert_submission(
                conn,
                &db::submissions::NewSubmission {
                    cycle_id,
                    version: 1,
                    report_markdown: text,
                    action_plan_markdown: "",
                    bundle_sha256: &digest,
                    submitted_by: &submitted_by,
                    submitted_at: local_noon(received_on, p.tz),
                    late: received_on > r.due_date,
                },
                &[],
            )?;
            if let (Some(decided_on), decision) = (r.decided_on, r.decision) {
                let (kind, revision_due, accepted) = match decision {
                    PastDecision::Accepted => ("accept", None, Some(digest.clone())),
                    // The decision row needs a deadline: the decision's date when the manifest
                    // gives none.
                    PastDecision::RevisionRequested => {
                        ("request_revision", Some(r.revision_due.unwrap_or(decided_on)), None)
                    }
                    PastDecision::None => unreachable!("a decision date comes with a decision (domain::history)"),
                };
                db::submissions::insert_decision(
                    conn,
                    &db::submissions::DecisionRow {
                        submission_id,
                        decision: kind.to_owned(),
                        comments: (kind == "request_revision")
                            .then(|| "imported from the Secretariat's records".to_owned()),
                        revision_due,
                        accepted_sha256: accepted,
                        decided_by: submitted_by.clone(),
                        decided_at: local_noon(decided_on, p.tz),
                    },
                )?;
            }
            if let Some(pdf) = &p.pdf {
                // Public from the decision date when accepted; never otherwise.
                let published = match (r.decision, r.decided_on) {
                    (PastDecision::Accepted, Some(decided_on)) => Some(decided_on.and_time(NaiveTime::MIN)),
                    _ => None,
                };
                let edges = storage::edges_sha256(&pdf.bytes);
                let entry = db::archive::insert(
                    conn,
                    &db::archive::NewArchivedDocument {
                        submission_id,
                        pdf_sha256: &pdf.sha256,
                        pdf_bytes: pdf.bytes.len() as i64,
                        bundle: None,
                        renderer_version: RECEIVED,
                        template_version: NO_TEMPLATE,
                        archived_at: now,
                        published_at: published,
                        public_since: super::archive::public_since(published, now),
                        pdf_edges_sha256: &edges,
                    },
                )?;
                archive_id = Some(entry.id);
            }
            db::cycles::refresh_progress(conn, cycle_id)?;
        }
        db::history::insert(
            conn,
            &db::history::NewHistoryRound {
                cycle_id,
                due_date: r.due_date,
                received_on: r.received_on,
                decision: r.decision.as_str(),
                decided_on: r.decided_on,
                language: r.language.as_str(),
                file_name: r.file.as_deref(),
                pdf_sha256: p.pdf.as_ref().map(|pdf| pdf.sha256.as_str()),
                text_note: p.pdf.as_ref().and_then(|pdf| pdf.text_note.as_deref()),
                notes: &r.notes,
                imported_by: &actor.name,
                imported_at: now,
                revision_due: r.revision_due,
            },
        )?;
        let details = json!({
            "city": p.city_slug,
            "cycle_number": p.number,
            "due_date": r.due_date.to_string(),
            "received_on": r.received_on.map(|d| d.to_string()),
            "decision": r.decision.as_str(),
            "decided_on": r.decided_on.map(|d| d.to_string()),
            "revision_due": r.revision_due.map(|d| d.to_string()),
            "outcome": outcome.outcome,
            "days_late": outcome.days_late,
            "file": r.file,
            "pdf_sha256": p.pdf.as_ref().map(|pdf| pdf.sha256.as_str()),
            "archive_id": archive_id,
            "reminders_cancelled": cancelled,
            "line": p.row.line,
        });
        audit(conn, actor, now, "history.import_round", ("cycle", &cycle_id.to_string()), details)?;
        outcome.cycle_id = Some(cycle_id);
        outcome.archive_id = archive_id;
    }
    if summary.imported > 0 {
        let details =
            json!({ "imported": summary.imported, "unchanged": summary.unchanged, "archived": summary.archived });
        audit(conn, actor, now, "history.import", ("history", "*"), details)?;
    }
    Ok(summary)
}
