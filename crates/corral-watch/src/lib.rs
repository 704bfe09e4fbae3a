//! Watching a run's checkout: every file the agent creates, changes, renames or removes, as a
//! coalesced stream of changes, skipping `.git/` and whatever the repository ignores. When the
//! OS may have lost events (queue overflow) or the ignore rules change, a rescan reports the
//! true state from `git status`; when inotify watches run out it falls back to polling, with a
//! warning. Nothing is dropped silently.

mod coalesce;
mod file_signal;
mod ignore_rules;
mod rescan;
mod watcher;

pub use coalesce::{Change, ChangeKind};
pub use file_signal::{FileSignal, watch_files};
pub use rescan::{changed_files, changed_files_up_to};
pub use watcher::{RESCAN_LIMIT, WatchConfig, WatchEvent, WatchHandle, watch};

/// The target text of the symbolic link at `path`, or `None` when it is not a link. The link is
/// read, never followed.
pub fn link_target(path: &std::path::Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    std::fs::read_link(path)
        .ok()
        .map(|t| t.to_string_lossy().into_owned())
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{path} is not a folder that can be watched: {message}")]
    Root { path: String, message: String },
    #[error("cannot watch {path}: {message}")]
    Watch { path: String, message: String },
}
