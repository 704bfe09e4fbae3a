//! Merging a run's branch into the branch the user has checked out, in their own working tree,
//! with their own git (`git merge`, so their config and hooks apply). Git refuses before it
//! touches anything when the user's uncommitted changes touch the merged files: then nothing
//! changed, and the error names the files. A conflicting merge is aborted, leaving the tree as
//! it was.

use std::path::Path;
use std::process::Command;

use crate::GitError;
use crate::merge::{MergeOutcome, Style};

fn git(repo: &Path, args: &[&str]) -> Result<std::process::Output, GitError> {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_MERGE_AUTOEDIT", "no")
        // Git's own words, in English, are what is read back.
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| GitError::Other {
            path: repo.display().to_string(),
            message: format!("running git: {e}"),
        })
}

fn head(repo: &Path) -> Result<String, GitError> {
    let out = git(repo, &["rev-parse", "HEAD"])?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The files git names after `marker` in its message (one per tab-indented line).
fn named_files(text: &str, marker: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.contains(marker))
        .skip(1)
        .take_while(|l| l.starts_with('\t'))
        .map(|l| l.trim().to_string())
        .collect()
}

/// Merges `run_branch` into `target`, the branch checked out in `repo`, as `style` says: a
/// fast-forward when `target` has not moved or a merge commit with `message` when it has; one
/// squashed commit with `message`; or a fast-forward only.
pub fn merge_checked_out(
    repo: &Path,
    run_branch: &str,
    target: &str,
    (style, message): (Style, &str),
) -> Result<MergeOutcome, GitError> {
    let before = head(repo)?;
    let args: Vec<&str> = match style {
        Style::Merge => vec!["merge", "--no-edit", "-m", message, run_branch],
        Style::Squash => vec!["merge", "--squash", run_branch],
        Style::FfOnly => vec!["merge", "--ff-only", run_branch],
    };
    let out = git(repo, &args)?;
    if out.status.success() {
        if style == Style::Squash {
            // The squashed work is staged: one commit of it (none when it was there already).
            let staged = git(repo, &["diff", "--cached", "--quiet"])?;
            if staged.status.success() {
                return Ok(MergeOutcome::AlreadyMerged { commit: before });
            }
            let committed = git(repo, &["commit", "--no-verify", "-q", "-m", message])?;
            if !committed.status.success() {
                return Err(GitError::Other {
                    path: repo.display().to_string(),
                    message: format!(
                        "git commit of the squashed work: {}",
                        String::from_utf8_lossy(&committed.stderr).trim()
                    ),
                });
            }
            return Ok(MergeOutcome::Squashed {
                commit: head(repo)?,
            });
        }
        let after = head(repo)?;
        if after == before {
            return Ok(MergeOutcome::AlreadyMerged { commit: after });
        }
        let parents = git(repo, &["rev-list", "--parents", "-n", "1", "HEAD"])?;
        let merged = String::from_utf8_lossy(&parents.stdout)
            .split_whitespace()
            .count()
            > 2;
        return Ok(if merged {
            MergeOutcome::Merged { commit: after }
        } else {
            MergeOutcome::FastForward { commit: after }
        });
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // "Your local changes to the following files would be overwritten by merge", and the
    // same for untracked files (both messages end that way).
    if style == Style::FfOnly && text.contains("Not possible to fast-forward") {
        return Err(GitError::NotFastForward {
            branch: target.to_string(),
        });
    }
    let touched = named_files(&text, "would be overwritten by merge");
    if !touched.is_empty() {
        return Err(GitError::LocalChanges {
            branch: target.to_string(),
            paths: touched,
        });
    }
    let unmerged = git(repo, &["diff", "--name-only", "--diff-filter=U"])?;
    let paths: Vec<String> = String::from_utf8_lossy(&unmerged.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if !paths.is_empty() {
        // Back to how the user left it.
        let _ = git(repo, &["merge", "--abort"]);
        return Err(GitError::MergeConflict {
            branch: target.to_string(),
            paths,
        });
    }
    // Stopped half-way (a hook of the user's refused the merge commit, say): back to how the
    // user left it.
    let merging = git(repo, &["rev-parse", "-q", "--verify", "MERGE_HEAD"])?;
    if merging.status.success() {
        let _ = git(repo, &["merge", "--abort"]);
    }
    Err(GitError::Other {
        path: repo.display().to_string(),
        message: format!("git merge {run_branch}: {}", text.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_git_names_are_read() {
        let text = "error: Your local changes to the following files would be overwritten by merge:\n\tREADME\n\tsrc/a.rs\nPlease commit your changes or stash them before you merge.\nAborting\n";
        assert_eq!(
            named_files(text, "would be overwritten by merge"),
            ["README", "src/a.rs"]
        );
        let untracked = "error: The following untracked working tree files would be overwritten by merge:\n\tnew.txt\nPlease move or remove them before you merge.\n";
        assert_eq!(
            named_files(untracked, "would be overwritten by merge"),
            ["new.txt"]
        );
    }
}
