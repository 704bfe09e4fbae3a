//! Whether run results are in the project branch: merged by Corral, by the user's own git, or
//! brought in by a dependant's merge (which holds its upstream commits).

use std::path::Path;

use git2::{Oid, Repository};

use crate::GitError;

fn err(path: &Path, e: git2::Error) -> GitError {
    GitError::Other {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

/// The commit `branch` (a branch name, or `HEAD`) of the repository at `repo_path` points at.
pub fn branch_tip(repo_path: &Path, branch: &str) -> Result<String, GitError> {
    let repo = Repository::open(repo_path).map_err(|e| err(repo_path, e))?;
    let commit = repo
        .revparse_single(&format!("refs/heads/{branch}"))
        .or_else(|_| repo.revparse_single(branch))
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| err(repo_path, e))?;
    Ok(commit.id().to_string())
}

/// For each of `commits`, whether it is `tip` or one of its ancestors. A commit the repository
/// does not hold (its branch deleted and collected, or a bad id) is not.
pub fn reachable_from(
    repo_path: &Path,
    tip: &str,
    commits: &[String],
) -> Result<Vec<bool>, GitError> {
    let repo = Repository::open(repo_path).map_err(|e| err(repo_path, e))?;
    let tip = Oid::from_str(tip).map_err(|e| err(repo_path, e))?;
    commits
        .iter()
        .map(|commit| {
            let Ok(oid) = Oid::from_str(commit) else {
                return Ok(false);
            };
            if oid == tip {
                return Ok(true);
            }
            match repo.find_commit(oid) {
                Ok(_) => repo
                    .graph_descendant_of(tip, oid)
                    .map_err(|e| err(repo_path, e)),
                // Not in the repository (any more): not in the branch either.
                Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(false),
                Err(e) => Err(err(repo_path, e)),
            }
        })
        .collect()
}
