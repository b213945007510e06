//! Persistence: the only module that imports diesel.
//!
//! One code path serves both stores. [`Db`] holds a connection pool for SQLite (the embedded
//! default; WAL, foreign keys on, a busy timeout) or PostgreSQL (production), chosen from the URL
//! scheme. Queries are plain functions over a [`Conn`]; the [`with_conn!`] macro expands a query
//! body once per backend, so each is type-checked against both and any SQL difference stays
//! explicit and local. [`Db::run`] moves the work onto the blocking pool, inside the caller's
//! tracing span, so no query ever blocks an async thread.
//!
//! An unreachable store fails fast (DESIGN.md §6): a checkout waits at most
//! [`DEFAULT_CHECKOUT_TIMEOUT`] (configurable, [`Db::with_checkout_timeout`]) before
//! [`DbError::Unavailable`], and [`Db::ping`] takes its own, shorter bound. An outage is logged
//! once when it starts and once when the store answers again ([`Outage`]), not on every request;
//! the pool keeps trying to reconnect in the background, so recovery needs nobody.

pub mod archive;
pub mod audit;
pub mod backup;
pub mod catalog;
pub mod cities;
pub mod contacts;
pub mod cycles;
pub mod history;
pub mod reminders;
mod schema;
pub mod sessions;
pub mod submissions;
pub mod tokens;

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ConnectionManager, CustomizeConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Runs `$body` with `$c` bound to the concrete connection (`&mut SqliteConnection` or
/// `&mut PgConnection`), so the same diesel code is compiled for both backends.
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite(inner) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = &mut **inner;
                $body
            }
            $crate::db::Conn::Postgres(inner) => {
                let $c: &mut ::diesel::pg::PgConnection = &mut **inner;
                $body
            }
        }
    };
}
pub(crate) use with_conn;

/// What went wrong in the store, sorted by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no such row")]
    NotFound,
    /// A unique constraint refused the write; the text names the constraint or column.
    #[error("already exists ({0})")]
    Conflict(String),
    /// A foreign key points at nothing.
    #[error("refers to a row that does not exist ({0})")]
    MissingReference(String),
    /// A CHECK or NOT NULL constraint refused the write: a validation gap above the database.
    #[error("rejected by a database constraint ({0})")]
    Constraint(String),
    #[error("the database is unreachable or the pool is exhausted: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Query(DieselError),
    #[error("applying migrations failed: {0}")]
    Migration(String),
    #[error("bad database URL: {0}")]
    Url(String),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let what = info.constraint_name().map_or_else(|| info.message().to_owned(), str::to_owned);
                match kind {
                    DatabaseErrorKind::UniqueViolation => Self::Conflict(what),
                    DatabaseErrorKind::ForeignKeyViolation => Self::MissingReference(what),
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => Self::Constraint(what),
                    DatabaseErrorKind::ClosedConnection => Self::Unavailable(info.message().to_owned()),
                    _ => Self::Query(DieselError::DatabaseError(kind, info)),
                }
            }
            other => Self::Query(other),
        }
    }
}

