//! Live updates across processes. A run is driven by one process (the app or a `corral`
//! command); the others learn of its new log entries and state changes when the database's
//! write-ahead log is written (inotify on the data dir), not by polling it.
//!
//! - `DatabaseChanges` wakes a reader (`corral logs --follow`, the window's run stream) at once.
//! - `Engine::relay_other_processes` turns other processes' run changes into this engine's own
//!   `RunUpdated` events, so the window's board and run views update for a run a `corral run`
//!   drives as for one the app drives.

use std::collections::HashMap;
use std::time::Duration;

use corral_core::{Run, RunId};
use corral_store::RunQuery;
use corral_watch::FileSignal;

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;

/// Wakes when some process commits to this data dir's database.
#[derive(Debug)]
pub struct DatabaseChanges(FileSignal);

impl DatabaseChanges {
    /// Resolves after the next commit (one since the last call is not lost), or after `limit`
    /// (a safety net: the watch may miss a change on some file systems).
    pub async fn next(&self, limit: Duration) {
        if tokio::time::timeout(limit, self.0.changed()).await.is_err() {
            return;
        }
        // The log file is written before SQLite makes the commit visible, and a commit may be
        // several writes: wait until the writes pause (5 ms, at most 50 ms) before reading.
        let settle = tokio::time::Instant::now() + Duration::from_millis(50);
        while tokio::time::Instant::now() < settle
            && tokio::time::timeout(Duration::from_millis(5), self.0.changed())
                .await
                .is_ok()
        {}
    }
}

impl Engine {
    /// Starts watching the database for commits by any process.
    pub fn database_changes(&self) -> EngineResult<DatabaseChanges> {
        let db = self.config.database_path()?;
        let dir = db
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| self.config.data_dir.clone());
        let name = db
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("corral.db")
            .to_string();
        corral_watch::watch_files(&dir, &name)
            .map(DatabaseChanges)
            .map_err(EngineError::from)
    }

    /// Until the engine is closed: announces (as `RunUpdated`) every run another process
    /// created or changed. Call it from front ends that show runs live (the app).
    pub fn relay_other_processes(&self) -> EngineResult<()> {
        let changes = self.database_changes()?;
        let engine = self.clone();
        tokio::spawn(async move {
            let mut known: HashMap<RunId, Run> = HashMap::new();
            loop {
                changes.next(Duration::from_secs(2)).await;
                match engine.changed_runs(&mut known).await {
                    Ok(changed) => {
                        for run in changed {
                            engine.publish(EngineEvent::RunUpdated { run });
                        }
                    }
                    Err(err) if engine.store.db().ping().await.is_err() => {
                        tracing::debug!(error = %err, "the database closed; relaying stops");
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "reading runs of other processes failed");
                    }
                }
            }
        });
        Ok(())
    }

    /// Live runs not driven here that changed since `known` (which is updated), and the ones
    /// that were live and have ended.
    async fn changed_runs(&self, known: &mut HashMap<RunId, Run>) -> EngineResult<Vec<Run>> {
        let db = self.store.db();
        let mut changed = Vec::new();
        let live: HashMap<RunId, Run> = RunQuery::live(db)
            .await?
            .into_iter()
            .filter(|r| !self.runs.drives(r.id))
            .map(|r| (r.id, r))
            .collect();
        for (id, run) in &live {
            if known.get(id) != Some(run) {
                changed.push(run.clone());
            }
        }
        for id in known.keys().filter(|id| !live.contains_key(id)) {
            if let Some(run) = RunQuery::by_id(db, *id).await? {
                changed.push(run);
            }
        }
        *known = live;
        Ok(changed)
    }
}
