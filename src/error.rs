//! The error of the use cases in [`crate::workflow`], shared by the HTTP API (which maps each
//! variant to a status) and the CLI (which prints it and exits non-zero).

use crate::db::DbError;
use crate::domain::Invalid;
use crate::domain::auth::Denied;

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
    /// The request conflicts with what is stored (409).
    #[error("{0}")]
    Conflict(String),
    #[error("permission denied")]
    Denied(Denied),
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
