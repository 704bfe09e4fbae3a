//! The true state, when events may have been missed: what `git status` says differs from the
//! checkout's HEAD (the run's base commit), untracked files included, ignored files not.

use std::path::{Path, PathBuf};

use git2::{Repository, Status, StatusOptions};

use crate::{Change, ChangeKind};

/// Every changed, new or deleted file of the checkout at `root`.
pub fn changed_files(root: &Path) -> Result<Vec<Change>, git2::Error> {
    changed_files_up_to(root, usize::MAX).map(|(files, _)| files)
}

/// At most `limit` changed, new or deleted files of the checkout at `root`, and whether there
/// were more (a run that wrote a million files must not cost a million entries here).
pub fn changed_files_up_to(root: &Path, limit: usize) -> Result<(Vec<Change>, bool), git2::Error> {
    let repo = Repository::open(root)?;
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .include_unmodified(false);
    let statuses = repo.statuses(Some(&mut options))?;
    let mut changes = Vec::with_capacity(statuses.len().min(limit));
    for entry in statuses.iter() {
        if changes.len() >= limit {
            return Ok((changes, true));
        }
        let status = entry.status();
        let path = bytes_to_path(entry.path_bytes());
        let kind = if status.intersects(Status::WT_NEW | Status::INDEX_NEW) {
            ChangeKind::Created
        } else if status.intersects(Status::WT_DELETED | Status::INDEX_DELETED) {
            ChangeKind::Removed
        } else {
            ChangeKind::Modified
        };
        let size = match kind {
            ChangeKind::Removed => None,
            _ => std::fs::symlink_metadata(root.join(&path))
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
        };
        let link = match kind {
            ChangeKind::Removed => None,
            _ => crate::link_target(&root.join(&path)),
        };
        changes.push(Change {
            path,
            kind,
            size,
            link,
        });
    }
    Ok((changes, false))
}

fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}
