//! The store's error type. Every variant says what went wrong with which file or row.

use std::path::PathBuf;

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a SQLite database (corrupt or another kind of file); it was left untouched"
    )]
    NotADatabase { path: PathBuf },
    #[error("the database at {path} was written by a newer version of Corral ({detail})")]
    NewerSchema { path: PathBuf, detail: String },
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("a stored {what} could not be read: {detail}")]
    CorruptRow { what: &'static str, detail: String },
    #[error("the run-event writer has stopped")]
    WriterClosed,
    #[error("{failed} run events could not be written; first error: {first}")]
    EventsNotWritten { failed: u64, first: String },
}

impl StoreError {
    pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        StoreError::CorruptRow {
            what,
            detail: detail.to_string(),
        }
    }

    /// True when the error is a unique-constraint violation (e.g. a duplicate project name).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(err) => err.to_string().contains("UNIQUE constraint failed"),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
