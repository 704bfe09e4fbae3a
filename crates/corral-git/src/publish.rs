//! Making a run branch visible in the user's repository, so they can review it with their own
//! tools. Only objects and the `corral/...` ref are written there: never the working tree, the
//! index, or a branch that is checked out.

use std::path::Path;

use git2::Repository;

use crate::GitError;

fn err(path: &Path, e: git2::Error) -> GitError {
    GitError::Other {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

/// Deletes a run branch from the user's repository; never the branch they have checked out.
/// Returns whether it was deleted.
pub fn delete_branch(repo: &Path, branch: &str) -> Result<bool, GitError> {
    let repo_handle = Repository::open(repo).map_err(|e| err(repo, e))?;
    let Ok(mut b) = repo_handle.find_branch(branch, git2::BranchType::Local) else {
        return Ok(false);
    };
    if b.is_head() {
        return Ok(false);
    }
    b.delete().map_err(|e| err(repo, e))?;
    Ok(true)
}

/// Fetches `branch` from the checkout at `checkout` into the repository at `target`.
pub fn publish_branch(target: &Path, checkout: &Path, branch: &str) -> Result<(), GitError> {
    let repo = Repository::open(target).map_err(|e| err(target, e))?;
    if let Ok(head) = repo.head()
        && head.is_branch()
        && head.shorthand().ok() == Some(branch)
    {
        return Err(GitError::Other {
            path: target.display().to_string(),
            message: format!("`{branch}` is checked out there; switch to another branch first"),
        });
    }
    let url = checkout.to_str().ok_or_else(|| GitError::Other {
        path: checkout.display().to_string(),
        message: "the checkout path is not valid UTF-8".into(),
    })?;
    let mut remote = repo.remote_anonymous(url).map_err(|e| err(target, e))?;
    let refspec = format!("+refs/heads/{branch}:refs/heads/{branch}");
    remote
        .fetch(&[refspec.as_str()], None, None)
        .map_err(|e| err(target, e))?;
    Ok(())
}
