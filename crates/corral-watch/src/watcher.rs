//! The watcher task: notify's callback (on its own thread) feeds a bounded channel; a tokio
//! task filters, coalesces and sends batches of changes to the owner, until the handle is
//! dropped or the root disappears.
//!
//! The checkout is written by code we do not trust: nothing here follows a symbolic link. A
//! link is one entry (reported with its target text); what it points at is never watched,
//! walked or read.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use notify::event::{CreateKind, ModifyKind, RemoveKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{mpsc, oneshot};

use crate::coalesce::{Coalescer, Raw};
use crate::ignore_rules::IgnoreRules;
use crate::{Change, WatchError, rescan};

#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Changes of one path within this window become one change.
    pub coalesce: Duration,
    /// Capacity of the raw event queue and of the outgoing batch queue.
    pub queue: usize,
    /// How often the polling fallback looks at the tree.
    pub poll_interval: Duration,
    /// Behave as if the OS had no inotify watches left (tests of the fallback).
    pub simulate_watch_limit: bool,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            coalesce: Duration::from_millis(30),
            queue: 8192,
            poll_interval: Duration::from_millis(500),
            simulate_watch_limit: false,
        }
    }
}

/// What the owner of a watch receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Coalesced changes, in the order they were first seen.
    Changes(Vec<Change>),
    /// Events may have been missed, or the ignore rules changed: `files` is every file that
    /// now differs from the checkout's HEAD, per git status, up to `RESCAN_LIMIT`
    /// (`truncated`: there were more).
    Rescan {
        reason: String,
        files: Vec<Change>,
        truncated: bool,
    },
    /// Watching degraded (e.g. to polling); changes are still reported.
    Warning(String),
    /// The watched folder was deleted; the watch has ended.
    RootGone,
}

/// Owns a running watch: dropping it (or `stop`) ends the watch.
#[derive(Debug)]
pub struct WatchHandle {
    stop: Option<oneshot::Sender<()>>,
}

