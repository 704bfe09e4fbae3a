//! Run slots: at most `max-runs` runs of a project are past `queued` at once, across every
//! process on the data dir (the app and any `corral` commands). A slot is a file lock,
//! `<data dir>/slots/<project>/<n>.lock`, held while the run is driven: the OS releases it when
//! the process dies, so a crash never leaks one. The limit is read each time a run asks, so a
//! changed `max-runs` applies to the next queued run without a restart. Queued runs take slots
//! in the order they were queued (a graph ten tasks wide under `max-runs=1` runs in order).

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use corral_core::{ProjectId, RunId, RunState, validate};
use corral_store::{ProjectQuery, RunQuery};
use tokio::sync::{Notify, watch};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

/// Slot files a project can have: the highest `max-runs` allowed.
const SLOT_FILES: u32 = validate::MAX_RUNS_RANGE.1;
/// How often a waiting run looks again for a slot another process freed (one this process frees
/// wakes it at once).
const RETRY: Duration = Duration::from_millis(250);

/// A held slot; dropping it frees the slot and wakes this process's waiting runs.
#[derive(Debug)]
pub(crate) struct Slot {
    _file: File,
    released: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.released.notify_waiters();
    }
}

/// Takes a free slot when fewer than `limit` are held. The `acquire` lock makes counting and
/// taking one step across processes, so two of them never both take the last slot.
fn try_take(dir: &Path, limit: u32) -> std::io::Result<Option<File>> {
    std::fs::create_dir_all(dir)?;
    let guard = File::create(dir.join("acquire"))?;
    guard.lock()?;
    let mut held = 0;
    let mut free = None;
    for n in 0..SLOT_FILES {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{n}.lock")))?;
        match file.try_lock() {
            Ok(()) if free.is_none() => free = Some(file),
            Ok(()) => {} // dropped: unlocked again
            Err(std::fs::TryLockError::WouldBlock) => held += 1,
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(if held < limit { free } else { None })
}

impl Engine {
    /// Waits for one of the project's run slots; `None` when the run was cancelled meanwhile.
    /// Says once in the run's log why it waits. Without `within_limit` (a run already running,
    /// picked up after a restart) any free slot file is taken at once.
    pub(crate) async fn take_slot(
        &self,
        project: ProjectId,
        run: RunId,
        cancel: &mut watch::Receiver<bool>,
        within_limit: bool,
    ) -> EngineResult<Option<Slot>> {
        let dir = self.config.data_dir.join("slots").join(project.to_string());
        let released = self.runs.slot_released.clone();
        let mut told = false;
        loop {
            // Interest in a release is registered before looking, so none is missed.
            let freed = released.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let limit = match within_limit {
                true => ProjectQuery::by_id(self.store.db(), project)
                    .await?
                    .map(|p| p.workflow.max_concurrent_runs)
                    .unwrap_or(1),
                false => SLOT_FILES,
            };
            let taken = if within_limit && self.queued_before(project, run).await? {
                None
            } else {
                let at = dir.clone();
                tokio::task::spawn_blocking(move || try_take(&at, limit))
                    .await
                    .map_err(EngineError::from)?
                    .map_err(EngineError::io("taking a run slot"))?
            };
            if let Some(file) = taken {
                return Ok(Some(Slot {
                    _file: file,
                    released: self.runs.slot_released.clone(),
                }));
            }
            if !told {
                told = true;
                self.note(
                    run,
                    format!(
                        "waiting: {limit} run(s) of this project are already running \
                         (project setting max-runs)"
                    ),
                )
                .await?;
            }
            tokio::select! {
                _ = freed => {}
                _ = tokio::time::sleep(RETRY) => {}
                _ = cancel.wait_for(|c| *c) => return Ok(None),
            }
        }
    }
}

impl Engine {
    /// Whether a run of the project that this process queued before `run` still waits for a
    /// slot: it goes first (a graph run's tasks start in order). Runs of other processes are
    /// not waited for: telling whether another process drives a run means taking its lock for
    /// a moment, which could make that process believe someone else drives it.
    async fn queued_before(&self, project: ProjectId, run: RunId) -> EngineResult<bool> {
        for other in RunQuery::live(self.store.db()).await? {
            if other.project_id == project
                && other.state == RunState::Queued
                && other.id < run
                && self.runs.drives(other.id)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_than_the_limit_are_taken_and_a_freed_one_is_taken_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = try_take(dir.path(), 2).expect("io").expect("first");
        let b = try_take(dir.path(), 2).expect("io").expect("second");
        assert!(try_take(dir.path(), 2).expect("io").is_none(), "limit 2");
        // A raised limit applies at once; a lowered one waits until enough are freed.
        let c = try_take(dir.path(), 3).expect("io").expect("third under 3");
        drop(a);
        assert!(
            try_take(dir.path(), 2).expect("io").is_none(),
            "2 still held"
        );
        drop(b);
        let d = try_take(dir.path(), 2)
            .expect("io")
            .expect("one under 2 again");
        drop((c, d));
    }
}
