//! Watching a live run's checkout: every change becomes a `FileChanged` entry in the run's log
//! (and a `file_changes` row, through the EventWriter) and an `EngineEvent::FilesChanged` with
//! the number of files that now differ from the base. After a restart, a first rescan records
//! what changed while nobody watched.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use corral_core::{FileChangeKind, Run, RunEventBody, RunId};
use corral_store::FileChangeQuery;
use corral_watch::{Change, ChangeKind, WatchConfig, WatchEvent, WatchHandle};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::error::EngineResult;
use crate::events::EngineEvent;

use super::overlaps::Overlaps;

/// Owns a checkout's watcher and the task recording its changes; dropping it stops both.
#[derive(Debug)]
pub(crate) struct CheckoutWatch {
    _handle: WatchHandle,
    recorder: JoinHandle<()>,
    finish: Option<oneshot::Sender<()>>,
}

/// How long `finish` lets the last events arrive (beyond the watcher's coalescing window).
const SETTLE: Duration = Duration::from_millis(150);
/// How often a live run looks for paths another live run of its project changed too.
const OVERLAP_EVERY: Duration = Duration::from_secs(2);

impl CheckoutWatch {
    /// Records the changes still in flight and a last rescan (so the recorded set is exactly
    /// git's), then stops.
    pub(crate) async fn finish(mut self) {
        if let Some(finish) = self.finish.take() {
            let _ = finish.send(());
        }
        if tokio::time::timeout(Duration::from_secs(10), &mut self.recorder)
            .await
            .is_err()
        {
            tracing::warn!("recording the last file changes took too long");
        }
    }
}

impl Drop for CheckoutWatch {
    fn drop(&mut self) {
        self.recorder.abort();
    }
}

