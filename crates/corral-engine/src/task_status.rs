//! What a task's status is made of: the project's graph, each task's latest run, which
//! results the project branch holds, and what the latest runs' logs say (the upstream work
//! they started from, the paths they share with other live runs). Derived on each listing.

use std::collections::{HashMap, HashSet};

use corral_core::graph::Readiness;
use corral_core::task::node_progress;
use corral_core::{
    Approval, ChainOn, NodeProgress, Project, ProjectId, RunEventBody, RunId, RunState, TaskGraph,
    TaskId, TaskStatus,
};
use corral_store::{InputRequests, LatestRun, RunEventQuery, RunQuery, TaskQuery};

use crate::engine::Engine;
use crate::error::EngineResult;
use crate::views::{Overlap, TaskView};

/// The graph and latest run states of one project (or all), and the readiness they imply.
pub(crate) struct Statuses {
    pub(crate) graph: TaskGraph,
    latest: HashMap<TaskId, LatestRun>,
    /// Tasks whose latest run succeeded and whose result is in the project branch.
    merged: HashSet<TaskId>,
    readiness: HashMap<TaskId, Readiness>,
    /// For each task's latest run (past `queued`): the upstream run it was given, per task.
    started_from: HashMap<TaskId, HashMap<TaskId, RunId>>,
    overlaps: HashMap<TaskId, Vec<Overlap>>,
    /// Tasks that are not approved (proposed or rejected).
    approvals: HashMap<TaskId, Approval>,
    /// The latest progress line of each task's latest run.
    progress: HashMap<TaskId, String>,
    /// The project branches asked which results they hold, and where each was.
    pub(crate) tips: crate::listing_cache::Tips,
}

impl Statuses {
    pub(crate) fn view<T>(&self, id: TaskId, task: T) -> TaskView<T> {
        TaskView {
            task,
            status: TaskStatus::of(
                self.approvals.get(&id).copied().unwrap_or_default(),
                self.latest.get(&id).map(|l| &l.state),
                self.merged.contains(&id),
                self.readiness.get(&id).copied(),
            ),
            depends_on: self.graph.dependencies(id).collect(),
            dependents: self.graph.dependents(id).collect(),
            stale_after: self.stale_after(id),
            overlaps: self.overlaps.get(&id).cloned().unwrap_or_default(),
            progress: self.progress.get(&id).cloned(),
            checks: self
                .latest
                .get(&id)
                .map(|l| l.checks.clone())
                .unwrap_or_default(),
            subtask_progress: None,
        }
    }

    /// Upstream tasks whose latest run succeeded after `id`'s latest run started without it.
    /// (Only upstream tasks whose latest run succeeded count: a newer success followed by a
    /// failed run is not flagged.)
    fn stale_after(&self, id: TaskId) -> Vec<TaskId> {
        let (Some(own), Some(given)) = (self.latest.get(&id), self.started_from.get(&id)) else {
            return Vec::new();
        };
        self.graph
            .upstream_of(id)
            .into_iter()
            .filter(|up| {
                let Some(newest) = self
                    .latest
                    .get(up)
                    .filter(|l| l.state == RunState::Succeeded)
                else {
                    return false;
                };
                match given.get(up) {
                    Some(run) => *run != newest.id,
                    // It had no success to give when this run started (it was running, say).
                    None => newest.finished_at.is_some_and(|f| f > own.created_at),
                }
            })
            .collect()
    }
}

impl Engine {
    pub(crate) async fn statuses(
        &self,
        project: Option<ProjectId>,
        // Each task: its id, project, approval and parent (the orchestrate task of a subtask).
        tasks: impl IntoIterator<Item = (TaskId, ProjectId, Approval, Option<TaskId>)>,
    ) -> EngineResult<Statuses> {
        let db = self.store.db();
        let mut approvals = HashMap::new();
        let mut subtasks = HashSet::new();
        let tasks: Vec<(TaskId, ProjectId)> = tasks
            .into_iter()
            .map(|(task, project, approval, parent)| {
                if approval != Approval::Approved {
                    approvals.insert(task, approval);
                }
                if parent.is_some() {
                    subtasks.insert(task);
                }
                (task, project)
            })
            .collect();
        let edges = TaskQuery::edges(db, project).await?;
        let mut latest = RunQuery::latest_states(db, project).await?;
        // A run waiting on another agent's answer (`ask_agent`) needs nobody: it is working.
        let waiting: Vec<RunId> = latest
            .values()
            .filter(|l| l.state == RunState::WaitingInput)
            .map(|l| l.id)
            .collect();
        if !waiting.is_empty() {
            let on_agents = InputRequests::waiting_on_agents(db, &waiting).await?;
            for run in latest.values_mut() {
                if on_agents.contains(&run.id) {
                    run.state = RunState::Running;
                }
            }
        }
        let (graph, rejected) = TaskGraph::from_edges(tasks.iter().map(|(t, _)| *t), &edges);
        for (task, after) in rejected {
            // Only a hand-edited database gets here; listing goes on without the bad edge.
            tracing::warn!(task = %task, after = %after, "stored dependency ignored: it would close a cycle");
        }
        let projects: HashMap<ProjectId, Project> = match project {
            Some(p) => HashMap::from([(p, self.project(p).await?)]),
            None => self
                .list_projects()
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect(),
        };
        let (merged, tips) = self.merged_tasks(&tasks, &latest, &projects).await?;
        let project_of: HashMap<TaskId, ProjectId> = tasks.iter().copied().collect();
        // As the scheduler sees it: merged is finished; with chain-on=merge a succeeded run
        // that is not merged yet keeps the tasks after it waiting.
        let readiness = graph
            .readiness(|t| {
                let state = latest.get(&t).map(|l| &l.state);
                let chain_on = project_of
                    .get(&t)
                    .and_then(|p| projects.get(p))
                    .map(|p| p.workflow.chain_on);
                if approvals.get(&t) == Some(&Approval::Rejected) {
                    // Never to run: the tasks after it are blocked.
                    NodeProgress::Cancelled
                } else if merged.contains(&t) {
                    NodeProgress::Succeeded
                } else if state == Some(&RunState::Succeeded)
                    && chain_on == Some(ChainOn::Merge)
                    && !subtasks.contains(&t)
                {
                    // (A subtask's work is merged by its orchestrator, into its one result.)
                    NodeProgress::Active
                } else {
                    node_progress(state)
                }
            })
            .into_iter()
            .collect();
        let (started_from, overlaps) = self.run_relations(&latest).await?;
        let progress = self.latest_progress(&latest).await?;
        Ok(Statuses {
            graph,
            latest,
            merged,
            readiness,
            started_from,
            overlaps,
            approvals,
            progress,
            tips,
        })
    }

