//! Bringing the results of the tasks a task runs after into its new checkout, before its run
//! starts: each upstream commit merged in order (a merge commit by Corral; nothing to do when
//! the checkout holds it already; a fast-forward when the checkout holds nothing else). All or
//! nothing: the merges are made in the object store first, and the branch and working tree
//! move only when every one of them is clean.

use std::path::Path;

use git2::{Oid, Repository, Signature, build::CheckoutBuilder};

use crate::GitError;

/// One upstream result to bring in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamResult {
    /// How the user knows it (the upstream task's title).
    pub label: String,
    pub commit: String,
    /// The branch it was published as, to say how to restore it when it is gone.
    pub branch: Option<String>,
}

/// What `merge_upstream` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamMerge {
    /// The checkout's commit now (the run's base).
    pub head: String,
    /// The checkout's commit before anything was merged: the project branch it started from.
    pub start: String,
    /// Per upstream result, in order: whether it had to be brought in (false: already there).
    pub merged: Vec<bool>,
}

fn err(path: &Path, e: git2::Error) -> GitError {
    GitError::Other {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

/// Merges `upstream` into the checkout's `branch` (checked out), in order.
pub fn merge_upstream(
    checkout: &Path,
    branch: &str,
    upstream: &[UpstreamResult],
    author: (&str, &str),
) -> Result<UpstreamMerge, GitError> {
    let repo = Repository::open(checkout).map_err(|e| err(checkout, e))?;
    let reference = format!("refs/heads/{branch}");
    let start = repo
        .refname_to_id(&reference)
        .map_err(|e| err(checkout, e))?;
    let signature = Signature::now(author.0, author.1).map_err(|e| err(checkout, e))?;
    let mut head = start;
    let mut merged = Vec::with_capacity(upstream.len());
    for result in upstream {
        let missing = || GitError::UpstreamMissing {
            task: result.label.clone(),
            commit: result.commit.clone(),
            branch: result.branch.clone(),
        };
        let theirs = Oid::from_str(&result.commit).map_err(|_| missing())?;
        let their_commit = repo.find_commit(theirs).map_err(|_| missing())?;
        if head == theirs
            || repo
                .graph_descendant_of(head, theirs)
                .map_err(|e| err(checkout, e))?
        {
            merged.push(false);
            continue;
        }
        if repo
            .graph_descendant_of(theirs, head)
            .map_err(|e| err(checkout, e))?
        {
            // Nothing here that is not in theirs: take it as it is.
            head = theirs;
            merged.push(true);
            continue;
        }
        let ours = repo.find_commit(head).map_err(|e| err(checkout, e))?;
        let mut index = repo
            .merge_commits(&ours, &their_commit, None)
            .map_err(|e| err(checkout, e))?;
        if index.has_conflicts() {
            let mut paths: Vec<String> = index
                .conflicts()
                .map_err(|e| err(checkout, e))?
                .filter_map(Result::ok)
                .filter_map(|c| c.our.or(c.their).or(c.ancestor))
                .map(|entry| String::from_utf8_lossy(&entry.path).into_owned())
                .collect();
            paths.sort();
            paths.dedup();
            return Err(GitError::UpstreamConflict {
                task: result.label.clone(),
                paths,
            });
        }
        let tree_id = index.write_tree_to(&repo).map_err(|e| err(checkout, e))?;
        let tree = repo.find_tree(tree_id).map_err(|e| err(checkout, e))?;
        let short = &result.commit[..result.commit.len().min(12)];
        head = repo
            .commit(
                None,
                &signature,
                &signature,
                &format!("Merge the work of `{}` ({short})", result.label),
                &tree,
                &[&ours, &their_commit],
            )
            .map_err(|e| err(checkout, e))?;
        merged.push(true);
    }
    if head != start {
        let target = repo.find_object(head, None).map_err(|e| err(checkout, e))?;
        repo.checkout_tree(&target, Some(CheckoutBuilder::new().safe()))
            .map_err(|e| err(checkout, e))?;
        repo.reference(&reference, head, true, "corral: upstream work merged")
            .map_err(|e| err(checkout, e))?;
    }
    Ok(UpstreamMerge {
        head: head.to_string(),
        start: start.to_string(),
        merged,
    })
}
