//! `mmr backup DIR`: a copy of a running installation that restores on its own.
//!
//! The directory receives `mmr.sqlite3`, a consistent copy of the live SQLite database taken
//! while the server goes on writing ([`db::backup::sqlite_snapshot`]); `archive/`, the archived
//! files the copy's entries name, read back from the archive store (each checked against its
//! SHA-256 on the way) and written in the local store's layout, when the archive is a local
//! directory; and, last, `manifest.json`, which lists every archived file with its SHA-256 and
//! size, the copy's own SHA-256 and its row counts. A directory without `manifest.json` is an
//! interrupted backup. For an S3 archive the manifest lists the objects but none is copied: the
//! bucket is backed up with its own tools. On PostgreSQL nothing is copied: `pg_dump` does that.
//!
//! To restore, copy `mmr.sqlite3` and `archive/` into an empty data directory and start `mmr
//! serve` there (see the README).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use chrono::NaiveDateTime;
use serde_json::json;

use crate::db::{self, Backend, Db};
use crate::domain::Invalid;
use crate::error::{Error, Result};
use crate::storage::{BlobStore, LocalStore, StorageError, sha256_of_reader};

/// The database copy's file name in a backup (the name `mmr` looks for in a data directory).
pub const DATABASE_FILE: &str = "mmr.sqlite3";
/// The copied archive's directory in a backup (the default archive in a data directory).
pub const ARCHIVE_DIR: &str = "archive";
/// The manifest's file name; written last.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Size of the database copy.
    pub database_bytes: u64,
    /// Archived files listed in the manifest.
    pub files: usize,
    /// Whether they were copied into the backup (a local archive) or only listed (S3).
    pub copied: bool,
    /// Where the archive lives, as the store describes itself.
    pub archive: String,
    /// Rows of each counted table in the copy.
    pub rows: Vec<(&'static str, i64)>,
}

/// Backs up the SQLite database behind `db` and the archive in `store` into `dir`, a new or
/// empty directory; `copy_files` says whether the archived files are copied (a local archive)
/// or only listed (an S3 bucket).
pub fn backup(
    db: &Db,
    store: &dyn BlobStore,
    copy_files: bool,
    dir: &Path,
    now: NaiveDateTime,
) -> Result<BackupReport> {
    if db.backend() == Backend::Postgres {
        return Err(postgres_refused());
    }
    prepare_dir(dir)?;
    let database = dir.join(DATABASE_FILE);
    // Private like the live database; VACUUM INTO accepts an empty file.
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(&database).map_err(io("create", &database))?;
    let snapshot =
        db.run_blocking(|conn| db::backup::sqlite_snapshot(conn, &database))?.ok_or_else(postgres_refused)?;
    File::open(&database).and_then(|f| f.sync_all()).map_err(io("fsync", &database))?;
    let (database_sha256, database_bytes) =
        sha256_of_reader(File::open(&database).map_err(io("open", &database))?).map_err(io("read", &database))?;

    let copy = copy_files.then(|| LocalStore::open(dir.join(ARCHIVE_DIR))).transpose()?;
    let mut files = Vec::new();
    for entry in &snapshot.archived {
        // A received document (history import) has its PDF only.
        for (kind, sha256, bytes) in entry.files() {
            if let Some(copy) = &copy {
                let stored = copy.put(&store.get(sha256)?)?;
                debug_assert_eq!(stored.sha256, sha256, "get checked the bytes against their name");
            }
            files.push(json!({ "archive_id": entry.id, "submission_id": entry.submission_id, "kind": kind,
                "sha256": sha256, "bytes": bytes }));
        }
    }
    let manifest = json!({
        "format": "mmr-backup/1",
        "created_at": now.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "database": { "file": DATABASE_FILE, "sha256": database_sha256, "bytes": database_bytes,
            "rows": snapshot.rows.iter().map(|(t, n)| (t.to_string(), json!(n))).collect::<serde_json::Map<_, _>>() },
        "archive": { "source": store.describe(), "copied": copy_files,
            "dir": copy_files.then_some(ARCHIVE_DIR), "files": files },
    });
    write_durably(&dir.join(MANIFEST_FILE), format!("{manifest:#}\n").as_bytes())?;
    Ok(BackupReport {
        database_bytes,
        files: files.len(),
        copied: copy_files,
        archive: store.describe(),
        rows: snapshot.rows,
    })
}

/// Why a PostgreSQL database is not backed up here, and what does it.
fn postgres_refused() -> Error {
    Invalid::new(
        "MMR_DATABASE_URL",
        "mmr backup copies a SQLite database; for PostgreSQL use pg_dump (for example \
         `pg_dump -Fc -f mmr.dump \"$MMR_DATABASE_URL\"`) and back up the archive (MMR_ARCHIVE_URL) beside it",
    )
    .into()
}

/// Creates `dir` (0700: it holds the database) or accepts it when empty.
fn prepare_dir(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_none()) {
        Ok(true) => Ok(()),
        Ok(false) => {
            Err(Error::Conflict(format!("{} is not empty: a backup goes into a new or empty directory", dir.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io("create directory", dir))?;
            Ok(())
        }
        Err(e) => Err(io("read directory", dir)(e).into()),
    }
}

/// Writes `bytes` to a temporary name, fsyncs, renames it to `path` and fsyncs the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io("create", &tmp))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", &tmp))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("fsync directory", dir))?;
    Ok(())
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError::Io { op, path, source }
}
