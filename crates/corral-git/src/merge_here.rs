//! Moving the branch the user has checked out to a merge Corral made, in their own working tree
//! with their own git: `git merge --ff-only <commit>`, which updates the tree only when nothing
//! of theirs is in the way, and otherwise refuses before it touches anything (the error names
//! the files). Nothing here ever stages, commits or aborts anything of the user's: a merge,
//! rebase or cherry-pick they have in progress is refused, not touched.

use std::path::Path;
use std::process::Command;

use crate::GitError;

fn git(repo: &Path, args: &[&str]) -> Result<std::process::Output, GitError> {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        // Git's own words, in English, are what is read back.
        .env("LC_ALL", "C")
        // Whatever the caller's environment says, this repository and its own tree.
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .map_err(|e| GitError::Other {
            path: repo.display().to_string(),
            message: format!("running git: {e}"),
        })
}

fn refused(repo: &Path, message: String) -> GitError {
    GitError::Other {
        path: repo.display().to_string(),
        message,
    }
}

/// Checks the user's repository can take a merge into `target` now: `target` is what is checked
/// out, and no merge, rebase, cherry-pick or revert of theirs is in progress.
pub(crate) fn ready_to_merge(repo: &Path, target: &str) -> Result<(), GitError> {
    let head = git(repo, &["symbolic-ref", "-q", "HEAD"])?;
    if String::from_utf8_lossy(&head.stdout).trim() != format!("refs/heads/{target}") {
        return Err(refused(
            repo,
            format!("`{target}` is no longer checked out there; merge again"),
        ));
    }
    let git_dir = git(repo, &["rev-parse", "--git-dir"])?;
    let git_dir = repo.join(String::from_utf8_lossy(&git_dir.stdout).trim());
    for (marker, what) in [
        ("MERGE_HEAD", "a merge"),
        ("CHERRY_PICK_HEAD", "a cherry-pick"),
        ("REVERT_HEAD", "a revert"),
        ("rebase-merge", "a rebase"),
        ("rebase-apply", "a rebase"),
    ] {
        if git_dir.join(marker).exists() {
            return Err(refused(
                repo,
                format!("you have {what} in progress there; finish it, then merge again"),
            ));
        }
    }
    Ok(())
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

/// Moves `target`, checked out in `repo`, forward to `commit` (which Corral's merge made on top
/// of it), updating the working tree with the user's git.
pub(crate) fn fast_forward_worktree(
    repo: &Path,
    target: &str,
    commit: &str,
) -> Result<(), GitError> {
    ready_to_merge(repo, target)?;
    let out = git(
        repo,
        &[
            "merge",
            "--ff-only",
            "--no-autostash",
            "--no-overwrite-ignore",
            "--quiet",
            commit,
        ],
    )?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // "Your local changes to the following files would be overwritten by merge", and the
    // same for untracked files (both messages end that way).
    let touched = named_files(&text, "would be overwritten by merge");
    if !touched.is_empty() {
        return Err(GitError::LocalChanges {
            branch: target.to_string(),
            paths: touched,
        });
    }
    if text.contains("Not possible to fast-forward") {
        return Err(refused(
            repo,
            format!("`{target}` moved while merging; merge again"),
        ));
    }
    Err(refused(
        repo,
        format!("git merge --ff-only: {}", text.trim()),
    ))
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