    /// The latest progress line each task's latest run reported.
    async fn latest_progress(
        &self,
        latest: &HashMap<TaskId, LatestRun>,
    ) -> EngineResult<HashMap<TaskId, String>> {
        let task_of: HashMap<RunId, TaskId> = latest.iter().map(|(t, l)| (l.id, *t)).collect();
        let runs: Vec<RunId> = task_of.keys().copied().collect();
        let mut progress = HashMap::new();
        for event in
            RunEventQuery::latest_of_kind_for_runs(self.store.db(), &runs, "progress").await?
        {
            if let RunEventBody::Progress { text } = event.body
                && let Some(task) = task_of.get(&event.run_id)
            {
                progress.insert(*task, text);
            }
        }
        Ok(progress)
    }

    /// From the logs of each task's latest run: the upstream runs it started from (for runs
    /// past `queued`) and its overlaps with other runs.
    #[allow(clippy::type_complexity)]
    async fn run_relations(
        &self,
        latest: &HashMap<TaskId, LatestRun>,
    ) -> EngineResult<(
        HashMap<TaskId, HashMap<TaskId, RunId>>,
        HashMap<TaskId, Vec<Overlap>>,
    )> {
        let db = self.store.db();
        let task_of: HashMap<RunId, TaskId> = latest.iter().map(|(t, l)| (l.id, *t)).collect();
        let runs: Vec<RunId> = task_of.keys().copied().collect();
        let mut started_from: HashMap<TaskId, HashMap<TaskId, RunId>> = latest
            .iter()
            .filter(|(_, l)| l.state != RunState::Queued)
            .map(|(t, _)| (*t, HashMap::new()))
            .collect();
        for event in RunEventQuery::of_kind_for_runs(db, &runs, "upstream_merged").await? {
            if let RunEventBody::UpstreamMerged {
                task_id, run_id, ..
            } = event.body
                && let Some(given) = task_of
                    .get(&event.run_id)
                    .and_then(|t| started_from.get_mut(t))
            {
                given.insert(task_id, run_id);
            }
        }
        let mut overlaps: HashMap<TaskId, Vec<Overlap>> = HashMap::new();
        for event in RunEventQuery::of_kind_for_runs(db, &runs, "overlap").await? {
            if let RunEventBody::Overlap {
                run_id,
                task_id,
                path,
            } = event.body
                && let Some(task) = task_of.get(&event.run_id)
            {
                overlaps.entry(*task).or_default().push(Overlap {
                    run: run_id,
                    task: task_id,
                    path,
                });
            }
        }
        Ok((started_from, overlaps))
    }

    /// Of `tasks`, those whose latest run succeeded with a result the project branch holds
    /// (merged by Corral, by hand, or through a dependant); and the branches asked, with where
    /// each was.
    async fn merged_tasks(
        &self,
        tasks: &[(TaskId, ProjectId)],
        latest: &HashMap<TaskId, LatestRun>,
        projects: &HashMap<ProjectId, Project>,
    ) -> EngineResult<(HashSet<TaskId>, crate::listing_cache::Tips)> {
        let mut merged = HashSet::new();
        let mut per_project: HashMap<ProjectId, Vec<(TaskId, String)>> = HashMap::new();
        for (task, project) in tasks {
            let Some(run) = latest.get(task).filter(|l| l.state == RunState::Succeeded) else {
                continue;
            };
            if run.merged_by_corral {
                merged.insert(*task);
            } else if let Some(commit) = &run.result_commit {
                per_project
                    .entry(*project)
                    .or_default()
                    .push((*task, commit.clone()));
            }
        }
        let mut tips = Vec::new();
        for (project, results) in per_project {
            if let Some(project) = projects.get(&project) {
                // Read before the answers: a branch moving meanwhile shows on the next look.
                tips.push((project.id, self.branch_tip(project).await.ok()));
                merged.extend(self.merged_results(project, results).await);
            }
        }
        Ok((merged, tips))
    }
}
