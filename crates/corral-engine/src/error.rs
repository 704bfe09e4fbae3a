//! The engine's error type. Each variant has a machine-readable `kind()` (front ends branch on
//! it, never on message text), a message naming the problem, and, where one exists, a `fix()`.

use std::path::PathBuf;

use corral_core::{SettingError, ValidationError};
use corral_git::GitError;
use corral_store::StoreError;

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
    #[error("git error at {path}: {message}")]
    Git { path: String, message: String },
    #[error("`{branch}` is checked out in {path}, so Corral will not change it")]
    MergeTargetCheckedOut {
        branch: String,
        path: String,
        run_branch: String,
    },
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
    Sandbox(String),
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

impl From<corral_sandbox::SandboxError> for EngineError {
    fn from(err: corral_sandbox::SandboxError) -> Self {
        EngineError::Sandbox(err.to_string())
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
            GitError::BranchExists { branch } => EngineError::Git {
                path: branch,
                message: "the branch exists already".into(),
            },
            GitError::Tampered { path, what } => EngineError::Git {
                path,
                message: format!("{what}; Corral will not run git there"),
            },
            GitError::Other { path, message } => EngineError::Git { path, message },
        }
    }
}

impl EngineError {
    /// A stable snake_case name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::DataDirNotWritable { .. } => "data_dir_not_writable",
            EngineError::DatabaseCorrupt { .. } => "database_corrupt",
            EngineError::DatabaseTooNew { .. } => "database_too_new",
            EngineError::UnsupportedDatabase { .. } => "unsupported_database",
            EngineError::ProjectPathMissing { .. } => "project_path_missing",
            EngineError::ProjectPathNotDir { .. } => "project_path_not_dir",
            EngineError::NotAGitRepo { .. } => "not_a_git_repo",
            EngineError::RepoHasNoCommits { .. } => "repo_has_no_commits",
            EngineError::DuplicateProjectName { .. } => "duplicate_project_name",
            EngineError::DuplicateProjectSource { .. } => "duplicate_project_source",
            EngineError::ProjectNotFound { .. } => "project_not_found",
            EngineError::TaskNotFound { .. } => "task_not_found",
            EngineError::AmbiguousTask { .. } => "ambiguous_task",
            EngineError::CrossProjectDependency { .. } => "cross_project_dependency",
            EngineError::SelfDependency { .. } => "self_dependency",
            EngineError::DependencyCycle { .. } => "dependency_cycle",
            EngineError::DependencyNotFound { .. } => "dependency_not_found",
            EngineError::Invalid(_) => "invalid_input",
            EngineError::Setting(_) => "invalid_setting",
            EngineError::ProjectBusy { .. } => "project_busy",
            EngineError::TaskBusy { .. } => "task_busy",
            EngineError::Git { .. } => "git",
            EngineError::RunNotFound { .. } => "run_not_found",
            EngineError::MergeTargetCheckedOut { .. } => "merge_target_checked_out",
            EngineError::MergeConflict { .. } => "merge_conflict",
            EngineError::NotMergeable { .. } => "not_mergeable",
            EngineError::NotRunnable { .. } => "not_runnable",
            EngineError::NoFollowUp { .. } => "no_follow_up",
            EngineError::MissingApiKey { .. } => "missing_api_key",
            EngineError::Keychain { .. } => "keychain",
            EngineError::Sandbox(_) => "sandbox",
            EngineError::Store(_) => "database",
            EngineError::Internal(_) => "internal",
        }
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
            EngineError::MergeTargetCheckedOut {
                path, run_branch, ..
            } => format!(
                "merge it there yourself (`git -C '{path}' merge {run_branch}`), or switch that repository to another branch"
            ),
            EngineError::MergeConflict { run_branch, .. } => {
                format!("merge by hand: `git merge {run_branch}`, resolve, commit")
            }
            EngineError::MissingApiKey { names, .. } => format!(
                "store it in the OS keychain (`corral key set {}`, or Settings > API keys in \
                 the app), or export {names} in the environment Corral starts from; the key \
                 goes only into the run's environment, never into logs",
                names.split(" or ").next().unwrap_or_default()
            ),
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
