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
