//! The cache of a project added by URL: a bare repository in Corral's data dir holding the
//! remote's branches, fetched before each run. Runs check out from it and publish their
//! `corral/...` branches into it (the remote is never pushed to).
//!
//! The network part runs the user's own `git` program rather than libgit2, so it behaves as
//! `git fetch` does for them: their credential helpers, SSH agent, `~/.ssh/config` host
//! aliases, proxies and `insteadOf` rewrites all apply. It never prompts (no terminal, and
//! `GIT_TERMINAL_PROMPT=0`): missing credentials are an error that says so.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::GitError;

/// Upstream branches land under the same names; no pruning, so the `corral/...` branches
/// runs published here stay.
const REFSPEC: &str = "+refs/heads/*:refs/heads/*";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSync {
    /// The remote's default branch (its HEAD), when it names one.
    pub default_branch: Option<String>,
    /// Whether this call made the mirror (the first fetch of the project).
    pub created: bool,
}

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    command
}

fn failed(url: &str, what: &str, stderr: &[u8]) -> GitError {
    let text = String::from_utf8_lossy(stderr);
    let last = text
        .split(['\n', '\r'])
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_string();
    GitError::Other {
        path: url.to_string(),
        message: format!("{what} failed: {last}"),
    }
}

fn spawn_error(url: &str, e: std::io::Error) -> GitError {
    GitError::Other {
        path: url.to_string(),
        message: format!("cannot run git: {e}"),
    }
}

/// Makes the mirror of `url` at `dest` when it does not exist, then fetches every branch.
/// `progress` gets git's progress lines while objects arrive.
pub fn sync_mirror(
    url: &str,
    dest: &Path,
    progress: &mut dyn FnMut(String),
) -> Result<MirrorSync, GitError> {
    let created = !dest.join("HEAD").exists();
    let parent = dest.parent().unwrap_or(dest);
    if created {
        if dest.exists() {
            // Half-made by an earlier attempt that failed: ours to remake.
            let _ = std::fs::remove_dir_all(dest);
        }
        std::fs::create_dir_all(parent).map_err(|e| GitError::Other {
            path: parent.display().to_string(),
            message: e.to_string(),
        })?;
        let out = git(parent)
            .args(["init", "--bare", "--quiet"])
            .arg(dest)
            .output()
            .map_err(|e| spawn_error(url, e))?;
        if !out.status.success() {
            return Err(failed(url, "creating the mirror", &out.stderr));
        }
    }
    let result = fetch(url, dest, progress);
    if result.is_err() && created {
        let _ = std::fs::remove_dir_all(dest);
    }
    let default_branch = result?;
    if let Some(branch) = &default_branch {
        // The mirror's HEAD follows the remote's, so a clone of it starts there.
        let _ = git(dest)
            .args(["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")])
            .output();
    }
    Ok(MirrorSync {
        default_branch,
        created,
    })
}

fn fetch(
    url: &str,
    dest: &Path,
    progress: &mut dyn FnMut(String),
) -> Result<Option<String>, GitError> {
    let mut child = git(dest)
        .args(["fetch", "--progress", "--no-tags", url, REFSPEC])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(url, e))?;
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stderr.take() {
        let mut buf = [0u8; 4096];
        let mut pending = Vec::new();
        let mut last_shown = String::new();
        loop {
            let n = pipe.read(&mut buf).map_err(|e| spawn_error(url, e))?;
            if n == 0 {
                break;
            }
            stderr.extend_from_slice(&buf[..n]);
            pending.extend_from_slice(&buf[..n]);
            // git rewrites its progress line with \r; report each finished phase once.
            while let Some(end) = pending.iter().position(|b| *b == b'\n' || *b == b'\r') {
                let line = String::from_utf8_lossy(&pending[..end]).trim().to_string();
                pending.drain(..=end);
                let phase_done = line.contains("done") || line.ends_with("100%");
                if !line.is_empty() && phase_done && line != last_shown {
                    progress(line.clone());
                    last_shown = line;
                }
            }
        }
    }
    let status = child.wait().map_err(|e| spawn_error(url, e))?;
    if !status.success() {
        return Err(failed(url, "fetching", &stderr));
    }
    let out = git(dest)
        .args(["ls-remote", "--symref", url, "HEAD"])
        .output()
        .map_err(|e| spawn_error(url, e))?;
    if !out.status.success() {
        return Err(failed(url, "reading the remote's HEAD", &out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        l.strip_prefix("ref: refs/heads/")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    }))
}
