//! Orchestrate tasks: an agent splits a goal into subtasks (MCP `create_subtask`), which belong
//! to its task (their `parent`), run at once when ready (no approval: a person created the
//! orchestrator) and start by themselves as the subtasks they run after end. What belongs to
//! one orchestrator's subtree, and starting what is ready in it.

use corral_core::{Run, RunId, Task, TaskId, TaskKind, TaskStatus};
use corral_store::TaskQuery;

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::views::TaskView;

impl Engine {
    /// The subtasks of an orchestrate task, oldest first, with their status.
    pub async fn subtasks(&self, parent: TaskId) -> EngineResult<Vec<TaskView>> {
        let mut views = Vec::new();
        for child in TaskQuery::children(self.store.db(), parent).await? {
            views.push(self.task(child.id).await?);
        }
        Ok(views)
    }

    /// Starts every subtask of `parent` that is ready (the subtasks it runs after succeeded)
    /// and has no run yet; returns the runs started. A subtask that cannot run is left, said
    /// in the log.
    pub(crate) async fn start_ready_subtasks(&self, parent: TaskId) -> EngineResult<Vec<Run>> {
        let mut started = Vec::new();
        for child in self.subtasks(parent).await? {
            if child.status != TaskStatus::Ready {
                continue;
            }
            match self.start_run(child.task.id).await {
                Ok(run) => started.push(run),
                Err(err) => tracing::warn!(
                    task = %child.task.id, error = %err,
                    "a ready subtask could not start"
                ),
            }
        }
        Ok(started)
    }

    /// A run ended: when its task is a subtask, what became ready in its subtree starts.
    pub(crate) async fn after_subtask_ended(&self, run: &Run) -> EngineResult<()> {
        if run.consult.is_some() {
            return Ok(());
        }
        let task = self.task_record(run.task_id).await?;
        if let Some(parent) = task.parent {
            self.start_ready_subtasks(parent).await?;
        }
        Ok(())
    }

    /// The orchestrate task `run` works on, refused for any other run.
    pub(crate) async fn orchestrator_task(&self, run: RunId) -> EngineResult<Task> {
        let run = self.run(run).await?;
        let task = self.task_record(run.task_id).await?;
        if task.kind != TaskKind::Orchestrate {
            return Err(EngineError::NotRunnable {
                reason: format!("`{}` is not an orchestrate task", task.title),
            });
        }
        Ok(task)
    }
}
