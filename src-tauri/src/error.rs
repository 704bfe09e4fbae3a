//! The error every command returns: a machine-readable `kind` the UI branches on, the message
//! to show, and a fix when there is one. Built from the engine's typed error, never from text.

use corral_engine::EngineError;
use serde::Serialize;
use specta::Type;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    DataDirNotWritable,
    DatabaseCorrupt,
    DatabaseTooNew,
    UnsupportedDatabase,
    ProjectPathMissing,
    ProjectPathNotDir,
    NotAGitRepo,
    RepoHasNoCommits,
    DuplicateProjectName,
    DuplicateProjectSource,
    ProjectNotFound,
    TaskNotFound,
    AmbiguousTask,
    CrossProjectDependency,
    SelfDependency,
    DependencyCycle,
    DependencyNotFound,
    InvalidInput,
    InvalidSetting,
    ProjectBusy,
    TaskBusy,
    Git,
    RunNotFound,
    MergeTargetCheckedOut,
    MergeConflict,
    NotMergeable,
    NotRunnable,
    MissingApiKey,
    NoFollowUp,
    Keychain,
    Sandbox,
    Database,
    /// The engine could not start; the message says why.
    EngineUnavailable,
    /// An id from the UI did not parse.
    InvalidId,
    /// A bug: a command panicked. The app keeps running.
    Internal,
}

#[derive(Debug, Clone, Serialize, Type, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    pub fix: Option<String>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            fix: None,
        }
    }
}

fn kind_of(err: &EngineError) -> ErrorKind {
    match err {
        EngineError::DataDirNotWritable { .. } => ErrorKind::DataDirNotWritable,
        EngineError::DatabaseCorrupt { .. } => ErrorKind::DatabaseCorrupt,
        EngineError::DatabaseTooNew { .. } => ErrorKind::DatabaseTooNew,
        EngineError::UnsupportedDatabase { .. } => ErrorKind::UnsupportedDatabase,
        EngineError::ProjectPathMissing { .. } => ErrorKind::ProjectPathMissing,
        EngineError::ProjectPathNotDir { .. } => ErrorKind::ProjectPathNotDir,
        EngineError::NotAGitRepo { .. } => ErrorKind::NotAGitRepo,
        EngineError::RepoHasNoCommits { .. } => ErrorKind::RepoHasNoCommits,
        EngineError::DuplicateProjectName { .. } => ErrorKind::DuplicateProjectName,
        EngineError::DuplicateProjectSource { .. } => ErrorKind::DuplicateProjectSource,
        EngineError::ProjectNotFound { .. } => ErrorKind::ProjectNotFound,
        EngineError::TaskNotFound { .. } => ErrorKind::TaskNotFound,
        EngineError::AmbiguousTask { .. } => ErrorKind::AmbiguousTask,
        EngineError::CrossProjectDependency { .. } => ErrorKind::CrossProjectDependency,
        EngineError::SelfDependency { .. } => ErrorKind::SelfDependency,
        EngineError::DependencyCycle { .. } => ErrorKind::DependencyCycle,
        EngineError::DependencyNotFound { .. } => ErrorKind::DependencyNotFound,
        EngineError::Invalid(_) => ErrorKind::InvalidInput,
        EngineError::Setting(_) => ErrorKind::InvalidSetting,
        EngineError::ProjectBusy { .. } => ErrorKind::ProjectBusy,
        EngineError::TaskBusy { .. } => ErrorKind::TaskBusy,
        EngineError::Git { .. } => ErrorKind::Git,
        EngineError::RunNotFound { .. } => ErrorKind::RunNotFound,
        EngineError::MergeTargetCheckedOut { .. } => ErrorKind::MergeTargetCheckedOut,
        EngineError::MergeConflict { .. } => ErrorKind::MergeConflict,
        EngineError::NotMergeable { .. } => ErrorKind::NotMergeable,
        EngineError::NotRunnable { .. } => ErrorKind::NotRunnable,
        EngineError::MissingApiKey { .. } => ErrorKind::MissingApiKey,
        EngineError::NoFollowUp { .. } => ErrorKind::NoFollowUp,
        EngineError::Keychain { .. } => ErrorKind::Keychain,
        EngineError::Sandbox(_) => ErrorKind::Sandbox,
        EngineError::Store(_) => ErrorKind::Database,
        EngineError::Internal(_) => ErrorKind::Internal,
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        ApiError {
            kind: kind_of(&err),
            message: err.to_string(),
            fix: err.fix(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
