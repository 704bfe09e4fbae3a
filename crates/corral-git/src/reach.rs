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

/// How a run's result commit would go into `target` in the repository at `repo_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeShape {
    /// `target` is checked out there (the merge happens in that working tree).
    pub checked_out: bool,
    /// `target` holds the run's result already.
    pub already: bool,
    /// `target` has not moved since the run started: a fast-forward.
    pub fast_forward: bool,
}

/// `run_commit` is the result's full commit id: found whatever became of the run's branch.
pub fn merge_shape(
    repo_path: &Path,
    run_commit: &str,
    target: &str,
) -> Result<MergeShape, GitError> {
    let repo = Repository::open(repo_path).map_err(|e| err(repo_path, e))?;
    let into = repo
        .revparse_single(&format!("refs/heads/{target}"))
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|e| err(repo_path, e))?;
    let run = Oid::from_str(run_commit)
        .and_then(|oid| repo.find_commit(oid))
        .map(|c| c.id())
        .map_err(|e| err(repo_path, e))?;
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

/// The text of line `line` (1-based) of `path` in `commit`, without its line end; `None` when
/// the commit has no such file or line, or the file is binary or not a regular file.
pub fn line_at(
    repo_path: &Path,
    commit: &str,
    path: &str,
    line: u32,
) -> Result<Option<String>, GitError> {
    let repo = Repository::open(repo_path).map_err(|e| err(repo_path, e))?;
    let commit = Oid::from_str(commit)
        .and_then(|oid| repo.find_commit(oid))
        .map_err(|e| err(repo_path, e))?;
    let tree = commit.tree().map_err(|e| err(repo_path, e))?;
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return Ok(None);
    };
    if entry.kind() != Some(git2::ObjectType::Blob) || entry.filemode() == 0o120000 {
        return Ok(None);
    }
    let blob = repo.find_blob(entry.id()).map_err(|e| err(repo_path, e))?;
    if blob.is_binary() {
        return Ok(None);
    }
    let content = blob.content();
    if content.is_empty() || line == 0 {
        return Ok(None);
    }
    // The last line's end is not the start of another line.
    let body = content.strip_suffix(b"\n").unwrap_or(content);
    let index = usize::try_from(line - 1).unwrap_or(usize::MAX);
    Ok(body
        .split(|b| *b == b'\n')
        .nth(index)
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned()))
}
