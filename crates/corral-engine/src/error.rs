//! The engine's error type. Each variant has a machine-readable `kind()` (front ends branch on
//! it, never on message text), a message naming the problem, and, where one exists, a `fix()`.

use std::path::PathBuf;

use corral_core::{FailKind, SettingError, ValidationError};
use corral_git::GitError;
use corral_sandbox::SandboxError;
use corral_store::StoreError;

pub use crate::error_kind::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot use {path} as the data directory: {reason}")]
    DataDirNotWritable { path: PathBuf, reason: String },
    #[error(
        "{path} is not a SQLite database (corrupt, or another kind of file); it was left untouched"
    )]
    DatabaseCorrupt { path: PathBuf },
    #[error("the database at {path} was written by a newer version of Corral")]
    DatabaseTooNew { path: PathBuf },
    #[error("unsupported database URL `{url}`; this build stores data in SQLite (sqlite://PATH)")]
    UnsupportedDatabase { url: String },
    #[error("project path {path} does not exist")]
    ProjectPathMissing { path: String },
    #[error("project path {path} is a file, not a folder")]
    ProjectPathNotDir { path: String },
    #[error("{path} is not a git repository")]
    NotAGitRepo {
        path: String,
        enclosing: Option<String>,
    },
    #[error("the repository at {path} has no commits yet")]
    RepoHasNoCommits { path: String },
    #[error("a project named `{name}` already exists")]
    DuplicateProjectName { name: String },
    #[error("{source_desc} is already the project `{name}`")]
    DuplicateProjectSource { source_desc: String, name: String },
    #[error("no project `{reference}`")]
    ProjectNotFound {
        reference: String,
        known: Vec<String>,
    },
    #[error("no task `{reference}`{}", scope.as_ref().map(|p| format!(" in project `{p}`")).unwrap_or_default())]
    TaskNotFound {
        reference: String,
        scope: Option<String>,
    },
    #[error("`{reference}` matches {} tasks: {}", candidates.len(), candidates.join("; "))]
    AmbiguousTask {
        reference: String,
        candidates: Vec<String>,
    },
    #[error(
        "tasks of different projects cannot depend on each other (`{task}` is in `{task_project}`, `{after}` in `{after_project}`)"
    )]
    CrossProjectDependency {
        task: String,
        task_project: String,
        after: String,
        after_project: String,
    },
    #[error("a task cannot depend on itself (`{task}`)")]
    SelfDependency { task: String },
    #[error("that dependency would create a cycle: {cycle}")]
    DependencyCycle { cycle: String },
    #[error("`{task}` does not run after `{after}`")]
    DependencyNotFound { task: String, after: String },
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    Setting(#[from] SettingError),
    #[error("project `{name}` has {live} live run(s)")]
    ProjectBusy { name: String, live: u64 },
    #[error("task `{title}` has a live run")]
    TaskBusy { title: String },
    #[error("no question `{reference}`")]
    RequestNotFound { reference: String },
    #[error("several questions start with `{reference}`: {}", candidates.join(", "))]
    AmbiguousRequest {
        reference: String,
        candidates: Vec<String>,
    },
    #[error("the agent's question {request} still waits for a person")]
    QuestionWaiting { request: String },
    #[error("that question is {state} already")]
    RequestClosed { state: &'static str },
    #[error("that question is for another agent: consult run {consult} answers it")]
    ForAnAgent { consult: String },
    #[error("cannot consult another agent: {reason}")]
    NoConsult { reason: String },
    #[error("the answer does not fit the question: {reason}")]
    BadAnswer { reason: String },
    #[error("task `{title}` is not waiting for approval: it is {approval}")]
    NotProposed {
        title: String,
        approval: &'static str,
    },
    #[error("git error at {path}: {message}")]
    Git { path: String, message: String },
    #[error("`{branch}` is checked out in {path}, so Corral will not change it")]
    MergeTargetCheckedOut {
        branch: String,
        path: String,
        run_branch: String,
    },
    #[error("your uncommitted changes to {} would be overwritten by the merge into `{branch}`; nothing was changed", paths.join(", "))]
    MergeBlockedByChanges { branch: String, paths: Vec<String> },
    #[error("merging into `{branch}` conflicts in: {}", paths.join(", "))]
    MergeConflict {
        branch: String,
        paths: Vec<String>,
        run_branch: String,
    },
    #[error("this run cannot be merged: {reason}")]
    NotMergeable { reason: String },
    #[error("no run `{reference}`")]
    RunNotFound { reference: String },
    #[error("this task cannot run: {reason}")]
    NotRunnable { reason: String },
    #[error("cannot follow up this run: {reason}")]
    NoFollowUp { reason: String },
    #[error("{reason}")]
    Keychain { reason: String },
    #[error("no API key for {runtime}: set {names}")]
    MissingApiKey { runtime: String, names: String },
    #[error("{0}")]
    Sandbox(#[from] SandboxError),
    #[error("{0}")]
    Watch(#[from] corral_watch::WatchError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for EngineError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotADatabase { path } => EngineError::DatabaseCorrupt { path },
            StoreError::NewerSchema { path, .. } => EngineError::DatabaseTooNew { path },
            other => EngineError::Store(other),
        }
    }
}

/// A transition the state machine refuses: a bug in the engine, which drives the states.
impl From<corral_core::TransitionError> for EngineError {
    fn from(err: corral_core::TransitionError) -> Self {
        EngineError::Internal(err.to_string())
    }
}

/// A blocking task panicked or was cancelled: a bug, not the user's doing.
impl From<tokio::task::JoinError> for EngineError {
    fn from(err: tokio::task::JoinError) -> Self {
        EngineError::Internal(format!("a background task failed: {err}"))
    }
}

impl From<GitError> for EngineError {
    fn from(err: GitError) -> Self {
        match err {
            GitError::PathMissing { path } => EngineError::ProjectPathMissing { path },
            GitError::NotADirectory { path } => EngineError::ProjectPathNotDir { path },
            GitError::NotARepo { path, enclosing } => EngineError::NotAGitRepo { path, enclosing },
            GitError::NoCommits { path } => EngineError::RepoHasNoCommits { path },
            GitError::TargetCheckedOut {
                branch,
                path,
                run_branch,
            } => EngineError::MergeTargetCheckedOut {
                branch,
                path,
                run_branch,
            },
            GitError::MergeConflict { branch, paths } => EngineError::MergeConflict {
                branch,
                paths,
                run_branch: String::new(),
            },
            GitError::LocalChanges { branch, paths } => {
                EngineError::MergeBlockedByChanges { branch, paths }
            }
            GitError::NotFastForward { branch } => EngineError::NotMergeable {
                reason: format!(
                    "`{branch}` has moved on since the run started, so it cannot fast-forward \
                     (merge-style=ff-only); run the task again from the new `{branch}`, or \
                     choose merge-style=merge"
                ),
            },
            GitError::BranchExists { branch } => EngineError::Git {
                path: branch,
                message: "the branch exists already".into(),
            },
            e @ (GitError::UpstreamConflict { .. } | GitError::UpstreamMissing { .. }) => {
                EngineError::Git {
                    path: String::new(),
                    message: e.to_string(),
                }
            }
            GitError::Tampered { path, what } => EngineError::Git {
                path,
                message: format!("{what}; Corral will not run git there"),
            },
            GitError::Other { path, message } => EngineError::Git { path, message },
        }
    }
}

impl EngineError {
    /// The kind of error, for front ends to branch on.
    pub fn kind(&self) -> ErrorKind {
        match self {
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
            EngineError::NotProposed { .. } => ErrorKind::NotProposed,
            EngineError::RequestNotFound { .. } => ErrorKind::RequestNotFound,
            EngineError::AmbiguousRequest { .. } => ErrorKind::AmbiguousRequest,
            EngineError::RequestClosed { .. } => ErrorKind::RequestClosed,
            EngineError::QuestionWaiting { .. } => ErrorKind::QuestionWaiting,
            EngineError::ForAnAgent { .. } => ErrorKind::ForAnAgent,
            EngineError::NoConsult { .. } => ErrorKind::NoConsult,
            EngineError::BadAnswer { .. } => ErrorKind::InvalidInput,
            EngineError::Git { .. } => ErrorKind::Git,
            EngineError::RunNotFound { .. } => ErrorKind::RunNotFound,
            EngineError::MergeTargetCheckedOut { .. } => ErrorKind::MergeTargetCheckedOut,
            EngineError::MergeBlockedByChanges { .. } => ErrorKind::MergeBlockedByChanges,
            EngineError::MergeConflict { .. } => ErrorKind::MergeConflict,
            EngineError::NotMergeable { .. } => ErrorKind::NotMergeable,
            EngineError::NotRunnable { .. } => ErrorKind::NotRunnable,
            EngineError::NoFollowUp { .. } => ErrorKind::NoFollowUp,
            EngineError::MissingApiKey { .. } => ErrorKind::MissingApiKey,
            EngineError::Keychain { .. } => ErrorKind::Keychain,
            EngineError::Sandbox(e) if e.is_unreachable() => ErrorKind::DockerUnreachable,
            EngineError::Sandbox(_) => ErrorKind::Sandbox,
            EngineError::Io { .. } | EngineError::Watch(_) => ErrorKind::Io,
            EngineError::Store(_) => ErrorKind::Database,
            EngineError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The kind of run failure this error makes when it ends a run.
    pub fn fail_kind(&self) -> FailKind {
        match self.kind() {
            ErrorKind::DockerUnreachable => FailKind::DockerUnreachable,
            ErrorKind::Sandbox => FailKind::Sandbox,
            ErrorKind::MissingApiKey | ErrorKind::Keychain => FailKind::MissingKey,
            ErrorKind::ProjectPathMissing | ErrorKind::ProjectPathNotDir => FailKind::RepoMissing,
            ErrorKind::Git | ErrorKind::NotAGitRepo | ErrorKind::RepoHasNoCommits => {
                FailKind::Checkout
            }
            _ => FailKind::Internal,
        }
    }

    /// An IO error with what Corral was doing.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
        let what = what.into();
        move |source| EngineError::Io { what, source }
    }

    /// What the user can do about it, when there is something.
    pub fn fix(&self) -> Option<String> {
        Some(match self {
            EngineError::DataDirNotWritable { .. } => {
                "choose a writable folder with --data-dir or CORRAL_DATA_DIR".into()
            }
            EngineError::DatabaseCorrupt { path } => format!(
                "move {} aside (Corral starts a new database) or point --data-dir elsewhere",
                path.display()
            ),
            EngineError::DatabaseTooNew { .. } => {
                "upgrade Corral, or use another --data-dir with this version".into()
            }
            EngineError::UnsupportedDatabase { .. } => "use sqlite://PATH or leave it unset".into(),
            EngineError::ProjectPathMissing { .. } => {
                "check the path, or clone the repository first".into()
            }
            EngineError::ProjectPathNotDir { .. } => "give the repository's folder".into(),
            EngineError::NotAGitRepo {
                enclosing: Some(root),
                ..
            } => {
                format!("it lies inside the repository {root}; add that folder instead")
            }
            EngineError::NotAGitRepo {
                enclosing: None, ..
            } => "run `git init` there and commit, or give the repository's root folder".into(),
            EngineError::RepoHasNoCommits { .. } => {
                "make a first commit (runs start from a commit)".into()
            }
            EngineError::DuplicateProjectName { .. } => "pick another name with --name".into(),
            EngineError::DuplicateProjectSource { .. } => "use the existing project".into(),
            EngineError::ProjectNotFound { known, .. } if known.is_empty() => {
                "add one with `corral project add <path>`".into()
            }
            EngineError::ProjectNotFound { known, .. } => {
                format!("known projects: {}", known.join(", "))
            }
            EngineError::TaskNotFound { .. } => "list tasks with `corral task list`".into(),
            EngineError::RunNotFound { .. } => "list runs with `corral runs`".into(),
            EngineError::RequestNotFound { .. } | EngineError::AmbiguousRequest { .. } => {
                "see what waits with `corral inbox`".into()
            }
            EngineError::RequestClosed { .. } => {
                "nothing more to do: its agent has its answer, or its run ended".into()
            }
            EngineError::ForAnAgent { consult } => format!(
                "wait for that run, or cancel it (`corral run cancel {consult}`): the asking agent \
                 then goes on without the answer"
            ),
            EngineError::MergeTargetCheckedOut {
                path, run_branch, ..
            } => format!(
                "merge it there yourself (`git -C '{path}' merge {run_branch}`), or switch that repository to another branch"
            ),
            EngineError::MergeBlockedByChanges { .. } => {
                "commit or stash your changes to those files (move or remove untracked ones), \
                 then merge again"
                    .into()
            }
            EngineError::MergeConflict { run_branch, .. } => {
                format!("merge by hand: `git merge {run_branch}`, resolve, commit")
            }
            EngineError::MissingApiKey { names, .. } => format!(
                "store it in the OS keychain (`corral key set {}`, or Settings > API keys in \
                 the app), or export {names} in the environment Corral starts from; the key \
                 goes only into the run's environment, never into logs",
                names.split(" or ").next().unwrap_or_default()
            ),
            EngineError::Sandbox(e) if e.is_unreachable() => {
                "start Docker, then try again (`corral doctor` checks it)".into()
            }
            EngineError::Sandbox(_) => "check Docker with `corral doctor`".into(),
            EngineError::AmbiguousTask { .. } => {
                "name the task by its id, or narrow with --project".into()
            }
            EngineError::CrossProjectDependency { .. } => {
                "dependencies link tasks of one project".into()
            }
            EngineError::DependencyCycle { .. } => "remove one of those dependencies first".into(),
            EngineError::ProjectBusy { .. } | EngineError::TaskBusy { .. } => {
                "cancel its runs first".into()
            }
            EngineError::Store(_) | EngineError::Internal(_) => {
                "see the log in the data dir's logs folder".into()
            }
            _ => return None,
        })
    }
}

pub type EngineResult<T> = Result<T, EngineError>;