fn lossy(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Files that differ from the base, by path, as the recorded changes say.
#[derive(Debug, Default)]
struct ChangedSet {
    files: HashMap<String, FileChangeKind>,
}

impl ChangedSet {
    /// Applies one change to the set of files that differ from the base.
    fn apply(&mut self, path: &str, kind: FileChangeKind) {
        match (self.files.get(path).copied(), kind) {
            // Made during the run and gone again: no difference from the base any more.
            (Some(FileChangeKind::Created), FileChangeKind::Removed) => {
                self.files.remove(path);
            }
            // Still a file the run made.
            (Some(FileChangeKind::Created), FileChangeKind::Modified) => {}
            _ => {
                self.files.insert(path.to_string(), kind);
            }
        }
    }
}

fn core_kind(kind: &ChangeKind) -> FileChangeKind {
    match kind {
        ChangeKind::Created => FileChangeKind::Created,
        ChangeKind::Modified => FileChangeKind::Modified,
        ChangeKind::Removed => FileChangeKind::Removed,
        ChangeKind::Renamed { .. } => FileChangeKind::Renamed,
    }
}

/// The most files one run records changes of: past it the run goes on, its commit and diff
/// hold everything, and its log says the list was cut (a million files must not cost a million
/// rows, nor hold up the run's other entries).
pub(crate) const MAX_RECORDED_CHANGES: usize = 10_000;

struct Recorder {
    ctx: Engine,
    run: Run,
    checkout: PathBuf,
    set: ChangedSet,
    /// Paths with a recorded change in this run (at most `MAX_RECORDED_CHANGES`).
    recorded: HashSet<String>,
    /// The list was cut at `MAX_RECORDED_CHANGES` (and the log says so).
    truncated: bool,
    /// Paths other live runs of the project changed too.
    overlaps: Overlaps,
}

impl Recorder {
    /// Whether a change of `path` may be recorded: a path already on the list always, a new
    /// one while the list has room. Says once in the log when it has none.
    async fn room(&mut self, path: &str) -> EngineResult<bool> {
        if self.truncated {
            return Ok(false);
        }
        if self.recorded.contains(path) {
            return Ok(true);
        }
        if self.recorded.len() < MAX_RECORDED_CHANGES {
            self.recorded.insert(path.to_string());
            return Ok(true);
        }
        self.truncate().await?;
        Ok(false)
    }

    async fn truncate(&mut self) -> EngineResult<()> {
        if self.truncated {
            return Ok(());
        }
        self.truncated = true;
        self.ctx
            .note(
                self.run.id,
                format!(
                    "more than {MAX_RECORDED_CHANGES} file changes: the list of changes stops \
                     here (the run goes on; its commit and `corral diff` hold every file)"
                ),
            )
            .await
    }

    async fn record(&mut self, change: &Change) -> EngineResult<()> {
        let path = lossy(&change.path);
        if !self.room(&path).await? {
            return Ok(());
        }
        let kind = core_kind(&change.kind);
        if let ChangeKind::Renamed { from } = &change.kind {
            self.set.apply(&lossy(from), FileChangeKind::Removed);
        }
        self.set.apply(&path, kind);
        self.ctx
            .append(
                self.run.id,
                RunEventBody::FileChanged {
                    path,
                    change: kind,
                    from: match &change.kind {
                        ChangeKind::Renamed { from } => Some(lossy(from)),
                        _ => None,
                    },
                    size: change.size,
                    link: change.link.clone(),
                },
            )
            .await
    }

    /// Brings the set in line with git's view, recording only what differs. A cut-short view
    /// (`truncated`) only adds: what it leaves out is not gone.
    async fn rescan(&mut self, files: Vec<Change>, truncated: bool) -> EngineResult<()> {
        if truncated {
            for change in &files {
                if self.set.files.get(&lossy(&change.path)) != Some(&core_kind(&change.kind)) {
                    self.record(change).await?;
                }
            }
            return self.truncate().await;
        }
        let now: HashMap<String, Change> = files.into_iter().map(|c| (lossy(&c.path), c)).collect();
        let gone: Vec<String> = self
            .set
            .files
            .keys()
            .filter(|p| !now.contains_key(*p))
            .cloned()
            .collect();
        for path in gone {
            // No longer differs from the base: removed if made during the run, else changed back.
            // Never follow a link the sandbox made: `symlink_metadata`, not `metadata`.
            let meta = std::fs::symlink_metadata(self.checkout.join(&path)).ok();
            let exists = meta.is_some();
            let size = meta.filter(|m| m.is_file()).map(|m| m.len());
            let kind = if exists {
                ChangeKind::Modified
            } else {
                ChangeKind::Removed
            };
            let link = corral_watch::link_target(&self.checkout.join(&path));
            self.record(&Change {
                path: PathBuf::from(&path),
                kind,
                size,
                link,
            })
            .await?;
            self.set.files.remove(&path);
        }
        for (path, change) in now {
            if self.set.files.get(&path) != Some(&core_kind(&change.kind)) {
                self.record(&change).await?;
            }
        }
        Ok(())
    }

    fn announce(&self) {
        let _ = self.ctx.bus.send(EngineEvent::FilesChanged {
            run_id: self.run.id,
            task_id: self.run.task_id,
            project_id: self.run.project_id,
            changed: self.set.files.len(),
        });
    }

    async fn handle(&mut self, event: WatchEvent) -> EngineResult<bool> {
        match event {
            WatchEvent::Changes(changes) => {
                for change in &changes {
                    self.record(change).await?;
                }
            }
            WatchEvent::Rescan {
                reason,
                files,
                truncated,
            } => {
                tracing::info!(%reason, "file watcher rescan");
                self.rescan(files, truncated).await?;
            }
            WatchEvent::Warning(text) => {
                self.ctx
                    .note(self.run.id, format!("file watcher: {text}"))
                    .await?;
            }
            WatchEvent::RootGone => {
                self.ctx
                    .note(
                        self.run.id,
                        "the checkout was deleted; file watching stopped",
                    )
                    .await?;
                return Ok(false);
            }
        }
        self.announce();
        Ok(true)
    }
}

/// The changed set as the recorded changes of a run left it, and every path recorded.
async fn recorded_set(ctx: &Engine, run: RunId) -> EngineResult<(ChangedSet, HashSet<String>)> {
    let mut set = ChangedSet::default();
    let mut paths = HashSet::new();
    for change in FileChangeQuery::for_run(ctx.store.db(), run).await? {
        set.apply(&change.path, change.kind);
        paths.insert(change.path);
    }
    Ok((set, paths))
}

/// What git sees as changed, cut at what the recorder can still take.
async fn git_view(checkout: &Path) -> Option<(Vec<Change>, bool)> {
    let root = checkout.to_path_buf();
    tokio::task::spawn_blocking(move || {
        corral_watch::changed_files_up_to(&root, MAX_RECORDED_CHANGES + 1)
    })
    .await
    .ok()?
    .ok()
}

/// Starts watching the run's checkout. A watcher that cannot start is a note, not a failure:
/// the run goes on and its diff is still computed from git.
pub(crate) async fn start(ctx: &Engine, run: &Run, checkout: &Path) -> Option<CheckoutWatch> {
    let (handle, mut events) = match corral_watch::watch(checkout, WatchConfig::default()) {
        Ok(watch) => watch,
        Err(err) => {
            let _ = ctx
                .note(run.id, format!("file changes are not watched: {err}"))
                .await;
            return None;
        }
    };
    let (set, recorded) = match recorded_set(ctx, run.id).await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(error = %err, "could not read the run's recorded file changes");
            (ChangedSet::default(), HashSet::new())
        }
    };
    let truncated = recorded.len() >= MAX_RECORDED_CHANGES;
    let overlaps = Overlaps::load(ctx, run.id).await;
    let mut recorder = Recorder {
        ctx: ctx.clone(),
        run: run.clone(),
        checkout: checkout.to_path_buf(),
        set,
        recorded,
        truncated,
        overlaps,
    };
    let (finish_tx, mut finish_rx) = oneshot::channel::<()>();
    let span =
        tracing::info_span!("watch", run = %run.id, task = %run.task_id, project = %run.project_id);
    let recorder_task = tokio::spawn(tracing::Instrument::instrument(
        async move {
            // What changed before this watch began (e.g. while Corral was not running).
            if let Some((files, truncated)) = git_view(&recorder.checkout).await
                && let Err(err) = recorder.rescan(files, truncated).await
            {
                tracing::warn!(error = %err, "recording the first rescan failed");
            }
            recorder.announce();
            if recorder.truncated {
                return;
            }
            let mut settle_until: Option<tokio::time::Instant> = None;
            let mut overlap_check = tokio::time::interval(OVERLAP_EVERY);
            overlap_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let event = match settle_until {
                    None => tokio::select! {
                        event = events.recv() => event,
                        _ = overlap_check.tick() => {
                            if let Err(err) = recorder.overlaps.check(&recorder.ctx, &recorder.run, &recorder.recorded).await {
                                tracing::warn!(error = %err, "looking for overlapping runs failed");
                            }
                            continue;
                        }
                        _ = &mut finish_rx => {
                            settle_until = Some(tokio::time::Instant::now() + SETTLE);
                            continue;
                        }
                    },
                    Some(until) => match tokio::time::timeout_at(until, events.recv()).await {
                        Ok(event) => event,
                        Err(_) => break,
                    },
                };
                let Some(event) = event else { break };
                match recorder.handle(event).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(err) => {
                        tracing::warn!(error = %err, "recording a file change failed");
                    }
                }
                if recorder.truncated {
                    // Nothing more will be recorded: stop watching (the watcher ends when its
                    // receiver goes) rather than rescan a huge tree again and again.
                    drop(events);
                    return;
                }
            }
            // The end of the steps: make the recorded set exactly what git sees.
            if let Some((files, truncated)) = git_view(&recorder.checkout).await {
                match recorder.rescan(files, truncated).await {
                    Ok(()) => recorder.announce(),
                    Err(err) => tracing::warn!(error = %err, "recording the last rescan failed"),
                }
            }
            if let Err(err) = recorder
                .overlaps
                .check(&recorder.ctx, &recorder.run, &recorder.recorded)
                .await
            {
                tracing::warn!(error = %err, "looking for overlapping runs failed");
            }
        },
        span,
    ));
    Some(CheckoutWatch {
        _handle: handle,
        recorder: recorder_task,
        finish: Some(finish_tx),
    })
}
