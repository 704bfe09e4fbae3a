//! Merging a run's branch into the project branch of the user's repository. The merge itself
//! (a fast-forward, a merge commit or a squashed commit; conflicts found) happens in the run's
//! checkout, never in the user's tree. Then the user's branch moves forward to it: atomically
//! (compare-and-swap on the ref) when it is not checked out, or with the user's own git (`git
//! merge --ff-only`, which refuses, changing nothing, when their uncommitted changes are in the
//! way) when it is.

use std::path::Path;

use git2::{BranchType, MergeOptions, Oid, Repository, Signature};

use crate::GitError;

/// How a run's result goes into the target branch (the project's `merge-style`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A fast-forward when the target has not moved, a merge commit when it has.
    Merge,
    /// The run's work as one new commit on the target.
    Squash,
    /// Only a fast-forward.
    FfOnly,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The target had not moved: it now points at the run's result.
    FastForward { commit: String },
    /// The target had moved on: a merge commit joins both.
    Merged { commit: String },
    /// The run's work as one new commit on the target.
    Squashed { commit: String },
    /// The run's result is already in the target.
    AlreadyMerged { commit: String },
}

impl MergeOutcome {
    pub fn commit(&self) -> &str {
        match self {
            MergeOutcome::FastForward { commit }
            | MergeOutcome::Merged { commit }
            | MergeOutcome::Squashed { commit }
            | MergeOutcome::AlreadyMerged { commit } => commit,
        }
    }
}

fn err(path: &Path, e: git2::Error) -> GitError {
    GitError::Other {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

/// Merges `run_branch` of the checkout at `checkout` into `target` of the repository at `user`.
pub fn merge_run(
    user: &Path,
    checkout: &Path,
    run_branch: &str,
    target: &str,
    author: (&str, &str),
    (style, message): (Style, &str),
) -> Result<MergeOutcome, GitError> {
    let user_repo = Repository::open(user).map_err(|e| err(user, e))?;
    let checked_out = !user_repo.is_bare()
        && user_repo
            .head()
            .ok()
            .is_some_and(|h| h.is_branch() && h.shorthand().ok() == Some(target));
    if checked_out {
        crate::merge_here::ready_to_merge(user, target)?;
    }
    let target_ref = format!("refs/heads/{target}");
    let target_before = user_repo
        .find_branch(target, BranchType::Local)
        .and_then(|b| b.get().peel_to_commit())
        .map_err(|e| err(user, e))?
        .id();

    let co = Repository::open(checkout).map_err(|e| err(checkout, e))?;
    let user_url = user.to_str().ok_or_else(|| GitError::Other {
        path: user.display().to_string(),
        message: "the repository path is not valid UTF-8".into(),
    })?;
    co.remote_anonymous(user_url)
        .and_then(|mut r| {
            r.fetch(
                &[format!("+{target_ref}:refs/corral/target").as_str()],
                None,
                None,
            )
        })
        .map_err(|e| err(checkout, e))?;
    let target_commit = co
        .find_commit(target_before)
        .map_err(|e| err(checkout, e))?;
    let run_commit = co
        .find_branch(run_branch, BranchType::Local)
        .and_then(|b| b.get().peel_to_commit())
        .map_err(|e| err(checkout, e))?;

    let (new, outcome): (Oid, fn(String) -> MergeOutcome) = if run_commit.id() == target_commit.id()
        || co
            .graph_descendant_of(target_commit.id(), run_commit.id())
            .map_err(|e| err(checkout, e))?
    {
        let id = target_commit.id();
        (id, |commit| MergeOutcome::AlreadyMerged { commit })
    } else if style != Style::Squash
        && co
            .graph_descendant_of(run_commit.id(), target_commit.id())
            .map_err(|e| err(checkout, e))?
    {
        (run_commit.id(), |commit| MergeOutcome::FastForward {
            commit,
        })
    } else if style == Style::FfOnly {
        return Err(GitError::NotFastForward {
            branch: target.to_string(),
        });
    } else {
        let mut index = co
            .merge_commits(&target_commit, &run_commit, Some(&MergeOptions::new()))
            .map_err(|e| err(checkout, e))?;
        if index.has_conflicts() {
            let mut paths: Vec<String> = index
                .conflicts()
                .map_err(|e| err(checkout, e))?
                .filter_map(|c| c.ok())
                .filter_map(|c| c.our.or(c.their).or(c.ancestor))
                .map(|entry| String::from_utf8_lossy(&entry.path).into_owned())
                .collect();
            paths.sort();
            paths.dedup();
            return Err(GitError::MergeConflict {
                branch: target.to_string(),
                paths,
            });
        }
        let tree = index
            .write_tree_to(&co)
            .and_then(|id| co.find_tree(id))
            .map_err(|e| err(checkout, e))?;
        if style == Style::Squash && tree.id() == target_commit.tree_id() {
            // The work is in the target already: nothing to squash.
            return Ok(MergeOutcome::AlreadyMerged {
                commit: target_commit.id().to_string(),
            });
        }
        let sig = Signature::now(author.0, author.1).map_err(|e| err(checkout, e))?;
        let (parents, outcome): (Vec<&git2::Commit>, fn(String) -> MergeOutcome) =
            if style == Style::Squash {
                (vec![&target_commit], |commit| MergeOutcome::Squashed {
                    commit,
                })
            } else {
                (vec![&target_commit, &run_commit], |commit| {
                    MergeOutcome::Merged { commit }
                })
            };
        let id = co
            .commit(None, &sig, &sig, message, &tree, &parents)
            .map_err(|e| err(checkout, e))?;
        (id, outcome)
    };

    if new != target_before {
        // Bring the objects over under a scratch ref, then move the user's branch from exactly
        // the commit we merged onto: if they moved it meanwhile, nothing changes.
        co.reference("refs/corral/merged", new, true, "corral merge")
            .map_err(|e| err(checkout, e))?;
        let url = checkout.to_str().ok_or_else(|| GitError::Other {
            path: checkout.display().to_string(),
            message: "the checkout path is not valid UTF-8".into(),
        })?;
        user_repo
            .remote_anonymous(url)
            .and_then(|mut r| r.fetch(&["+refs/corral/merged:refs/corral/merged"], None, None))
            .map_err(|e| err(user, e))?;
        let moved = if checked_out {
            crate::merge_here::fast_forward_worktree(user, target, &new.to_string())
        } else {
            user_repo
                .reference_matching(
                    &target_ref,
                    new,
                    true,
                    target_before,
                    &format!("corral: merge {run_branch}"),
                )
                .map(|_| ())
                .map_err(|_| GitError::Other {
                    path: user.display().to_string(),
                    message: format!("`{target}` moved while merging; merge again"),
                })
        };
        if let Ok(mut scratch) = user_repo.find_reference("refs/corral/merged") {
            let _ = scratch.delete();
        }
        moved?;
    }
    Ok(outcome(new.to_string()))
}
