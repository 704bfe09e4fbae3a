//! Task operations: create, edit, delete, dependencies, and listing with derived status.

use std::collections::{HashMap, HashSet};

use corral_core::graph::Readiness;
use corral_core::task::node_progress;
use corral_core::{
    ChainOn, CreatedBy, GraphError, NodeProgress, Project, ProjectId, RunEventBody, RunId,
    RunState, Runtime, Task, TaskGraph, TaskId, TaskKind, TaskStatus, TaskSummary, ValidationError,
    validate,
};
use corral_store::{LatestRun, RunEventQuery, RunQuery, TaskMutation, TaskQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;
use crate::views::{Overlap, TaskView};

#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub project_id: ProjectId,
    pub title: String,
    pub prompt: String,
    pub runtime: Option<Runtime>,
    pub model: Option<String>,
    /// Argument vector for the `custom` runtime; giving one implies `custom`.
    pub command: Option<Vec<String>>,
    /// Tasks the new task runs after (same project).
    pub after: Vec<TaskId>,
    pub kind: TaskKind,
    pub max_attempts: Option<u32>,
}

/// A change to a task. `None` leaves a field as it is; for optional fields `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct TaskUpdate {
    pub title: Option<String>,
    pub prompt: Option<String>,
    pub runtime: Option<Option<Runtime>>,
    pub model: Option<Option<String>>,
    pub command: Option<Option<Vec<String>>>,
    pub max_attempts: Option<u32>,
}

/// The graph and latest run states of one project (or all), and the readiness they imply.
struct Statuses {
    graph: TaskGraph,
    latest: HashMap<TaskId, LatestRun>,
    /// Tasks whose latest run succeeded and whose result is in the project branch.
    merged: HashSet<TaskId>,
    readiness: HashMap<TaskId, Readiness>,
    /// For each task's latest run (past `queued`): the upstream run it was given, per task.
    started_from: HashMap<TaskId, HashMap<TaskId, RunId>>,
    overlaps: HashMap<TaskId, Vec<Overlap>>,
}

