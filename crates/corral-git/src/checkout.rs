//! Per-run checkouts: a local clone of the project's repository, on its own branch, under the
//! data dir. A clone rather than a worktree: a worktree's `.git` is a pointer into the user's
//! repository, which does not exist inside the run's container, and an agent could reach the
//! user's refs through it. Objects are copied, not hard-linked: the sandbox runs as the user
//! and could otherwise rewrite a shared object file, and with it the user's repository.

use std::path::{Path, PathBuf};

use git2::build::{CheckoutBuilder, CloneLocal, RepoBuilder};
use git2::{BranchType, ErrorCode, Repository};

use crate::GitError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub path: PathBuf,
    pub branch: String,
    /// The commit the run starts from.
    pub base_commit: String,
}

fn err(path: &Path, e: git2::Error) -> GitError {
    GitError::Other {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

/// Clones `source` into `dest` (which must not exist) and checks out a new `branch` at `base`
/// (a branch name of the source, or a commit id). The user's repository is only read.
pub fn create_checkout(
    source: &Path,
    base: &str,
    branch: &str,
    dest: &Path,
) -> Result<Checkout, GitError> {
    if dest.exists() {
        return Err(GitError::Other {
            path: dest.display().to_string(),
            message: "the checkout folder exists already".into(),
        });
    }
    let source_str = source.to_str().ok_or_else(|| GitError::Other {
        path: source.display().to_string(),
        message: "the repository path is not valid UTF-8".into(),
    })?;
    let repo = RepoBuilder::new()
        .clone_local(CloneLocal::NoLinks)
        .clone(source_str, dest)
        .map_err(|e| err(source, e))?;
    let result = start_branch(&repo, base, branch);
    if result.is_err() {
        // Leave nothing half-made behind.
        let _ = std::fs::remove_dir_all(dest);
    }
    let base_commit = result?;
    Ok(Checkout {
        path: dest.to_path_buf(),
        branch: branch.to_string(),
        base_commit,
    })
}

fn start_branch(repo: &Repository, base: &str, branch: &str) -> Result<String, GitError> {
    let path = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    let commit = repo
        .revparse_single(&format!("refs/remotes/origin/{base}"))
        .or_else(|_| repo.revparse_single(base))
        .and_then(|o| o.peel_to_commit())
        .map_err(|_| GitError::Other {
            path: path.display().to_string(),
            message: format!("`{base}` is neither a branch nor a commit of the repository"),
        })?;
    match repo.branch(branch, &commit, false) {
        Ok(_) => {}
        Err(e) if e.code() == ErrorCode::Exists => {
            return Err(GitError::BranchExists {
                branch: branch.to_string(),
            });
        }
        Err(e) => return Err(err(&path, e)),
    }
    repo.set_head(&format!("refs/heads/{branch}"))
        .map_err(|e| err(&path, e))?;
    repo.checkout_head(Some(CheckoutBuilder::new().force()))
        .map_err(|e| err(&path, e))?;
    Ok(commit.id().to_string())
}

/// Whether `branch` exists in the repository at `repo_path`.
pub fn branch_exists(repo_path: &Path, branch: &str) -> Result<bool, GitError> {
    let repo = Repository::open(repo_path).map_err(|e| err(repo_path, e))?;
    Ok(repo.find_branch(branch, BranchType::Local).is_ok())
}
