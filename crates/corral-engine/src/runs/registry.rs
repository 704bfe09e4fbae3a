//! Who drives which run. A run is driven by the one process holding its folder's lock; in this
//! process, by the supervisor registered here (which a cancel reaches). Also what supervisors
//! share: the Docker connection, and the wake-up for runs waiting for a slot.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};

use corral_core::RunId;
use corral_sandbox::DockerSandbox;
use tokio::sync::{Notify, OnceCell, watch};

use crate::error::{EngineError, EngineResult};

/// Live supervisors of this process, and what they share.
#[derive(Debug, Default)]
pub(crate) struct RunRegistry {
    cancels: Mutex<HashMap<RunId, watch::Sender<bool>>>,
    /// Woken when a run of this process frees its slot (see `slots`).
    pub(super) slot_released: Arc<Notify>,
    pub(super) sandbox: OnceCell<DockerSandbox>,
    /// One lock per run whose state changes in this process: the supervisor and the run's MCP
    /// server (a question, its answer) change it one at a time.
    states: Mutex<HashMap<RunId, Arc<tokio::sync::Mutex<()>>>>,
    /// Runs whose supervisor waits for an answer after the agent's turn ended: the answer is
    /// the supervisor's to give (as the next turn), not a tool call's that outlived its turn.
    awaiting_turn: Mutex<std::collections::HashSet<RunId>>,
}

impl RunRegistry {
    fn cancels(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, watch::Sender<bool>>> {
        self.cancels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A supervisor of this process starts driving `run`; it is told of a cancel through the
    /// receiver.
    pub fn register(&self, run: RunId) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        self.cancels().insert(run, tx);
        rx
    }

    pub fn unregister(&self, run: RunId) {
        self.cancels().remove(&run);
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&run);
    }

    /// Marks (or unmarks) `run` as waiting for an answer to give as the agent's next turn.
    /// Changed under the run's state lock.
    pub fn set_awaiting_turn(&self, run: RunId, awaiting: bool) {
        let mut set = self.awaiting_turn.lock().unwrap_or_else(|p| p.into_inner());
        if awaiting {
            set.insert(run);
        } else {
            set.remove(&run);
        }
    }

    pub fn awaiting_turn(&self, run: RunId) -> bool {
        self.awaiting_turn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&run)
    }

    /// The lock over `run`'s state changes in this process.
    pub fn state_lock(&self, run: RunId) -> Arc<tokio::sync::Mutex<()>> {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(run)
            .or_default()
            .clone()
    }

    /// How many runs supervisors of this process drive.
    pub fn count(&self) -> usize {
        self.cancels().len()
    }

    /// Whether a supervisor of this process drives `run`.
    pub fn drives(&self, run: RunId) -> bool {
        self.cancels().contains_key(&run)
    }

    /// Tells this process's supervisor of `run` to cancel it. False when none drives it here.
    pub fn cancel(&self, run: RunId) -> bool {
        self.cancels()
            .get(&run)
            .map(|tx| tx.send(true).is_ok())
            .unwrap_or(false)
    }

    /// Whether some process drives `run`: a supervisor of this one, or another holding the lock
    /// in its folder.
    pub fn is_driven(&self, run: RunId, run_dir: &Path) -> EngineResult<bool> {
        if self.drives(run) {
            return Ok(true);
        }
        Ok(lock_run(run_dir)?.is_none())
    }
}

/// Takes the lock in a run's folder; `None` when another process holds it.
pub(crate) fn lock_run(run_dir: &Path) -> EngineResult<Option<File>> {
    std::fs::create_dir_all(run_dir).map_err(EngineError::io("making the run folder"))?;
    let file =
        File::create(run_dir.join("lock")).map_err(EngineError::io("the run's lock file"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(EngineError::io("locking the run")(e)),
    }
}