impl WatchHandle {
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

type RawResult = notify::Result<notify::Event>;

/// notify follows links by default: into `/` for a link to it, watching and walking the host.
fn no_links() -> notify::Config {
    notify::Config::default().with_follow_symlinks(false)
}

/// A real folder: not a link to one.
fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Starts watching `root` (recursively). Must be called within a tokio runtime.
pub fn watch(
    root: &Path,
    config: WatchConfig,
) -> Result<(WatchHandle, mpsc::Receiver<WatchEvent>), WatchError> {
    let root = root.canonicalize().map_err(|e| WatchError::Root {
        path: root.display().to_string(),
        message: e.to_string(),
    })?;
    let (raw_tx, raw_rx) = mpsc::channel::<RawResult>(config.queue);
    let overflow = Arc::new(AtomicBool::new(false));
    let handler = {
        let overflow = overflow.clone();
        move |event: RawResult| {
            if raw_tx.try_send(event).is_err() {
                // Full: remember to rescan rather than lose the change silently.
                overflow.store(true, Ordering::SeqCst);
            }
        }
    };
    let (out_tx, out_rx) = mpsc::channel(config.queue);
    let mut warnings = Vec::new();
    let native = if config.simulate_watch_limit {
        Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch))
    } else {
        notify::RecommendedWatcher::new(handler.clone(), no_links()).and_then(|mut w| {
            w.watch(&root, RecursiveMode::Recursive)?;
            Ok(Box::new(w) as Box<dyn Watcher + Send>)
        })
    };
    let watcher: Box<dyn Watcher + Send> = match native {
        Ok(w) => w,
        Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
            let text = format!(
                "the system's inotify watch limit is reached (raise fs.inotify.max_user_watches); \
                 polling {} every {} ms instead",
                root.display(),
                config.poll_interval.as_millis()
            );
            tracing::warn!("{text}");
            warnings.push(text);
            let poll_config = no_links().with_poll_interval(config.poll_interval);
            let mut poll =
                notify::PollWatcher::new(handler, poll_config).map_err(|e| WatchError::Watch {
                    path: root.display().to_string(),
                    message: e.to_string(),
                })?;
            poll.watch(&root, RecursiveMode::Recursive)
                .map_err(|e| WatchError::Watch {
                    path: root.display().to_string(),
                    message: e.to_string(),
                })?;
            Box::new(poll)
        }
        Err(e) => {
            return Err(WatchError::Watch {
                path: root.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = Task {
        root: root.clone(),
        rules: IgnoreRules::new(&root),
        coalescer: Coalescer::default(),
        config,
        overflow,
        out: out_tx,
        rescan_reason: None,
        moved_away: std::collections::HashSet::new(),
        known: std::collections::HashSet::new(),
        fresh_dirs: Vec::new(),
    };
    tokio::spawn(task.run(watcher, raw_rx, stop_rx, warnings));
    Ok((
        WatchHandle {
            stop: Some(stop_tx),
        },
        out_rx,
    ))
}

struct Task {
    root: PathBuf,
    rules: IgnoreRules,
    coalescer: Coalescer,
    config: WatchConfig,
    overflow: Arc<AtomicBool>,
    out: mpsc::Sender<WatchEvent>,
    rescan_reason: Option<String>,
    /// Paths reported as renamed away and not yet flushed.
    moved_away: std::collections::HashSet<PathBuf>,
    /// Files reported as existing (created, modified, renamed) and not removed since.
    known: std::collections::HashSet<PathBuf>,
    /// Folders that appeared recently, walked once more after the window: files written into
    /// them before notify watched them have no events of their own.
    fresh_dirs: Vec<(PathBuf, Instant)>,
}

/// The most files one rescan reports: a run that wrote a million files costs no more.
pub const RESCAN_LIMIT: usize = 20_000;
/// The most files remembered as reported (to skip them when a new folder is walked again);
/// past it, a file may be reported twice, never missed.
const KNOWN_LIMIT: usize = 100_000;

/// How often the task looks for the root and a queue overflow while nothing happens.
const IDLE_CHECK: Duration = Duration::from_millis(250);

impl Task {
    async fn run(
        mut self,
        watcher: Box<dyn Watcher + Send>,
        mut raw: mpsc::Receiver<RawResult>,
        mut stop: oneshot::Receiver<()>,
        warnings: Vec<String>,
    ) {
        // The watcher lives exactly as long as this task.
        let _watcher = watcher;
        for warning in warnings {
            if self.out.send(WatchEvent::Warning(warning)).await.is_err() {
                return;
            }
        }
        loop {
            let wait = if self.coalescer.is_empty() && self.fresh_dirs.is_empty() {
                IDLE_CHECK
            } else {
                self.config.coalesce / 2
            };
            tokio::select! {
                _ = &mut stop => return,
                event = raw.recv() => match event {
                    Some(event) => self.take(event),
                    None => return,
                },
                _ = tokio::time::sleep(wait) => {}
            }
            // Drain what else is queued without waiting.
            while let Ok(event) = raw.try_recv() {
                self.take(event);
            }
            if !self.flush().await {
                return;
            }
        }
    }

    fn relative(&self, path: &Path) -> Option<PathBuf> {
        let rel = path.strip_prefix(&self.root).ok()?;
        (!rel.as_os_str().is_empty()).then(|| rel.to_path_buf())
    }

    /// Files under a folder that appeared (created or moved in): their own events may have
    /// come before the folder was watched.
    fn add_tree(&mut self, dir: &Path, now: Instant) {
        self.fresh_dirs.push((dir.to_path_buf(), now));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(rel) = self.relative(&path) else {
                continue;
            };
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if self.rules.is_ignored(&rel, is_dir) {
                continue;
            }
            if is_dir {
                self.add_tree(&path, now);
            } else if !self.known.contains(&rel) {
                self.coalescer.add(rel, Raw::Create, now);
            }
        }
    }

    /// Walks again the folders that appeared at least two windows ago (their watches exist
    /// by now), adding files nothing reported yet.
    fn rewalk_fresh_dirs(&mut self, now: Instant) {
        let settle = self.config.coalesce * 2;
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.fresh_dirs)
            .into_iter()
            .partition(|(_, seen)| now.duration_since(*seen) >= settle);
        self.fresh_dirs = waiting;
        for (dir, _) in due {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Some(rel) = self.relative(&path) else {
                    continue;
                };
                let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if is_dir || self.known.contains(&rel) || self.rules.is_ignored(&rel, false) {
                    continue;
                }
                self.coalescer.add(rel, Raw::Create, now);
            }
        }
    }

    fn take(&mut self, event: RawResult) {
        let now = Instant::now();
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(error = %err, "file watcher error; rescanning");
                self.rescan_reason
                    .get_or_insert_with(|| format!("the watcher reported an error: {err}"));
                return;
            }
        };
        if event.need_rescan() {
            self.rescan_reason
                .get_or_insert_with(|| "the OS event queue overflowed".to_string());
            return;
        }
        let raw = match event.kind {
            EventKind::Create(_) => Raw::Create,
            EventKind::Remove(_) => Raw::Remove,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to] = event.paths.as_slice()
                    && let (Some(from), Some(to)) = (self.relative(from), self.relative(to))
                {
                    let to_ignored = self.rules.is_ignored(&to, false);
                    if !self.rules.is_ignored(&from, false) || !to_ignored {
                        self.coalescer.add_rename(from, to, now);
                    }
                    if is_real_dir(&event.paths[1]) {
                        let dir = event.paths[1].clone();
                        self.add_tree(&dir, now);
                    }
                }
                return;
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) => Raw::RenamedAway,
            EventKind::Modify(ModifyKind::Name(_)) => Raw::Create,
            EventKind::Modify(_) => Raw::Modify,
            // Reads, opens and closes change nothing.
            EventKind::Access(_) | EventKind::Any | EventKind::Other => return,
        };
        for path in &event.paths {
            let Some(rel) = self.relative(path) else {
                continue;
            };
            if rel.file_name() == Some(".gitignore".as_ref()) {
                self.rules.reload();
                self.rescan_reason
                    .get_or_insert_with(|| format!("{} changed", rel.display()));
            }
            let is_dir = matches!(
                event.kind,
                EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder)
            ) || (raw == Raw::Create && is_real_dir(path));
            if self.rules.is_ignored(&rel, is_dir) {
                continue;
            }
            if is_dir {
                if raw == Raw::Create {
                    self.add_tree(path, now);
                }
                // A folder's own entry is not a file change; its files report themselves.
                continue;
            }
            if raw == Raw::RenamedAway {
                self.moved_away.insert(rel.clone());
            }
            self.coalescer.add(rel, raw, now);
        }
    }

    /// Sends what is due. Returns false when the watch is over.
    async fn flush(&mut self) -> bool {
        if !self.root.is_dir() {
            let _ = self.out.send(WatchEvent::RootGone).await;
            return false;
        }
        if self.overflow.swap(false, Ordering::SeqCst) {
            self.rescan_reason
                .get_or_insert_with(|| "the watcher's queue was full".to_string());
        }
        self.rewalk_fresh_dirs(Instant::now());
        let root = self.root.clone();
        let mut changes = self
            .coalescer
            .take_due(Instant::now(), self.config.coalesce, |rel| {
                std::fs::symlink_metadata(root.join(rel))
                    .ok()
                    .map(|m| m.is_file().then_some(m.len()))
            });
        for change in &mut changes {
            if change.kind != crate::ChangeKind::Removed {
                change.link = crate::link_target(&self.root.join(&change.path));
            }
            match &change.kind {
                crate::ChangeKind::Removed => self.known.remove(&change.path),
                crate::ChangeKind::Renamed { from } => {
                    self.known.remove(from);
                    self.known.insert(change.path.clone())
                }
                _ if self.known.len() < KNOWN_LIMIT => self.known.insert(change.path.clone()),
                _ => false,
            };
            if self.moved_away.remove(&change.path) && change.kind == crate::ChangeKind::Removed {
                // Moved out of the checkout with no new name here: if it was a folder, its
                // files left silently, and only git knows which.
                self.rescan_reason
                    .get_or_insert_with(|| format!("{} was moved away", change.path.display()));
            }
        }
        if !changes.is_empty() && self.out.send(WatchEvent::Changes(changes)).await.is_err() {
            return false;
        }
        if let Some(reason) = self.rescan_reason.take() {
            let root = self.root.clone();
            let files = tokio::task::spawn_blocking(move || {
                rescan::changed_files_up_to(&root, RESCAN_LIMIT)
            })
            .await;
            match files {
                Ok(Ok((files, truncated))) => {
                    if self
                        .out
                        .send(WatchEvent::Rescan {
                            reason,
                            files,
                            truncated,
                        })
                        .await
                        .is_err()
                    {
                        return false;
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "rescan failed"),
                Err(e) => tracing::warn!(error = %e, "rescan task failed"),
            }
        }
        true
    }
}
