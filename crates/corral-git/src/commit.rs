//! Recording a run's result: everything in the checkout (as .gitignore allows) committed on the
//! run branch, on the host, with Corral as the author.

use std::path::Path;

use git2::{IndexAddOption, Repository, Signature};

use crate::GitError;

fn err(path: &Path, e: git2::Error) -> GitError {
    GitError::Other {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

/// Commits every change in the checkout at `path` (added, modified and deleted files; ignored
/// files stay out). Returns the new commit, or `None` when nothing changed.
pub fn commit_all(
    path: &Path,
    author: (&str, &str),
    message: &str,
) -> Result<Option<String>, GitError> {
    let repo = Repository::open(path).map_err(|e| err(path, e))?;
    let mut index = repo.index().map_err(|e| err(path, e))?;
    index
        .add_all(["*"], IndexAddOption::DEFAULT, None)
        .map_err(|e| err(path, e))?;
    index.update_all(["*"], None).map_err(|e| err(path, e))?;
    index.write().map_err(|e| err(path, e))?;
    let tree_id = index.write_tree().map_err(|e| err(path, e))?;
    let parent = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|e| err(path, e))?;
    if parent.tree_id() == tree_id {
        return Ok(None);
    }
    let tree = repo.find_tree(tree_id).map_err(|e| err(path, e))?;
    let signature = Signature::now(author.0, author.1).map_err(|e| err(path, e))?;
    let id = repo
        .commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &[&parent],
        )
        .map_err(|e| err(path, e))?;
    Ok(Some(id.to_string()))
}

/// Where the checkout's HEAD was when the result was recorded, relative to the run branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHead {
    /// The commit the run branch now points at: HEAD's, whatever the agent did with git.
    pub commit: String,
    /// The branch HEAD was on when it was not the run branch (`None`: on the run branch, or
    /// detached).
    pub other_branch: Option<String>,
    /// HEAD was detached (no branch checked out).
    pub detached: bool,
    /// The commit descends from the run's base (false after a reset to an older commit or a
    /// rewrite of history).
    pub descends_from_base: bool,
}

impl RunHead {
    /// Whether HEAD left the run branch in any way the user should hear about.
    pub fn moved(&self) -> bool {
        self.other_branch.is_some() || self.detached || !self.descends_from_base
    }
}

/// Points `run_branch` at whatever the checkout's HEAD holds (after `commit_all` recorded the
/// working tree there): the run's result is what the agent left, even when it made its own
/// branch, detached HEAD, or reset. Reports how HEAD stood.
pub fn point_run_branch(path: &Path, run_branch: &str, base: &str) -> Result<RunHead, GitError> {
    let repo = Repository::open(path).map_err(|e| err(path, e))?;
    let head = repo.head().map_err(|e| err(path, e))?;
    let detached = repo.head_detached().map_err(|e| err(path, e))?;
    let other_branch = if detached {
        None
    } else {
        head.shorthand()
            .ok()
            .filter(|name| *name != run_branch)
            .map(str::to_string)
    };
    let commit = head.peel_to_commit().map_err(|e| err(path, e))?.id();
    let base = git2::Oid::from_str(base).map_err(|e| err(path, e))?;
    let descends_from_base =
        commit == base || repo.graph_descendant_of(commit, base).unwrap_or(false);
    if other_branch.is_some() || detached {
        let target = repo.find_commit(commit).map_err(|e| err(path, e))?;
        repo.branch(run_branch, &target, true)
            .map_err(|e| err(path, e))?;
    }
    Ok(RunHead {
        commit: commit.to_string(),
        other_branch,
        detached,
        descends_from_base,
    })
}
