//! A run checkout's `.git` is writable by the sandbox, and git on the host executes what it
//! configures: `core.fsmonitor`, hooks, `core.hooksPath`, filter and diff drivers, and so on.
//! Corral's own git (libgit2) runs none of them, but a person's `git status` in the checkout
//! would. So Corral keeps its own copy of the checkout's config, made when the checkout was,
//! and puts it back (hooks emptied, redirections removed) after every step and before any git
//! use on the host. What the agent legitimately does with git (commits, branches, the index)
//! is untouched.

use std::path::{Path, PathBuf};

use crate::GitError;

/// Files in `.git` that redirect git elsewhere (another object store, another common dir) and
/// that a checkout made by Corral never has.
const REDIRECTIONS: [&str; 3] = ["commondir", "objects/info/alternates", "config.worktree"];

fn io(path: &Path, e: std::io::Error) -> GitError {
    GitError::Other {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Removes whatever is at `path` (file, link or folder) without following a link.
fn remove_any(path: &Path) -> std::io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path).map(|()| true),
        Ok(_) => std::fs::remove_file(path).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The `.git` folder of `checkout`, refusing one that is not a real folder (a link, or a
/// `gitdir:` file pointing git somewhere the sandbox chose).
fn git_dir(checkout: &Path) -> Result<PathBuf, GitError> {
    let dir = checkout.join(".git");
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => Ok(dir),
        Ok(_) => Err(GitError::Tampered {
            path: dir.display().to_string(),
            what: "`.git` was replaced by a file or a link".into(),
        }),
        Err(e) => Err(io(&dir, e)),
    }
}

/// Corral's copy of a checkout's git config, taken right after the checkout was made.
pub fn save_git_config(checkout: &Path, copy: &Path) -> Result<(), GitError> {
    let config = git_dir(checkout)?.join("config");
    let text = std::fs::read(&config).map_err(|e| io(&config, e))?;
    std::fs::write(copy, text).map_err(|e| io(copy, e))
}

/// Refuses a `.git` holding a link or anything but folders and regular files: libgit2 on the
/// host would write through a link (the index, a ref, the reflog) or block on a FIFO.
fn refuse_links(dir: &Path) -> Result<(), GitError> {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| io(&folder, e))? {
            let entry = entry.map_err(|e| io(&folder, e))?;
            let kind = entry.file_type().map_err(|e| io(&entry.path(), e))?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if !kind.is_file() {
                return Err(GitError::Tampered {
                    path: entry.path().display().to_string(),
                    what: "the sandbox put a link or a special file inside `.git`".into(),
                });
            }
        }
    }
    Ok(())
}

/// Puts the checkout's `.git` back in a state that runs nothing on the host: the config from
/// Corral's `copy`, an empty hooks folder, no redirections. Returns what had been changed, in
/// words for the run's log (empty when nothing was).
pub fn restore_git_dir(checkout: &Path, copy: &Path) -> Result<Vec<String>, GitError> {
    let dir = git_dir(checkout)?;
    let mut changed = Vec::new();
    let saved = std::fs::read(copy).map_err(|e| io(copy, e))?;
    let config = dir.join("config");
    let same = std::fs::symlink_metadata(&config).is_ok_and(|m| m.is_file())
        && std::fs::read(&config).is_ok_and(|now| now == saved);
    if !same {
        remove_any(&config).map_err(|e| io(&config, e))?;
        std::fs::write(&config, &saved).map_err(|e| io(&config, e))?;
        changed.push(".git/config".to_string());
    }
    let hooks = dir.join("hooks");
    let hooks_clean = match std::fs::symlink_metadata(&hooks) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(&hooks)
            .map_err(|e| io(&hooks, e))?
            .flatten()
            .all(|entry| entry.file_name().to_string_lossy().ends_with(".sample")),
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io(&hooks, e)),
    };
    if !hooks_clean {
        remove_any(&hooks).map_err(|e| io(&hooks, e))?;
        std::fs::create_dir(&hooks).map_err(|e| io(&hooks, e))?;
        changed.push(".git/hooks".to_string());
    }
    for name in REDIRECTIONS {
        let path = dir.join(name);
        if remove_any(&path).map_err(|e| io(&path, e))? {
            changed.push(format!(".git/{name}"));
        }
    }
    refuse_links(&dir)?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_config_hooks_and_redirections_are_put_back() {
        let dir = tempfile::tempdir().expect("temp");
        let checkout = dir.path().join("c");
        let git = checkout.join(".git");
        std::fs::create_dir_all(git.join("hooks")).expect("mkdir");
        std::fs::create_dir_all(git.join("objects/info")).expect("mkdir");
        std::fs::write(git.join("config"), "[core]\n\tbare = false\n").expect("write");
        let copy = dir.path().join("copy");
        save_git_config(&checkout, &copy).expect("saved");
        assert!(restore_git_dir(&checkout, &copy).expect("ok").is_empty());

        std::fs::write(git.join("config"), "[core]\n\tfsmonitor = touch /tmp/x\n").expect("w");
        std::fs::write(git.join("hooks/pre-commit"), "#!/bin/sh\ntouch /tmp/x\n").expect("w");
        std::fs::write(git.join("objects/info/alternates"), "/home\n").expect("w");
        let changed = restore_git_dir(&checkout, &copy).expect("ok");
        assert_eq!(
            changed,
            [".git/config", ".git/hooks", ".git/objects/info/alternates"]
        );
        assert_eq!(
            std::fs::read_to_string(git.join("config")).expect("read"),
            "[core]\n\tbare = false\n"
        );
        assert_eq!(std::fs::read_dir(git.join("hooks")).expect("ls").count(), 0);

        // A config replaced by a link to a host file: the link goes, the host file stays.
        let host = dir.path().join("host-file");
        std::fs::write(&host, "host").expect("w");
        std::fs::remove_file(git.join("config")).expect("rm");
        std::os::unix::fs::symlink(&host, git.join("config")).expect("link");
        assert_eq!(
            restore_git_dir(&checkout, &copy).expect("ok"),
            [".git/config"]
        );
        assert_eq!(std::fs::read_to_string(&host).expect("read"), "host");
        assert!(
            !std::fs::symlink_metadata(git.join("config"))
                .expect("meta")
                .file_type()
                .is_symlink()
        );

        // A link anywhere inside `.git` (here the index) is refused: libgit2 would write
        // through it.
        std::os::unix::fs::symlink(&host, git.join("index")).expect("link");
        let err = restore_git_dir(&checkout, &copy).expect_err("refused");
        assert!(matches!(err, GitError::Tampered { .. }), "{err}");
        std::fs::remove_file(git.join("index")).expect("rm");

        // `.git` itself replaced by a `gitdir:` file is refused, not followed.
        std::fs::remove_dir_all(&git).expect("rm");
        std::fs::write(&git, "gitdir: /elsewhere\n").expect("w");
        let err = restore_git_dir(&checkout, &copy).expect_err("refused");
        assert!(matches!(err, GitError::Tampered { .. }), "{err}");
    }
}
