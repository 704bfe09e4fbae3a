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

/// A file the run's commit does not hold because it is bigger than the project's
/// `max-file-size`. (FIFOs, sockets and devices are never committed either: libgit2 skips
/// them without reading them.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub path: String,
    /// Its apparent size (a sparse file counts at its full length).
    pub size: u64,
}

/// What `commit_all` recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The new commit, or `None` when nothing changed.
    pub commit: Option<String>,
    /// Files left out of it (they stay in the checkout).
    pub left_out: Vec<LeftOut>,
}

/// Whether the file at `rel` (in `workdir`) may be committed: anything but a regular file over
/// `max_file_bytes` (looked at without following a link). Records what is left out.
fn admit(workdir: &Path, rel: &Path, max_file_bytes: u64, left_out: &mut Vec<LeftOut>) -> i32 {
    let Ok(meta) = std::fs::symlink_metadata(workdir.join(rel)) else {
        // Gone: its deletion is recorded.
        return 0;
    };
    if !meta.is_file() || meta.len() <= max_file_bytes {
        return 0;
    }
    let path = rel.to_string_lossy().into_owned();
    if !left_out.iter().any(|l| l.path == path) {
        left_out.push(LeftOut {
            path,
            size: meta.len(),
        });
    }
    // Positive: skip this path.
    1
}

/// Commits every change in the checkout at `path` (added, modified and deleted files; ignored
/// files stay out, and so do files over `max_file_bytes`, listed in the result) on whatever HEAD
/// is.
pub fn commit_all(
    path: &Path,
    author: (&str, &str),
    message: &str,
    max_file_bytes: u64,
) -> Result<Recorded, GitError> {
    let repo = Repository::open(path).map_err(|e| err(path, e))?;
    let workdir = repo.workdir().unwrap_or(path).to_path_buf();
    let mut index = repo.index().map_err(|e| err(path, e))?;
    let mut left_out = Vec::new();
    {
        let mut check =
            |rel: &Path, _spec: &[u8]| admit(&workdir, rel, max_file_bytes, &mut left_out);
        index
            .add_all(["*"], IndexAddOption::DEFAULT, Some(&mut check))
            .map_err(|e| err(path, e))?;
    }
    {
        let mut check =
            |rel: &Path, _spec: &[u8]| admit(&workdir, rel, max_file_bytes, &mut left_out);
        index
            .update_all(["*"], Some(&mut check))
            .map_err(|e| err(path, e))?;
    }
    index.write().map_err(|e| err(path, e))?;
    let tree_id = index.write_tree().map_err(|e| err(path, e))?;
    let parent = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|e| err(path, e))?;
    if parent.tree_id() == tree_id {
        return Ok(Recorded {
            commit: None,
            left_out,
        });
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
    Ok(Recorded {
        commit: Some(id.to_string()),
        left_out,
    })
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
