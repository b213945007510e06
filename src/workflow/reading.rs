//! Reading the archive as a caller: which entries a caller may see, what the public catalogue
//! says of them, and the files a caller may download. Shared by the JSON API and the pages, so the
//! two cannot disagree on what leaks.
//!
//! A published entry (publication date reached) is public. Before that only those who may read
//! the city's work see it; to everyone else it does not exist (404, "not found"), so nothing
//! unpublished leaks through a status code or a page. A file is refused as damaged (the
//! `archive_damaged` error) when the entry is marked damaged; opening it for reading, with the
//! checks before anything is sent, is [`storage::open_checked`], and a whole-file read is checked
//! against its name by [`storage::HashCheck`].

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::archive::{self, Alarm, Entry};
use super::catalog::{self, Record};
use super::catalog_index::CatalogIndex;
use crate::db::{Conn, Db};
use crate::domain::auth::{Action, CityRef, Principal, authorize};
use crate::domain::cycles::CycleRules;
use crate::error::{Error, Result};
use crate::storage::{self, ArchivedFile, DamageHook, StorageError};

/// Loads entry `id` if `caller` may see it: published by `now`, or readable as the city's work
/// (the city, its field's coordinator, the Secretariat). Anyone else gets "not found".
pub fn visible(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    caller: Option<&Principal>,
    id: i64,
    now: NaiveDateTime,
) -> Result<Entry> {
    let entry = archive::get(conn, rules, now, id)?;
    let city = CityRef { id: entry.cycle.record.city.id, field: &entry.cycle.record.city.field };
    let readable = authorize(caller, Action::ReadCityWork(city)).is_ok();
    if entry.is_published(now) || readable {
        Ok(entry)
    } else {
        Err(Error::not_found("archived report", id.to_string()))
    }
}

/// What the public catalogue says of a published entry: its record (Dublin Core terms, citation)
/// and the other published versions of the same city and cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub record: Record,
    pub others: Vec<Record>,
}

/// The catalogue's description of `entry`, once it is published by `now`; `None` before.
pub fn describe(conn: &mut Conn<'_>, entry: &Entry, now: NaiveDateTime) -> Result<Option<Described>> {
    if !entry.is_published(now) {
        return Ok(None);
    }
    let Some(record) = catalog::record(conn, entry.document.id, now)? else {
        return Ok(None);
    };
    let others = catalog::other_versions(conn, now, &record)?;
    Ok(Some(Described { record, others }))
}

/// Entry `id` as `caller` may see it ([`visible`]), with its description once published
/// ([`describe`]): what a report's page or its JSON shows.
pub fn entry(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    caller: Option<&Principal>,
    id: i64,
    now: NaiveDateTime,
) -> Result<(Entry, Option<Described>)> {
    let entry = visible(conn, rules, caller, id, now)?;
    let described = describe(conn, &entry, now)?;
    Ok((entry, described))
}

/// Which of an entry's two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFile {
    Pdf,
    SourceBundle,
}

impl ArchiveFile {
    /// The media type and the file name's extension.
    fn kind(self) -> (&'static str, &'static str) {
        match self {
            ArchiveFile::Pdf => ("application/pdf", "pdf"),
            ArchiveFile::SourceBundle => ("application/zip", "source.zip"),
        }
    }
}

/// File `which` of entry `id`, for `caller` to read: a published entry's file from the catalogue
/// `index` (brought up to the database's revision; what a download of a public file costs), any
/// other from the entry if `caller` may see it ([`visible`]). Refused as damaged when the entry is
/// marked damaged. Open it with [`storage::open_checked`].
pub fn file(
    conn: &mut Conn<'_>,
    index: &CatalogIndex,
    rules: &CycleRules,
    caller: Option<&Principal>,
    id: i64,
    which: ArchiveFile,
    now: NaiveDateTime,
) -> Result<ArchivedFile> {
    match index.sync(conn)?.public(id, now) {
        Some(record) => published_file(&record, which),
        None => entry_file(&visible(conn, rules, caller, id, now)?, which, now),
    }
}

/// File `which` of an entry the caller may see ([`visible`]); a received document has no source
/// bundle (`no_source_bundle`).
pub fn entry_file(entry: &Entry, which: ArchiveFile, now: NaiveDateTime) -> Result<ArchivedFile> {
    let d = &entry.document;
    let facts = match which {
        ArchiveFile::Pdf => (&d.pdf_sha256, d.pdf_bytes, &d.pdf_edges_sha256),
        ArchiveFile::SourceBundle => match (&d.bundle_sha256, d.bundle_bytes) {
            (Some(sha256), Some(bytes)) => (sha256, bytes, &d.bundle_edges_sha256),
            _ => return Err(Error::NoSourceBundle { id: d.id }),
        },
    };
    let c = &entry.cycle.record;
    let name = |extension: &str| download_name(&c.city.name, &c.city.slug, &c.city.field, c.period_end_year, extension);
    checked_file(which, facts, d.last_fixity_ok, d.archived_at, entry.is_published(now), name)
}