/// Which store a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme: `postgres://`/`postgresql://` or `sqlite://`.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite://") {
            Ok(Self::Sqlite)
        } else {
            Err(DbError::Url("expected a URL starting with sqlite:// or postgres://".into()))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A borrowed connection of either backend; query functions take `&mut Conn`.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl Conn<'_> {
    /// Runs `f` in a transaction, rolled back if `f` fails. On SQLite it takes the write lock up
    /// front (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing on a
    /// lock upgrade.
    pub fn transaction<T, E>(&mut self, f: impl FnOnce(&mut Conn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        self.in_transaction(|conn| f(conn).map_err(Exit::Caller)).map_err(|e| match e {
            Exit::Db(e) => E::from(DbError::from(e)),
            Exit::Caller(e) => e,
        })
    }

    /// Runs `f` in a transaction that is always rolled back and returns what `f` returned: a dry
    /// run that shows what a change would do and leaves nothing behind.
    pub fn rolled_back<T, E>(&mut self, f: impl FnOnce(&mut Conn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        match self.in_transaction(|conn| Err::<Infallible, _>(Exit::Caller(f(conn)))) {
            Ok(never) => match never {},
            Err(Exit::Caller(result)) => result,
            Err(Exit::Db(e)) => Err(E::from(DbError::from(e))),
        }
    }

    /// The backend's transaction around `f` (committed on `Ok`, rolled back on `Err`).
    fn in_transaction<T, X>(&mut self, f: impl FnOnce(&mut Conn<'_>) -> Result<T, Exit<X>>) -> Result<T, Exit<X>> {
        match self {
            Conn::Sqlite(c) => c.immediate_transaction(|c| f(&mut Conn::Sqlite(c))),
            Conn::Postgres(c) => c.transaction(|c| f(&mut Conn::Postgres(c))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// What leaves a diesel transaction: diesel's own error (diesel needs to build one), or what the
/// caller's closure gave.
enum Exit<X> {
    Db(DieselError),
    Caller(X),
}

impl<X> From<DieselError> for Exit<X> {
    fn from(e: DieselError) -> Self {
        Self::Db(e)
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(r2d2::Pool<ConnectionManager<SqliteConnection>>),
    Postgres(r2d2::Pool<ConnectionManager<PgConnection>>),
}

/// Per-connection SQLite settings: WAL for concurrent readers, foreign keys enforced, and a busy
/// timeout so a writer waits for another instead of failing.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(r2d2::Error::QueryError)
    }
}

/// Per-connection PostgreSQL settings: plan every prepared statement for its actual parameters.
/// diesel caches prepared statements, and after five runs PostgreSQL may switch one to a generic
/// plan; for `= ANY($1)` over a large id array that plan scanned the whole reminder ledger (63 s
/// per sweep at 100,000 cities, see BENCHMARKS.md).
#[derive(Debug)]
struct PostgresSettings;

impl CustomizeConnection<PgConnection, r2d2::Error> for PostgresSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SET plan_cache_mode = force_custom_plan").map_err(r2d2::Error::QueryError)
    }
}

/// How long a request waits for a pooled connection before the store counts as unavailable.
pub const DEFAULT_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the store is in an outage, so that its start and its end are each logged once.
#[derive(Debug, Default)]
struct Outage {
    down: AtomicBool,
}

impl Outage {
    /// A checkout failed; `true` (and one log line) when this starts an outage.
    fn failed(&self, backend: Backend, error: &str) -> bool {
        let started = !self.down.swap(true, Ordering::Relaxed);
        if started {
            tracing::error!(
                db.backend = backend.as_str(),
                error,
                "the database is unavailable; requests answer 503 until it is back"
            );
        }
        started
    }

    /// A checkout succeeded; `true` (and one log line) when this ends an outage.
    fn answered(&self, backend: Backend) -> bool {
        let ended = self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed);
        if ended {
            tracing::warn!(db.backend = backend.as_str(), "the database is available again");
        }
        ended
    }
}

/// The connection pool, cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// How long a checkout waits for a connection ([`DEFAULT_CHECKOUT_TIMEOUT`]).
    checkout_timeout: Duration,
    outage: Arc<Outage>,
}

impl Db {
    /// Opens a pool for `url` and checks one connection. A SQLite file is made private first
    /// (see [`prepare_sqlite_file`]). Opening waits up to 10 s for the store (it may be starting
    /// too); later checkouts wait [`DEFAULT_CHECKOUT_TIMEOUT`].
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let timeout = Duration::from_secs(10);
        let pool = match Backend::from_url(url)? {
            Backend::Sqlite => {
                let path = url.trim_start_matches("sqlite://");
                if path.is_empty() {
                    return Err(DbError::Url("sqlite:// needs a file path".into()));
                }
                prepare_sqlite_file(Path::new(path))?;
                let pool = r2d2::Pool::builder()
                    .max_size(8)
                    .connection_timeout(timeout)
                    .error_handler(Box::new(r2d2::NopErrorHandler))
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(ConnectionManager::<SqliteConnection>::new(path))
                    .map_err(|e| DbError::Unavailable(e.to_string()))?;
                Pool::Sqlite(pool)
            }
            Backend::Postgres => {
                // Failed connection attempts are not logged one by one: `Outage` logs the outage.
                let pool = r2d2::Pool::builder()
                    .max_size(10)
                    .connection_timeout(timeout)
                    .error_handler(Box::new(r2d2::NopErrorHandler))
                    .connection_customizer(Box::new(PostgresSettings))
                    .build(ConnectionManager::<PgConnection>::new(url))
                    .map_err(|e| DbError::Unavailable(e.to_string()))?;
                Pool::Postgres(pool)
            }
        };
        Ok(Self { pool, checkout_timeout: DEFAULT_CHECKOUT_TIMEOUT, outage: Arc::default() })
    }

    /// The same pool, whose checkouts wait at most `timeout` for a connection.
    pub fn with_checkout_timeout(mut self, timeout: Duration) -> Self {
        self.checkout_timeout = timeout;
        self
    }

    /// The pool's connections now: `(open, idle, most)`.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        match &self.pool {
            Pool::Sqlite(p) => (p.state().connections, p.state().idle_connections, p.max_size()),
            Pool::Postgres(p) => (p.state().connections, p.state().idle_connections, p.max_size()),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `f` on a pooled connection on the current thread: for the CLI and blocking jobs.
    pub fn run_blocking<T, E>(&self, f: impl FnOnce(&mut Conn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        self.run_within(self.checkout_timeout, f)
    }

    /// [`Self::run_blocking`], waiting at most `timeout` for a connection.
    fn run_within<T, E>(&self, timeout: Duration, f: impl FnOnce(&mut Conn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let backend = self.backend();
        let unavailable = |e: r2d2::PoolError| {
            self.outage.failed(backend, &e.to_string());
            E::from(DbError::Unavailable(e.to_string()))
        };
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut c = p.get_timeout(timeout).map_err(unavailable)?;
                self.outage.answered(backend);
                f(&mut Conn::Sqlite(&mut c))
            }
            Pool::Postgres(p) => {
                let mut c = p.get_timeout(timeout).map_err(unavailable)?;
                self.outage.answered(backend);
                f(&mut Conn::Postgres(&mut c))
            }
        }
    }

    /// Runs `f` on a pooled connection on the blocking thread pool, inside the current span.
    pub async fn run<T, E>(&self, f: impl FnOnce(&mut Conn<'_>) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| db.run_blocking(f)))
            .await
            .unwrap_or_else(|join| Err(E::from(DbError::Unavailable(format!("database task failed: {join}")))))
    }

    /// Applies the pending migrations of this backend; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        self.run_blocking(|conn| {
            let applied = match conn {
                Conn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(versions),
                Conn::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(versions),
            };
            applied.map_err(|e| DbError::Migration(e.to_string()))
        })
    }

    /// Checks the database answers a trivial query, waiting at most `within` for a connection
    /// (a readiness probe must answer quickly, whatever the store does).
    pub fn ping(&self, within: Duration) -> Result<(), DbError> {
        self.run_within(within, |conn| {
            with_conn!(conn, |c| diesel::sql_query("SELECT 1").execute(c).map(drop).map_err(DbError::from))
        })
    }
}

