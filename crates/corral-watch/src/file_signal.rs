//! A signal for "one of these files was written": how processes sharing a data dir learn that
//! another one committed to the database (its write-ahead log changes) without polling it.

use std::path::Path;
use std::sync::Arc;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::Notify;

use crate::WatchError;

/// Watches the files of `dir` whose names start with a prefix; dropping it stops the watch.
#[derive(Debug)]
pub struct FileSignal {
    _watcher: notify::RecommendedWatcher,
    changed: Arc<Notify>,
}

impl FileSignal {
    /// Resolves after one of the files changed since the last call returned (a change in
    /// between is not lost).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// Starts watching `dir` (not its subfolders) for writes to files named `prefix...`.
pub fn watch_files(dir: &Path, prefix: &str) -> Result<FileSignal, WatchError> {
    let changed = Arc::new(Notify::new());
    let signal = changed.clone();
    let prefix = prefix.to_string();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let ours = event.paths.iter().any(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        });
        if ours {
            // Stores a permit when nobody waits, so the next `changed` sees it.
            signal.notify_one();
        }
    })
    .map_err(|e| WatchError::Watch {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| WatchError::Watch {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
    Ok(FileSignal {
        _watcher: watcher,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_write_to_a_watched_file_signals_and_others_do_not() {
        let dir = tempfile::tempdir().expect("temp");
        let signal = watch_files(dir.path(), "corral.db").expect("watch");
        std::fs::write(dir.path().join("other.txt"), "x").expect("write");
        let quiet = tokio::time::timeout(Duration::from_millis(300), signal.changed()).await;
        assert!(quiet.is_err(), "another file does not signal");
        std::fs::write(dir.path().join("corral.db-wal"), "x").expect("write");
        tokio::time::timeout(Duration::from_secs(5), signal.changed())
            .await
            .expect("the write signals");
    }
}
