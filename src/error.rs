//! The error of the use cases in [`crate::workflow`], shared by the HTTP API (which maps each
//! variant to a status) and the CLI (which prints it and exits non-zero).

/// The store's error, which [`Error::Db`] carries.
pub use crate::db::DbError;
use crate::domain::Invalid;
use crate::domain::auth::Denied;
use crate::render::{Finding, RenderError};
use crate::storage::StorageError;
use crate::storage::bundle::BundleError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is well-formed but not acceptable (422).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Several inputs are not acceptable, each named (422), e.g. the bad lines of a CSV file.
    #[error("{summary}")]
    InvalidMany { summary: String, problems: Vec<String> },
    #[error("{what} `{key}` does not exist")]
    NotFound { what: &'static str, key: String },
    /// A received document's source bundle was asked for (404 `no_source_bundle`): it has none.
    #[error(
        "archived report {id} was received as a PDF (a past report imported from the Secretariat's records): it \
         was not rendered here and has no source bundle; its PDF is the whole document"
    )]
    NoSourceBundle { id: i64 },
    /// The request conflicts with what is stored (409).
    #[error("{0}")]
    Conflict(String),
    #[error("permission denied")]
    Denied(Denied),
    /// The report check found errors that block this step (422, with every finding).
    #[error("{summary}")]
    CheckFailed { summary: String, findings: Vec<Finding> },
    /// An input is over a size limit (413); the message names the limit.
    #[error("{0}")]
    TooLarge(String),
    /// Too much rendering at once: no slot freed within the queue deadline (503 `render_busy`,
    /// with `Retry-After`); see [`crate::workflow::admission`].
    #[error("{message}")]
    Busy { retry_after_secs: u64, message: String },
    /// One caller asked for too much (429 `rate_limited`, with `Retry-After`).
    #[error("{message}")]
    RateLimited { retry_after_secs: u64, message: String },
    /// The renderer refused the input (422) or failed (500).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The archive store failed or found a stored file damaged.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A stored source bundle could not be written or read back.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Db(DbError),
}

impl Error {
    pub fn not_found(what: &'static str, key: impl Into<String>) -> Self {
        Self::NotFound { what, key: key.into() }
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(what) => Self::Conflict(format!("this conflicts with an existing record ({what})")),
            other => Self::Db(other),
        }
    }
}

impl From<Denied> for Error {
    fn from(d: Denied) -> Self {
        Self::Denied(d)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
