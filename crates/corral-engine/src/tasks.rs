//! Task operations: create, edit, delete, dependencies, and listing with derived status.

use corral_core::{
    Approval, CreatedBy, GraphError, ProjectId, Runtime, Task, TaskId, TaskKind, TaskSummary,
    ValidationError, validate,
};
use corral_store::{ChangeVersion, RunQuery, TaskMutation, TaskQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;
use crate::views::TaskView;

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
    /// A person, or the run whose agent asked for it (MCP `create_task`).
    pub created_by: CreatedBy,
    /// `Proposed` when it must wait for a person's approval.
    pub approval: Approval,
    /// The creating agent's key: a second call with it finds this task instead.
    pub idempotency_key: Option<String>,
    /// The orchestrate task it is a subtask of (created by that task's run).
    pub parent: Option<TaskId>,
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
    /// Tasks of one project (or all) in full, in creation order, with their derived status.
    pub async fn list_tasks(&self, project: Option<ProjectId>) -> EngineResult<Vec<TaskView>> {
        let tasks = TaskQuery::list(self.store.db(), project).await?;
        let statuses = self
            .statuses(
                project,
                tasks
                    .iter()
                    .map(|t| (t.id, t.project_id, t.approval, t.parent)),
            )
            .await?;
        Ok(tasks.into_iter().map(|t| statuses.view(t.id, t)).collect())
    }

    /// What lists and boards show: tasks without prompts, with their derived status. Given
    /// again as computed while nothing it is made of changed (see `listing_cache`).
    pub async fn list_task_summaries(
        &self,
        project: Option<ProjectId>,
    ) -> EngineResult<Vec<TaskView<TaskSummary>>> {
        let version = ChangeVersion::current(self.store.db()).await?;
        if let Some((tips, views)) = self.listings.get(project, version)
            && self.tips_hold(&tips).await?
        {
            return Ok(views);
        }
        let tasks = TaskQuery::summaries(self.store.db(), project).await?;
        let statuses = self
            .statuses(
                project,
                tasks
                    .iter()
                    .map(|t| (t.id, t.project_id, t.approval, t.parent)),
            )
            .await?;
        let mut views: Vec<TaskView<TaskSummary>> =
            tasks.into_iter().map(|t| statuses.view(t.id, t)).collect();
        with_subtask_progress(&mut views);
        self.listings
            .put(project, version, statuses.tips, views.clone());
        Ok(views)
    }

    /// Whether each project branch is where a listing saw it.
    async fn tips_hold(&self, tips: &crate::listing_cache::Tips) -> EngineResult<bool> {
        for (project, tip) in tips {
            let project = self.project(*project).await?;
            if self.branch_tip(&project).await.ok() != *tip {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub async fn task(&self, id: TaskId) -> EngineResult<TaskView> {
        let task = self.task_record(id).await?;
        let project = task.project_id;
        let ids = TaskQuery::summaries(self.store.db(), Some(project))
            .await?
            .into_iter()
            .map(|t| (t.id, t.project_id, t.approval, t.parent));
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
            parent: new.parent,
            created_by: new.created_by,
            approval: new.approval,
            max_attempts,
            created_at: now,
            updated_at: now,
        };
        TaskMutation::insert_with_edges(
            self.store.db(),
            &task,
            &new.after,
            new.idempotency_key.as_deref(),
        )
        .await?;
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
                summaries
                    .iter()
                    .map(|t| (t.id, t.project_id, t.approval, t.parent)),
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

    /// Lets a task an agent proposed run. Approving an approved task changes nothing.
    #[tracing::instrument(skip(self), fields(task = %id))]
    pub async fn approve_task(&self, id: TaskId) -> EngineResult<TaskView> {
        self.decide_task(id, Approval::Approved).await
    }

    /// Refuses a task an agent proposed: it stays on record, marked rejected, and never runs.
    #[tracing::instrument(skip(self), fields(task = %id))]
    pub async fn reject_task(&self, id: TaskId) -> EngineResult<TaskView> {
        self.decide_task(id, Approval::Rejected).await
    }

    async fn decide_task(&self, id: TaskId, decision: Approval) -> EngineResult<TaskView> {
        let mut task = self.task_record(id).await?;
        match (task.approval, decision) {
            (Approval::Proposed, _) => {}
            (current, decision) if current == decision => return self.task(id).await,
            (current, _) => {
                return Err(EngineError::NotProposed {
                    title: task.title,
                    approval: current.as_str(),
                });
            }
        }
        task.approval = decision;
        task.updated_at = Engine::now();
        TaskMutation::update(self.store.db(), &task).await?;
        tracing::info!(task = %id, decision = decision.as_str(), "proposed task decided");
        let view = self.task(id).await?;
        self.publish(EngineEvent::TaskUpdated { task: view.clone() });
        Ok(view)
    }
}

/// Each orchestrate task's progress: how many of its subtasks succeeded, of how many.
fn with_subtask_progress(views: &mut [TaskView<TaskSummary>]) {
    let mut progress: std::collections::HashMap<TaskId, (u32, u32)> = Default::default();
    for view in views.iter() {
        if let Some(parent) = view.task.parent {
            let entry = progress.entry(parent).or_default();
            entry.1 += 1;
            if matches!(
                view.status,
                corral_core::TaskStatus::Review | corral_core::TaskStatus::Done
            ) {
                entry.0 += 1;
            }
        }
    }
    for view in views.iter_mut() {
        view.subtask_progress = progress.get(&view.task.id).copied();
    }
}
