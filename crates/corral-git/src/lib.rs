//! Corral's git boundary. Everything here is blocking (libgit2); async callers run it through
//! `spawn_blocking`. For now: inspecting a repository a user wants to add as a project.

mod inspect;

pub use inspect::{RepoInfo, inspect, libgit2_version};

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
    #[error("git error at {path}: {message}")]
    Other { path: String, message: String },
}
