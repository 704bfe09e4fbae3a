//! Graph runs (`corral graph run`, Run all): every task of a project that is not finished
//! runs, each as soon as the tasks it runs after are (succeeded, or merged with
//! `chain-on=merge`), as many at once as the project's run slots allow; a failure blocks its
//! dependants and nothing else. A project with `auto-run=on` is always in a graph run that
//! never retries a failure: a task starts by itself once it becomes ready.
//!
//! A graph run is a row in the database, so it outlives the process that started it. Exactly
//! one process per data dir schedules (the one holding `scheduler.lock`): the app, or any
//! `corral` command that schedules while it waits. When it dies, the next one carries on.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::time::Duration;

use corral_core::graph_run::{GraphState, GraphStep, Latest, Outcome};
use corral_core::{Approval, ChainOn, Project, ProjectId, RunState, TaskGraph, TaskId, Timestamp};
use corral_store::{GraphRuns, RunQuery, TaskQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;
use crate::runs::source_path;

impl Engine {
    /// Starts running the project's graph. Returns when its graph run started and whether it
    /// was running already (then this one just follows it).
    pub async fn run_graph(&self, project: ProjectId) -> EngineResult<(Timestamp, bool)> {
        self.project(project).await?;
        let started = GraphRuns::start(self.store.db(), project, Engine::now()).await?;
        self.publish(EngineEvent::GraphRunChanged {
            project_id: project,
            running: true,
        });
        Ok(started)
    }

    /// Stops the project's graph run: nothing new starts; live runs go on. False when none ran.
    pub async fn stop_graph(&self, project: ProjectId) -> EngineResult<bool> {
        let stopped = GraphRuns::stop(self.store.db(), project).await?;
        self.publish(EngineEvent::GraphRunChanged {
            project_id: project,
            running: false,
        });
        Ok(stopped)
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
        let project = self.project(project).await?;
        let known = self.graph_knowledge(&project).await?;
        Ok(known.state(&project).next_step(since))
    }

    /// The project's task graph: every task and its dependencies.
    pub(crate) async fn project_graph(&self, project: ProjectId) -> EngineResult<TaskGraph> {
        Ok(self.graph_and_held(project).await?.0)
    }

    /// The project's task graph, and the tasks in it the scheduler does not start: not
    /// approved, or subtasks (their orchestrator starts them while it works).
    async fn graph_and_held(
        &self,
        project: ProjectId,
    ) -> EngineResult<(TaskGraph, HashSet<TaskId>)> {
        let summaries = TaskQuery::summaries(self.store.db(), Some(project)).await?;
        let held = summaries
            .iter()
            .filter(|t| t.approval != Approval::Approved || t.parent.is_some())
            .map(|t| t.id)
            .collect();
        let edges = TaskQuery::edges(self.store.db(), Some(project)).await?;
        // Stored edges that would close a cycle (a hand-edited database) are left out.
        let graph = TaskGraph::from_edges(summaries.into_iter().map(|t| t.id), &edges).0;
        Ok((graph, held))
    }

    /// What a graph run needs to know of the project now.
    async fn graph_knowledge(&self, project: &Project) -> EngineResult<GraphKnowledge> {
        let db = self.store.db();
        let (graph, held) = self.graph_and_held(project.id).await?;
        let mut latest = HashMap::new();
        let mut results = Vec::new();
        let mut has_result = HashSet::new();
        // Merged by Corral: in the branch whatever its commits (a squash holds none of them).
        let mut merged_by_corral = HashSet::new();
        // Newest first: the first run seen of a task is its latest, and the first succeeded
        // one holds the result that counts.
        let runs = RunQuery::for_project(db, project.id).await?;
        for run in &runs {
            if run.state == RunState::Succeeded
                && let Some(commit) = &run.result_commit
                && has_result.insert(run.task_id)
            {
                if run.merged_commit.is_some() {
                    merged_by_corral.insert(run.task_id);
                } else {
                    results.push((run.task_id, commit.clone()));
                }
            }
            if latest.contains_key(&run.task_id) {
                continue;
            }
            let outcome = match &run.state {
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
        // With chain-on=success a task whose latest run succeeded is finished whether merged
        // or not: git is asked only about the others (a result merged before a later run
        // failed still counts), which keeps the scheduler off the repository most of the time.
        if project.workflow.chain_on == ChainOn::Success {
            results.retain(|(task, _)| {
                latest
                    .get(task)
                    .is_none_or(|l: &Latest| l.outcome != Outcome::Succeeded)
            });
        }
        let mut merged = self.merged_results(project, results).await;
        merged.extend(merged_by_corral);
        Ok(GraphKnowledge {
            graph,
            latest,
            merged,
            held,
        })
    }

    /// Of `results` (a task and the result commit of its latest succeeded run), the tasks
    /// whose result is in the project branch. A repository that cannot be read (moved, not
    /// cloned yet) holds nothing: that is logged, and listing and scheduling go on. Reads need
    /// no turn of the repository lock (only clones do, see `repo_lock`): a fetch into a
    /// mirror never holds up the board or the scheduler.
    pub(crate) async fn merged_results(
        &self,
        project: &Project,
        results: Vec<(TaskId, String)>,
    ) -> HashSet<TaskId> {
        if results.is_empty() {
            return HashSet::new();
        }
        let repo = source_path(self, project);
        let tip = match self.branch_tip(project).await {
            Ok(tip) => tip,
            Err(err) => {
                tracing::debug!(project = %project.id, error = %err, "the project branch cannot be read");
                return HashSet::new();
            }
        };
        let unknown = self
            .merged
            .unknown(project.id, &tip, results.iter().map(|(_, c)| c));
        let mut found_now = HashMap::new();
        if !unknown.is_empty() {
            let (at, from) = (repo.clone(), tip.clone());
            let asked = unknown.clone();
            let found =
                tokio::task::spawn_blocking(move || corral_git::reachable_from(&at, &from, &asked))
                    .await
                    .map_err(EngineError::from)
                    .and_then(|r| r.map_err(EngineError::from));
            match found {
                Ok(found) => {
                    let answers: Vec<(String, bool)> = unknown.into_iter().zip(found).collect();
                    found_now.extend(answers.iter().cloned());
                    self.merged.learn(project.id, &tip, answers);
                }
                Err(err) => {
                    tracing::warn!(project = %project.id, error = %err, "which results the project branch holds cannot be looked up");
                    return HashSet::new();
                }
            }
        }
        results
            .into_iter()
            .filter(|(_, commit)| {
                found_now
                    .get(commit)
                    .copied()
                    .unwrap_or_else(|| self.merged.holds(project.id, &tip, commit))
            })
            .map(|(task, _)| task)
            .collect()
    }

    /// The commit the project branch is at.
    pub(crate) async fn branch_tip(&self, project: &Project) -> EngineResult<String> {
        let repo = source_path(self, project);
        let branch = project
            .default_branch
            .clone()
            .unwrap_or_else(|| "HEAD".to_string());
        tokio::task::spawn_blocking(move || corral_git::branch_tip(&repo, &branch))
            .await
            .map_err(EngineError::from)
            .and_then(|tip| tip.map_err(EngineError::from))
    }

    /// One pass over every graph run (and every project with `auto-run=on`): starts what is
    /// ready, ends what is over. `refused` remembers tasks that could not start, so they are
    /// not tried on every pass (the scheduler forgets them every `PICK_UP_EVERY`).
    async fn schedule_once(
        &self,
        refused: &mut HashMap<ProjectId, HashSet<TaskId>>,
    ) -> EngineResult<()> {
        let graph_runs: HashMap<ProjectId, Timestamp> = GraphRuns::active(self.store.db())
            .await?
            .into_iter()
            .collect();
        let mut scheduled = HashSet::new();
        for project in self.list_projects().await? {
            let since = match graph_runs.get(&project.id) {
                Some(since) => *since,
                // Always on, and a failure is never retried: every run counts.
                None if project.workflow.auto_run => Timestamp(i64::MIN),
                None => continue,
            };
            scheduled.insert(project.id);
            let known = self.graph_knowledge(&project).await?;
            let step = known.state(&project).next_step(since);
            let refused_here = refused.entry(project.id).or_default();
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
            let live = known.latest.values().any(|l| l.outcome == Outcome::Live);
            let waiting = !step.awaiting_merge.is_empty();
            if graph_runs.contains_key(&project.id) && !started && !live && !waiting {
                self.stop_graph(project.id).await?;
                refused.remove(&project.id);
                tracing::info!(project = %project.id, "graph run over");
            }
        }
        // A graph run stopped elsewhere, or auto-run switched off: what was refused there is
        // forgotten, so a later Run all tries again.
        refused.retain(|project, _| scheduled.contains(project));
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
                    // A task that could not start (a key missing, the database busy) is tried
                    // again now and then, not only after a restart.
                    refused.clear();
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
                // Every log line is a database change: passes are spaced a little so a busy run
                // does not keep the scheduler reading the graph all the time.
                tokio::time::sleep(MIN_GAP).await;
                match &changes {
                    Some(changes) => changes.next(Duration::from_secs(1)).await,
                    None => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
        });
    }
}

/// A project's graph, its tasks' latest runs and the tasks whose results its branch holds.
struct GraphKnowledge {
    graph: TaskGraph,
    latest: HashMap<TaskId, Latest>,
    merged: HashSet<TaskId>,
    /// Tasks waiting for a person's approval, or rejected.
    held: HashSet<TaskId>,
}

impl GraphKnowledge {
    fn state<'a>(&'a self, project: &Project) -> GraphState<'a> {
        GraphState {
            graph: &self.graph,
            latest: &self.latest,
            merged: &self.merged,
            chain_on: project.workflow.chain_on,
            held: &self.held,
        }
    }
}

/// The least time between two scheduling passes.
const MIN_GAP: Duration = Duration::from_millis(40);

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