/// Permission bits of a SQLite database file: it holds token hashes and contact addresses, so
/// only its owner may read it (SQLite gives its `-wal` and `-shm` files the same bits).
const SQLITE_FILE_MODE: u32 = 0o600;

/// Permission bits of a directory created to hold a SQLite database (the data directory).
const SQLITE_DIR_MODE: u32 = 0o700;

/// Makes the SQLite file private before SQLite opens it: a missing directory is created 0700, a
/// missing file 0600, and an existing file that others may read or write is tightened to 0600
/// (with a warning, as the operator may not expect it). An existing directory is left as it is:
/// it may hold other things.
fn prepare_sqlite_file(path: &Path) -> Result<(), DbError> {
    use std::fs::{DirBuilder, OpenOptions, Permissions};
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

    if path.to_str().is_some_and(|p| p == ":memory:" || p.starts_with("file:")) {
        return Ok(());
    }
    let unavailable =
        |what: &str, e: std::io::Error| DbError::Unavailable(format!("cannot {what} {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        DirBuilder::new()
            .recursive(true)
            .mode(SQLITE_DIR_MODE)
            .create(dir)
            .map_err(|e| DbError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
    }
    match OpenOptions::new().write(true).create_new(true).mode(SQLITE_FILE_MODE).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode =
                std::fs::metadata(path).map_err(|e| unavailable("read the permissions of", e))?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, Permissions::from_mode(SQLITE_FILE_MODE))
                    .map_err(|e| unavailable("restrict the permissions of", e))?;
                tracing::warn!(
                    path = %path.display(),
                    was = format!("{:04o}", mode & 0o7777),
                    "the SQLite database was readable by others; its permissions are now 0600"
                );
            }
            Ok(())
        }
        Err(e) => Err(unavailable("create", e)),
    }
}