impl Statuses {
    fn view<T>(&self, id: TaskId, task: T) -> TaskView<T> {
        TaskView {
            task,
            status: TaskStatus::derive(
                self.latest.get(&id).map(|l| &l.state),
                self.merged.contains(&id),
                self.readiness.get(&id).copied(),
            ),
            depends_on: self.graph.dependencies(id).collect(),
            dependents: self.graph.dependents(id).collect(),
            stale_after: self.stale_after(id),
            overlaps: self.overlaps.get(&id).cloned().unwrap_or_default(),
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

/// Keeps the runtime and command of a task consistent: a command means `custom` (or `acp`, whose
/// command is the agent to talk to), and `custom` needs a command.
fn check_runtime(
    runtime: Option<Runtime>,
    command: Option<&Vec<String>>,
) -> EngineResult<Option<Runtime>> {
    match (runtime, command) {
        (None, Some(argv)) | (Some(Runtime::Custom), Some(argv)) => {
            validate::argv(argv)?;
            Ok(Some(Runtime::Custom))
        }
        (Some(Runtime::Acp), Some(argv)) => {
            validate::argv(argv)?;
            Ok(Some(Runtime::Acp))
        }
        (Some(Runtime::Custom), None) => Err(ValidationError::EmptyCommand.into()),
        (Some(other), Some(_)) => Err(ValidationError::BadValue {
            field: "runtime",
            given: other.to_string(),
            expected: "custom or acp when a command line is given",
        }
        .into()),
        (runtime, None) => Ok(runtime),
    }
}

impl Engine {
    async fn statuses(
        &self,
        project: Option<ProjectId>,
        tasks: impl IntoIterator<Item = (TaskId, ProjectId)>,
    ) -> EngineResult<Statuses> {
        let db = self.store.db();
        let tasks: Vec<(TaskId, ProjectId)> = tasks.into_iter().collect();
        let edges = TaskQuery::edges(db, project).await?;
        let latest = RunQuery::latest_states(db, project).await?;
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
        let merged = self.merged_tasks(&tasks, &latest, &projects).await?;
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
                if merged.contains(&t) {
                    NodeProgress::Succeeded
                } else if state == Some(&RunState::Succeeded) && chain_on == Some(ChainOn::Merge) {
                    NodeProgress::Active
                } else {
                    node_progress(state)
                }
            })
            .into_iter()
            .collect();
        let (started_from, overlaps) = self.run_relations(&latest).await?;
        Ok(Statuses {
            graph,
            latest,
            merged,
            readiness,
            started_from,
            overlaps,
        })
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
    /// (merged by Corral, by hand, or through a dependant).
    async fn merged_tasks(
        &self,
        tasks: &[(TaskId, ProjectId)],
        latest: &HashMap<TaskId, LatestRun>,
        projects: &HashMap<ProjectId, Project>,
    ) -> EngineResult<HashSet<TaskId>> {
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
        for (project, results) in per_project {
            if let Some(project) = projects.get(&project) {
                merged.extend(self.merged_results(project, results).await);
            }
        }
        Ok(merged)
    }

    /// Tasks of one project (or all) in full, in creation order, with their derived status.
    pub async fn list_tasks(&self, project: Option<ProjectId>) -> EngineResult<Vec<TaskView>> {
        let tasks = TaskQuery::list(self.store.db(), project).await?;
        let statuses = self
            .statuses(project, tasks.iter().map(|t| (t.id, t.project_id)))
            .await?;
        Ok(tasks.into_iter().map(|t| statuses.view(t.id, t)).collect())
    }

    /// What lists and boards show: tasks without prompts, with their derived status.
    pub async fn list_task_summaries(
        &self,
        project: Option<ProjectId>,
    ) -> EngineResult<Vec<TaskView<TaskSummary>>> {
        let tasks = TaskQuery::summaries(self.store.db(), project).await?;
        let statuses = self
            .statuses(project, tasks.iter().map(|t| (t.id, t.project_id)))
            .await?;
        Ok(tasks.into_iter().map(|t| statuses.view(t.id, t)).collect())
    }

    pub async fn task(&self, id: TaskId) -> EngineResult<TaskView> {
        let task = self.task_record(id).await?;
        let project = task.project_id;
        let ids = TaskQuery::summaries(self.store.db(), Some(project))
            .await?
            .into_iter()
            .map(|t| (t.id, t.project_id));
        Ok(self.statuses(Some(project), ids).await?.view(id, task))
    }

    pub(crate) async fn task_record(&self, id: TaskId) -> EngineResult<Task> {
        TaskQuery::by_id(self.store.db(), id)
            .await?
            .ok_or_else(|| EngineError::TaskNotFound {
                reference: id.to_string(),
                scope: None,
            })
    }

    #[tracing::instrument(skip_all, fields(project = %new.project_id))]
    pub async fn create_task(&self, new: NewTask) -> EngineResult<TaskView> {
        let project = self.project(new.project_id).await?;
        let title = validate::name("title", &new.title)?;
        validate::prompt(&new.prompt)?;
        let runtime = check_runtime(new.runtime, new.command.as_ref())?;
        let max_attempts = validate::in_range(
            "max attempts",
            new.max_attempts.unwrap_or(1),
            validate::MAX_ATTEMPTS_RANGE,
        )?;
        for after in &new.after {
            let dep = self.task_record(*after).await?;
            if dep.project_id != project.id {
                let dep_project = self.project(dep.project_id).await?;
                return Err(EngineError::CrossProjectDependency {
                    task: title,
                    task_project: project.name,
                    after: dep.title,
                    after_project: dep_project.name,
                });
            }
        }
        let now = Engine::now();
        let task = Task {
            id: TaskId::new(),
            project_id: project.id,
            title,
            prompt: new.prompt,
            runtime,
            model: new.model.filter(|m| !m.trim().is_empty()),
            command: new.command,
            kind: new.kind,
            parent: None,
            created_by: CreatedBy::Human,
            max_attempts,
            created_at: now,
            updated_at: now,
        };
        TaskMutation::insert_with_edges(self.store.db(), &task, &new.after).await?;
        tracing::info!(task = %task.id, title = %task.title, "task created");
        let view = self.task(task.id).await?;
        self.publish(EngineEvent::TaskCreated { task: view.clone() });
        Ok(view)
    }

    #[tracing::instrument(skip(self, update), fields(task = %id))]
    pub async fn update_task(&self, id: TaskId, update: TaskUpdate) -> EngineResult<TaskView> {
        let mut task = self.task_record(id).await?;
        if let Some(title) = update.title {
            task.title = validate::name("title", &title)?;
        }
        if let Some(prompt) = update.prompt {
            validate::prompt(&prompt)?;
            task.prompt = prompt;
        }
        if let Some(model) = update.model {
            task.model = model.filter(|m| !m.trim().is_empty());
        }
        if let Some(command) = update.command {
            task.command = command;
        }
        let runtime = update.runtime.unwrap_or(task.runtime);
        task.runtime = check_runtime(runtime, task.command.as_ref())?;
        if let Some(n) = update.max_attempts {
            task.max_attempts =
                validate::in_range("max attempts", n, validate::MAX_ATTEMPTS_RANGE)?;
        }
        task.updated_at = Engine::now();
        TaskMutation::update(self.store.db(), &task).await?;
        let view = self.task(id).await?;
        self.publish(EngineEvent::TaskUpdated { task: view.clone() });
        Ok(view)
    }

    /// Deletes a task with its dependency edges and run records. Refused while it has a live
    /// run. Tasks that ran after it no longer wait for it.
    #[tracing::instrument(skip(self), fields(task = %id))]
    pub async fn delete_task(&self, id: TaskId) -> EngineResult<Task> {
        let task = self.task_record(id).await?;
        if RunQuery::count_live(self.store.db(), None, Some(id)).await? > 0 {
            return Err(EngineError::TaskBusy { title: task.title });
        }
        TaskMutation::delete(self.store.db(), id).await?;
        self.publish(EngineEvent::TaskDeleted {
            id,
            project_id: task.project_id,
        });
        Ok(task)
    }

    /// Makes `task` run after `after`. Both must be in one project; a cycle is refused with the
    /// tasks that would form it, in run order.
    #[tracing::instrument(skip(self), fields(task = %task_id, after = %after_id))]
    pub async fn add_dependency(
        &self,
        task_id: TaskId,
        after_id: TaskId,
    ) -> EngineResult<TaskView> {
        let task = self.task_record(task_id).await?;
        let after = self.task_record(after_id).await?;
        if task.project_id != after.project_id {
            let task_project = self.project(task.project_id).await?.name;
            let after_project = self.project(after.project_id).await?.name;
            return Err(EngineError::CrossProjectDependency {
                task: task.title,
                task_project,
                after: after.title,
                after_project,
            });
        }
        let summaries = TaskQuery::summaries(self.store.db(), Some(task.project_id)).await?;
        let mut statuses = self
            .statuses(
                Some(task.project_id),
                summaries.iter().map(|t| (t.id, t.project_id)),
            )
            .await?;
        match statuses.graph.add_dependency(task_id, after_id) {
            Ok(()) => {}
            Err(GraphError::SelfDependency { .. }) => {
                return Err(EngineError::SelfDependency { task: task.title });
            }
            Err(GraphError::Cycle { cycle }) => {
                let title = |id: &TaskId| {
                    summaries
                        .iter()
                        .find(|t| t.id == *id)
                        .map_or_else(|| id.to_string(), |t| t.title.clone())
                };
                let names: Vec<String> = cycle.iter().map(title).collect();
                return Err(EngineError::DependencyCycle {
                    cycle: names.join(" -> "),
                });
            }
            Err(GraphError::UnknownTask { task }) => {
                return Err(EngineError::TaskNotFound {
                    reference: task.to_string(),
                    scope: None,
                });
            }
        }
        TaskMutation::add_edge(self.store.db(), task_id, after_id).await?;
        self.publish(EngineEvent::DependencyAdded {
            project_id: task.project_id,
            task: task_id,
            after: after_id,
        });
        self.task(task_id).await
    }

    #[tracing::instrument(skip(self), fields(task = %task_id, after = %after_id))]
    pub async fn remove_dependency(
        &self,
        task_id: TaskId,
        after_id: TaskId,
    ) -> EngineResult<TaskView> {
        let task = self.task_record(task_id).await?;
        let after = self.task_record(after_id).await?;
        if !TaskMutation::remove_edge(self.store.db(), task_id, after_id).await? {
            return Err(EngineError::DependencyNotFound {
                task: task.title,
                after: after.title,
            });
        }
        self.publish(EngineEvent::DependencyRemoved {
            project_id: task.project_id,
            task: task_id,
            after: after_id,
        });
        self.task(task_id).await
    }
}
