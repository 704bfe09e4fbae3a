//! Corral's git boundary. Everything here is blocking (libgit2); async callers run it through
//! `spawn_blocking`. Inspecting a repository a user adds; per-run checkouts, their commits,
//! publishing run branches to the user's repository, diffs, merges, and the mirror of a project
//! added by URL.

mod checkout;
mod commit;
mod diff;
mod git_dir_guard;
mod inspect;
mod merge;
mod merge_here;
mod mirror;
mod publish;
mod reach;
mod upstream;

pub use checkout::{Checkout, branch_exists, create_checkout};
pub use commit::{LeftOut, Recorded, RunHead, commit_all, point_run_branch};
pub use diff::{DiffLine, FileDiff, FileStatus, LineKind, diff, file_diff};
pub use git_dir_guard::{restore_git_dir, save_git_config};
pub use inspect::{RepoInfo, inspect, libgit2_version};
pub use merge::{MergeOutcome, Style as MergeStyle, merge_run};
pub use mirror::{MirrorSync, sync_mirror};
pub use publish::{delete_branch, publish_branch};
pub use reach::{MergeShape, branch_tip, line_at, merge_shape, reachable_from};
pub use upstream::{UpstreamMerge, UpstreamResult, merge_upstream};

/// Why a path cannot be used as a project repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path} does not exist")]
    PathMissing { path: String },
    #[error("{path} is a file, not a folder")]
    NotADirectory { path: String },
    #[error("{path} is not a git repository")]
    NotARepo {
        path: String,
        /// The repository the path lies inside, when there is one.
        enclosing: Option<String>,
    },
    #[error("the repository at {path} has no commits yet")]
    NoCommits { path: String },
    #[error("a branch named `{branch}` exists already")]
    BranchExists { branch: String },
    #[error("`{branch}` is checked out in {path}, so Corral will not change it")]
    TargetCheckedOut {
        branch: String,
        path: String,
        run_branch: String,
    },
    #[error("merging into `{branch}` conflicts in: {}", paths.join(", "))]
    MergeConflict { branch: String, paths: Vec<String> },
    /// `merge-style=ff-only`, and the branch has moved on since the run started.
    #[error(
        "`{branch}` has moved on since the run started, so it cannot fast-forward (merge-style=ff-only)"
    )]
    NotFastForward { branch: String },
    /// Uncommitted changes in the user's working tree touch files the merge changes.
    #[error("your uncommitted changes to {} would be overwritten by the merge into `{branch}`; nothing was changed", paths.join(", "))]
    LocalChanges { branch: String, paths: Vec<String> },
    #[error("the work of `{task}` conflicts with the work before it in: {}", paths.join(", "))]
    UpstreamConflict { task: String, paths: Vec<String> },
    #[error(
        "the result of `{task}` ({commit}) is not in the repository any more{}",
        branch.as_ref().map(|b| format!(" (its branch `{b}` was deleted?)")).unwrap_or_default()
    )]
    UpstreamMissing {
        task: String,
        commit: String,
        branch: Option<String>,
    },
    /// The sandbox changed the checkout's git folder in a way Corral will not work with.
    #[error("{path}: {what}; Corral will not run git there")]
    Tampered { path: String, what: String },
    #[error("git error at {path}: {message}")]
    Other { path: String, message: String },
}
