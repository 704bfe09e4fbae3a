//! Graph runs (`corral graph run`, Run all): every task of a project that has not succeeded
//! runs, each as soon as the tasks it runs after have succeeded, as many at once as the
//! project's run slots allow; a failure blocks its dependants and nothing else.
//!
//! A graph run is a row in the database, so it outlives the process that started it. Exactly
//! one process per data dir schedules (the one holding `scheduler.lock`): the app, or any
//! `corral` command that schedules while it waits. When it dies, the next one carries on.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::time::Duration;

use corral_core::graph_run::{GraphStep, Latest, Outcome, next_step};
use corral_core::{ProjectId, RunState, TaskGraph, TaskId, Timestamp};
use corral_store::{GraphRuns, RunQuery, TaskQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

impl Engine {
    /// Starts running the project's graph. Returns when its graph run started and whether it
    /// was running already (then this one just follows it).
    pub async fn run_graph(&self, project: ProjectId) -> EngineResult<(Timestamp, bool)> {
        self.project(project).await?;
        Ok(GraphRuns::start(self.store.db(), project, Engine::now()).await?)
    }

    /// Stops the project's graph run: nothing new starts; live runs go on. False when none ran.
    pub async fn stop_graph(&self, project: ProjectId) -> EngineResult<bool> {
        Ok(GraphRuns::stop(self.store.db(), project).await?)
    }

    /// When the project's graph run started, while one is in progress.
    pub async fn graph_running_since(&self, project: ProjectId) -> EngineResult<Option<Timestamp>> {
        Ok(GraphRuns::since(self.store.db(), project).await?)
    }

    /// Where the project's graph stands for a graph run started at `since`: what would start,
    /// what is blocked and why.
    pub async fn graph_step(
        &self,
        project: ProjectId,
        since: Timestamp,
    ) -> EngineResult<GraphStep> {
        let (graph, latest) = self.graph_and_latest(project).await?;
        Ok(next_step(&graph, &latest, since))
    }

    /// The project's task graph: every task and its dependencies.
    pub(crate) async fn project_graph(&self, project: ProjectId) -> EngineResult<TaskGraph> {
        let tasks: Vec<TaskId> = self
            .list_task_summaries(Some(project))
            .await?
            .into_iter()
            .map(|t| t.task.id)
            .collect();
        let edges = TaskQuery::edges(self.store.db(), Some(project)).await?;
        // Stored edges that would close a cycle (a hand-edited database) are left out.
        Ok(TaskGraph::from_edges(tasks, &edges).0)
    }

    async fn graph_and_latest(
        &self,
        project: ProjectId,
    ) -> EngineResult<(TaskGraph, HashMap<TaskId, Latest>)> {
        let db = self.store.db();
        let graph = self.project_graph(project).await?;
        let mut latest = HashMap::new();
        // Newest first: the first run seen of a task is its latest.
        for run in RunQuery::for_project(db, project).await? {
            if latest.contains_key(&run.task_id) {
                continue;
            }
            let outcome = match run.state {
                RunState::Succeeded => Outcome::Succeeded,
                s if s.is_live() => Outcome::Live,
                _ => Outcome::Ended,
            };
            latest.insert(
                run.task_id,
                Latest {
                    created_at: run.created_at,
                    outcome,
                },
            );
        }
        Ok((graph, latest))
    }

    /// One pass over every graph run: starts what is ready, ends what is over. `refused`
    /// remembers tasks that could not start (not runnable), so they are not tried again.
    async fn schedule_once(
        &self,
        refused: &mut HashMap<ProjectId, HashSet<TaskId>>,
    ) -> EngineResult<()> {
        for (project, since) in GraphRuns::active(self.store.db()).await? {
            let (graph, latest) = self.graph_and_latest(project).await?;
            let step = next_step(&graph, &latest, since);
            let refused_here = refused.entry(project).or_default();
            let mut started = false;
            let to_start: Vec<TaskId> = step
                .start
                .iter()
                .filter(|t| !refused_here.contains(t))
                .copied()
                .collect();
            for task in to_start {
                match self.start_run(task).await {
                    Ok(_) => started = true,
                    Err(err) => {
                        tracing::warn!(task = %task, error = %err, "a task of the graph run cannot start");
                        refused_here.insert(task);
                    }
                }
            }
            let live = latest.values().any(|l| l.outcome == Outcome::Live);
            if !started && !live {
                GraphRuns::stop(self.store.db(), project).await?;
                refused.remove(&project);
                tracing::info!(project = %project, "graph run over");
            }
        }
        Ok(())
    }

    /// Schedules graph runs until the engine is closed, whenever this process holds the data
    /// dir's scheduler lock (it waits for it while another process holds it).
    pub fn start_scheduler(&self) {
        let engine = self.clone();
        tokio::spawn(async move {
            let changes = engine.database_changes().ok();
            let path = engine.config.data_dir.join("scheduler.lock");
            let mut lock: Option<File> = None;
            let mut refused = HashMap::new();
            let mut picked_up = tokio::time::Instant::now();
            loop {
                if lock.is_none() {
                    lock = take_lock(&path);
                }
                // The scheduling process also picks up runs whose driver died (a `corral`
                // killed mid-graph), so a graph run never waits on a run nobody drives.
                if lock.is_some() && picked_up.elapsed() >= PICK_UP_EVERY {
                    picked_up = tokio::time::Instant::now();
                    if let Err(err) = engine.resume_runs().await {
                        tracing::warn!(error = %err, "picking up runs failed");
                    }
                }
                if lock.is_some()
                    && let Err(err) = engine.schedule_once(&mut refused).await
                {
                    if engine.store.db().ping().await.is_err() {
                        return; // the engine was closed
                    }
                    tracing::warn!(error = %err, "scheduling the graph runs failed");
                }
                match &changes {
                    Some(changes) => changes.next(Duration::from_secs(1)).await,
                    None => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
        });
    }
}

/// How often the scheduling process looks for runs nobody drives.
const PICK_UP_EVERY: Duration = Duration::from_secs(10);

/// The scheduler lock, when no other process holds it.
fn take_lock(path: &std::path::Path) -> Option<File> {
    let file = File::create(path)
        .map_err(|e| tracing::warn!(error = %e, "the scheduler lock cannot be made"))
        .ok()?;
    match file.try_lock() {
        Ok(()) => Some(file),
        Err(std::fs::TryLockError::WouldBlock) => None,
        Err(std::fs::TryLockError::Error(e)) => {
            tracing::warn!(error = %EngineError::io("locking the scheduler")(e), "no scheduling here");
            None
        }
    }
}
