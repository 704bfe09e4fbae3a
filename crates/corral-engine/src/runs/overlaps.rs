//! Overlap between live runs: when two live runs of a project change the same path, each
//! notes it in its own log, naming the other run and the path (once per run and path), so a
//! user sees a coming conflict before merging. Each run's file recorder looks every few
//! seconds and at its end; the other runs' paths are read incrementally (rows newer than the
//! last look).

use std::collections::{HashMap, HashSet};

use corral_core::{Run, RunEventBody, RunId, TaskId};
use corral_store::{FileChangeQuery, RunEventQuery, RunQuery};

use crate::engine::Engine;
use crate::error::EngineResult;

/// Another live run of the project, as the overlap check knows it.
struct OtherRun {
    task: TaskId,
    /// The newest of its file changes read so far.
    last_seq: i64,
    paths: HashSet<String>,
}

/// What one run's overlap check knows.
pub(super) struct Overlaps {
    /// Overlaps already in the log: (other run, path).
    told: HashSet<(RunId, String)>,
    /// The other live runs of the project and the paths they changed, as last read.
    others: HashMap<RunId, OtherRun>,
}

impl std::fmt::Debug for Overlaps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlaps")
            .field("told", &self.told.len())
            .field("others", &self.others.len())
            .finish()
    }
}

impl Overlaps {
    /// What the run's log says was found already (a run picked up again after a restart).
    pub(super) async fn load(ctx: &Engine, run: RunId) -> Overlaps {
        let told = RunEventQuery::of_kind(ctx.store.db(), run, "overlap")
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| match e.body {
                RunEventBody::Overlap { run_id, path, .. } => Some((run_id, path)),
                _ => None,
            })
            .collect();
        Overlaps {
            told,
            others: HashMap::new(),
        }
    }

    /// Notes in `run`'s log each path of `recorded` (the paths it changed) that another live
    /// run of the project changed too.
    pub(super) async fn check(
        &mut self,
        ctx: &Engine,
        run: &Run,
        recorded: &HashSet<String>,
    ) -> EngineResult<()> {
        let db = ctx.store.db();
        let live: HashMap<RunId, TaskId> = RunQuery::live(db)
            .await?
            .into_iter()
            .filter(|r| r.project_id == run.project_id && r.id != run.id)
            .map(|r| (r.id, r.task_id))
            .collect();
        // A run that ended overlaps with nothing any more.
        self.others.retain(|id, _| live.contains_key(id));
        for (id, task) in &live {
            let other = self.others.entry(*id).or_insert_with(|| OtherRun {
                task: *task,
                last_seq: 0,
                paths: HashSet::new(),
            });
            let (paths, last) = FileChangeQuery::paths_after(db, *id, other.last_seq).await?;
            other.last_seq = last;
            other.paths.extend(paths);
        }
        let mut found = Vec::new();
        for (id, other) in &self.others {
            let (small, large) = if other.paths.len() < recorded.len() {
                (&other.paths, recorded)
            } else {
                (recorded, &other.paths)
            };
            for path in small.iter().filter(|p| large.contains(*p)) {
                if !self.told.contains(&(*id, path.clone())) {
                    found.push((*id, other.task, path.clone()));
                }
            }
        }
        found.sort();
        for (run_id, task_id, path) in found {
            self.told.insert((run_id, path.clone()));
            ctx.append(
                run.id,
                RunEventBody::Overlap {
                    run_id,
                    task_id,
                    path,
                },
            )
            .await?;
        }
        Ok(())
    }
}