fn versions(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    applied.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two migration trees must name the same migrations in the same order.
    #[test]
    fn migration_names_match_across_backends() {
        let names = |dir: &str| {
            let mut names: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let sqlite = names("migrations/sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, names("migrations/postgres"));
        for name in &sqlite {
            for file in ["up.sql", "down.sql"] {
                for dir in ["migrations/sqlite", "migrations/postgres"] {
                    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(name).join(file);
                    assert!(path.is_file(), "{} is missing", path.display());
                }
            }
        }
    }

    #[test]
    fn an_outage_is_logged_when_it_starts_and_when_it_ends() {
        let outage = Outage::default();
        assert!(!outage.answered(Backend::Postgres), "no outage yet");
        assert!(outage.failed(Backend::Postgres, "refused"));
        assert!(!outage.failed(Backend::Postgres, "refused"), "the same outage");
        assert!(outage.answered(Backend::Postgres));
        assert!(!outage.answered(Backend::Postgres));
        assert!(outage.failed(Backend::Postgres, "refused"), "a new outage");
    }

    #[test]
    fn a_sqlite_database_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data").join("mmr");
        let file = data.join("mmr.sqlite3");
        let db = Db::connect(&format!("sqlite://{}", file.display())).unwrap();
        db.migrate().unwrap();
        assert_eq!(mode(&data), 0o700, "a created data directory");
        assert_eq!(mode(&tmp.path().join("data")), 0o700, "every directory created on the way");
        assert_eq!(mode(&file), 0o600, "a created database file");
        let wal = data.join("mmr.sqlite3-wal");
        assert!(wal.exists(), "WAL mode keeps a -wal file");
        assert_eq!(mode(&wal), 0o600, "SQLite gives the -wal file the database's bits");
        drop(db);

        // An existing file others can read is tightened; an existing directory is left alone.
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        let old = shared.join("old.sqlite3");
        std::fs::copy(&file, &old).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        Db::connect(&format!("sqlite://{}", old.display())).unwrap().ping(Duration::from_secs(1)).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(mode(&shared), 0o755);
    }

    #[test]
    fn backend_from_url_scheme() {
        assert_eq!(Backend::from_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("sqlite://data/mmr.db").unwrap(), Backend::Sqlite);
        assert!(Backend::from_url("mysql://x").is_err());
        assert!(Backend::from_url("data/mmr.db").is_err());
    }
}
