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

/// How `run_branch` would go into `target` in the repository at `repo_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeShape {
    /// `target` is checked out there (the merge happens in that working tree).
    pub checked_out: bool,
    /// `target` holds the run's result already.
    pub already: bool,
    /// `target` has not moved since the run started: a fast-forward.
    pub fast_forward: bool,
}

pub fn merge_shape(
    repo_path: &Path,
    run_branch: &str,
    target: &str,
) -> Result<MergeShape, GitError> {
    let repo = Repository::open(repo_path).map_err(|e| err(repo_path, e))?;
    let tip = |name: &str| {
        repo.revparse_single(&format!("refs/heads/{name}"))
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| err(repo_path, e))
    };
    let (run, into) = (tip(run_branch)?, tip(target)?);
    let checked_out = !repo.is_bare()
        && repo
            .head()
            .ok()
            .is_some_and(|h| h.is_branch() && h.shorthand().ok() == Some(target));
    let already = run == into
        || repo
            .graph_descendant_of(into, run)
            .map_err(|e| err(repo_path, e))?;
    let fast_forward = !already
        && repo
            .graph_descendant_of(run, into)
            .map_err(|e| err(repo_path, e))?;
    Ok(MergeShape {
        checked_out,
        already,
        fast_forward,
    })
}