/// File `which` of a published entry, from its catalogue record; a received document has no
/// source bundle (`no_source_bundle`).
pub fn published_file(r: &Record, which: ArchiveFile) -> Result<ArchivedFile> {
    let facts = match which {
        ArchiveFile::Pdf => (&r.pdf_sha256, r.pdf_bytes, &r.pdf_edges_sha256),
        ArchiveFile::SourceBundle => match (&r.bundle_sha256, r.bundle_bytes) {
            (Some(sha256), Some(bytes)) => (sha256, bytes, &r.bundle_edges_sha256),
            _ => return Err(Error::NoSourceBundle { id: r.id }),
        },
    };
    let name = |extension: &str| download_name(&r.city_name, &r.city_slug, &r.field_slug, r.period_end_year, extension);
    checked_file(which, facts, r.last_fixity_ok, r.archived_at, true, name)
}

/// The file `which` of an entry (its SHA-256, recorded size and edge digest), named by `name` from
/// its extension; refused as damaged when the entry is marked damaged (by the fixity check or a
/// reader that found its files changed or missing), or the recorded size is negative.
fn checked_file(
    which: ArchiveFile,
    (sha256, bytes, edges): (&String, i64, &Option<String>),
    last_fixity_ok: Option<bool>,
    archived_at: NaiveDateTime,
    public: bool,
    name: impl FnOnce(&str) -> String,
) -> Result<ArchivedFile> {
    let (content_type, extension) = which.kind();
    if last_fixity_ok == Some(false) {
        return Err(damaged(sha256, "this entry's files were found damaged or missing"));
    }
    let bytes = recorded_size(sha256, bytes)?;
    Ok(ArchivedFile {
        sha256: sha256.to_owned(),
        bytes,
        content_type,
        modified: archived_at,
        public,
        file_name: name(extension),
        edges_sha256: edges.clone(),
    })
}

/// A recorded file size, which a negative value makes damaged.
pub fn recorded_size(sha256: &str, bytes: i64) -> Result<u64> {
    u64::try_from(bytes).map_err(|_| damaged(sha256, "the recorded size is negative"))
}

fn damaged(sha256: &str, problem: &str) -> Error {
    Error::Storage(StorageError::Damaged { sha256: sha256.to_owned(), problem: problem.to_owned() })
}

/// The name a download is saved under, in Unicode: the city's name in lowercase with dashes for
/// spaces, the creative field, `mmr` and the last year of the period, e.g.
/// `östersund-gastronomy-mmr-2026.pdf`.
pub fn download_name(city_name: &str, city_slug: &str, field: &str, end_year: i32, extension: &str) -> String {
    let mut city = String::with_capacity(city_name.len());
    for ch in city_name.to_lowercase().chars() {
        let ch = if ch.is_alphanumeric() { ch } else { '-' };
        if !(ch == '-' && (city.is_empty() || city.ends_with('-'))) {
            city.push(ch);
        }
    }
    let city = match city.trim_end_matches('-') {
        "" => city_slug,
        name => name,
    };
    format!("{city}-{}-mmr-{end_year}.{extension}", field.replace('_', "-"))
}

/// What a reader does on finding a stored file damaged: the entries holding it are marked
/// damaged and the Secretariat alarmed, once per entry ([`archive::report_damage`]). Call the
/// hook on a blocking thread.
pub fn damage_hook(
    db: Db,
    alarm: Option<Arc<Alarm>>,
    clock: Arc<dyn Fn() -> NaiveDateTime + Send + Sync>,
) -> DamageHook {
    Arc::new(move |sha256: &str, problem: &str| {
        if let Err(e) = archive::report_damage(&db, alarm.as_deref(), sha256, problem, clock()) {
            tracing::error!(error = %e, "a damaged archive file could not be recorded as damaged");
        }
    })
}

/// Opens a file found by [`file`] for reading, with the checks before anything is read
/// ([`storage::open_checked`]). Blocking.
pub fn open(store: &dyn storage::BlobStore, file: &ArchivedFile, damage: &DamageHook) -> Result<storage::BlobReader> {
    Ok(storage::open_checked(store, file, damage)?)
}
