//! `ErrorKind`: the one list of error kinds front ends branch on (see `error`).

use serde::Serialize;

/// What kind of error it is: the one list front ends branch on (the shell sends it to the UI
/// as is, the CLI prints its snake_case name in `--json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
    /// Approving or rejecting a task that is not waiting for it.
    NotProposed,
    /// No agent question with that id.
    RequestNotFound,
    /// Several questions' ids start that way.
    AmbiguousRequest,
    /// The question was answered or cancelled already.
    RequestClosed,
    /// An agent asked again while its question waits.
    QuestionWaiting,
    /// Answering a question that another agent answers (`ask_agent`).
    ForAnAgent,
    /// An agent's `ask_agent` that cannot start a consult run.
    NoConsult,
    Git,
    RunNotFound,
    MergeTargetCheckedOut,
    /// The user's uncommitted changes touch files the merge changes: nothing was changed.
    MergeBlockedByChanges,
    MergeConflict,
    NotMergeable,
    NotRunnable,
    MissingApiKey,
    NoFollowUp,
    Keychain,
    /// The Docker daemon does not answer (not started, or went away).
    DockerUnreachable,
    /// Docker answered with an error (an image, a container).
    Sandbox,
    Database,
    /// Reading or writing a file of Corral's own failed; the message names it.
    Io,
    /// The engine could not start; the message says why (front ends only).
    EngineUnavailable,
    /// An id given by a front end did not parse (front ends only).
    InvalidId,
    /// A bug. The message and the log say more.
    Internal,
}

impl ErrorKind {
    /// The snake_case name (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::DataDirNotWritable => "data_dir_not_writable",
            ErrorKind::DatabaseCorrupt => "database_corrupt",
            ErrorKind::DatabaseTooNew => "database_too_new",
            ErrorKind::UnsupportedDatabase => "unsupported_database",
            ErrorKind::ProjectPathMissing => "project_path_missing",
            ErrorKind::ProjectPathNotDir => "project_path_not_dir",
            ErrorKind::NotAGitRepo => "not_a_git_repo",
            ErrorKind::RepoHasNoCommits => "repo_has_no_commits",
            ErrorKind::DuplicateProjectName => "duplicate_project_name",
            ErrorKind::DuplicateProjectSource => "duplicate_project_source",
            ErrorKind::ProjectNotFound => "project_not_found",
            ErrorKind::TaskNotFound => "task_not_found",
            ErrorKind::AmbiguousTask => "ambiguous_task",
            ErrorKind::CrossProjectDependency => "cross_project_dependency",
            ErrorKind::SelfDependency => "self_dependency",
            ErrorKind::DependencyCycle => "dependency_cycle",
            ErrorKind::DependencyNotFound => "dependency_not_found",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::InvalidSetting => "invalid_setting",
            ErrorKind::ProjectBusy => "project_busy",
            ErrorKind::TaskBusy => "task_busy",
            ErrorKind::NotProposed => "not_proposed",
            ErrorKind::RequestNotFound => "request_not_found",
            ErrorKind::AmbiguousRequest => "ambiguous_request",
            ErrorKind::RequestClosed => "request_closed",
            ErrorKind::QuestionWaiting => "question_waiting",
            ErrorKind::ForAnAgent => "for_an_agent",
            ErrorKind::NoConsult => "no_consult",
            ErrorKind::Git => "git",
            ErrorKind::RunNotFound => "run_not_found",
            ErrorKind::MergeTargetCheckedOut => "merge_target_checked_out",
            ErrorKind::MergeBlockedByChanges => "merge_blocked_by_changes",
            ErrorKind::MergeConflict => "merge_conflict",
            ErrorKind::NotMergeable => "not_mergeable",
            ErrorKind::NotRunnable => "not_runnable",
            ErrorKind::MissingApiKey => "missing_api_key",
            ErrorKind::NoFollowUp => "no_follow_up",
            ErrorKind::Keychain => "keychain",
            ErrorKind::DockerUnreachable => "docker_unreachable",
            ErrorKind::Sandbox => "sandbox",
            ErrorKind::Database => "database",
            ErrorKind::Io => "io",
            ErrorKind::EngineUnavailable => "engine_unavailable",
            ErrorKind::InvalidId => "invalid_id",
            ErrorKind::Internal => "internal",
        }
    }
}
