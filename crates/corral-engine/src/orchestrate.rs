//! Orchestrate tasks: an agent splits a goal into subtasks (MCP `create_subtask`), which belong
//! to its task (their `parent`), run at once when ready (no approval: a person created the
//! orchestrator) and start by themselves as the subtasks they run after end. What belongs to
//! one orchestrator's subtree, and starting what is ready in it.

use std::collections::HashSet;
use std::sync::LazyLock;

use corral_core::{Run, RunId, Task, TaskId, TaskKind, TaskStatus, TaskSummary};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::views::TaskView;

/// Held while subtasks are looked at and started.
static STARTING: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(Default::default);

/// What `start_ready_subtasks` did.
#[derive(Debug, Default)]
pub(crate) struct SubtaskStarts {
    pub started: Vec<Run>,
    /// Ready subtasks that could not start, and why.
    pub refused: Vec<(TaskId, String)>,
}

impl Engine {
    /// The subtasks of an orchestrate task, oldest first, with their status: one listing of
    /// its project (cached while nothing changes), not one status computation per subtask.
    pub async fn subtasks(&self, parent: TaskId) -> EngineResult<Vec<TaskView<TaskSummary>>> {
        let project = self.task_record(parent).await?.project_id;
        let mut views: Vec<_> = self
            .list_task_summaries(Some(project))
            .await?
            .into_iter()
            .filter(|v| v.task.parent == Some(parent))
            .collect();
        views.sort_by_key(|v| (v.task.created_at, v.task.id));
        Ok(views)
    }

    /// Starts every subtask of `parent` that is ready (the subtasks it runs after succeeded)
    /// and has no run yet. Returns the runs started, and the subtasks that cannot start with
    /// why (a missing key, say): they stay ready, and their orchestrator is told.
    /// Subtasks in `skip` are not tried (a caller that tried them already).
    pub(crate) async fn start_ready_subtasks(
        &self,
        parent: TaskId,
        skip: &HashSet<TaskId>,
    ) -> EngineResult<SubtaskStarts> {
        // One start at a time in this process: a subtask seen ready twice starts once.
        let _one_at_a_time = STARTING.lock().await;
        let mut starts = SubtaskStarts::default();
        // Past the orchestration's token budget nothing new starts (a person decides); asked
        // only once something is ready.
        let mut over = None;
        for child in self.subtasks(parent).await? {
            if child.status != TaskStatus::Ready || skip.contains(&child.task.id) {
                continue;
            }
            if over.is_none() {
                over = Some(self.orchestration_over_budget(parent).await?);
            }
            if let Some(Some((used, allowed))) = over {
                starts
                    .refused
                    .push((child.task.id, over_budget(used, allowed)));
                continue;
            }
            match self.start_run(child.task.id).await {
                Ok(run) => starts.started.push(run),
                Err(err) => {
                    tracing::warn!(task = %child.task.id, error = %err, "a ready subtask could not start");
                    let why = match err.fix() {
                        Some(fix) => format!("{err} ({fix})"),
                        None => err.to_string(),
                    };
                    starts.refused.push((child.task.id, why));
                }
            }
        }
        Ok(starts)
    }

    /// A run ended: when its task is a subtask, what became ready in its subtree starts.
    pub(crate) async fn after_subtask_ended(&self, run: &Run) -> EngineResult<()> {
        if run.consult.is_some() {
            return Ok(());
        }
        let task = self.task_record(run.task_id).await?;
        let Some(parent) = task.parent else {
            return Ok(());
        };
        // Only while its orchestrator works: an orchestrator that ended starts nothing more.
        let orchestrating = self
            .list_runs(Some(parent))
            .await?
            .first()
            .is_some_and(|r| r.state.is_live());
        if orchestrating {
            self.start_ready_subtasks(parent, &HashSet::new()).await?;
        }
        Ok(())
    }

    /// Each waiting orchestrator keeps a run slot, so with `max-runs=N` at most N-1 of a
    /// project's orchestrators may be live at once: one more would leave their subtasks no
    /// slot, and every one of them would wait for ever.
    pub(crate) async fn check_orchestrator_slots(
        &self,
        task: &Task,
        project: &corral_core::Project,
    ) -> EngineResult<()> {
        if task.kind != TaskKind::Orchestrate {
            return Ok(());
        }
        let mut live = Vec::new();
        for other in self.list_task_summaries(Some(project.id)).await? {
            if other.task.kind != TaskKind::Orchestrate || other.task.id == task.id {
                continue;
            }
            if self
                .list_runs(Some(other.task.id))
                .await?
                .iter()
                .any(|r| r.state.is_live())
            {
                live.push(other.task.title);
            }
        }
        let slots = project.workflow.max_concurrent_runs;
        if live.len() + 1 >= slots as usize {
            return Err(EngineError::NotRunnable {
                reason: format!(
                    "each waiting orchestrator keeps a run slot, and with max-runs={slots} the \
                     orchestrators running now ({}) leave none for this one's subtasks; wait \
                     for one to end, or `corral project set {} max-runs={}`",
                    live.iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    project.name,
                    live.len() + 2
                ),
            });
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

/// Why nothing new starts past an orchestration's budget.
pub(crate) fn over_budget(used: u64, allowed: u64) -> String {
    format!(
        "the orchestration used {used} of its {allowed} tokens (orchestrate-budget-tokens); \
         nothing new starts until a person decides in the inbox"
    )
}

/// What an orchestrate task's page shows besides its subtasks: its newest run, the tokens the
/// orchestration used and its budget, and what the orchestrator said and was told, in order.
#[derive(Debug, Clone)]
pub struct Orchestration {
    pub run: Option<Run>,
    pub tokens_used: u64,
    pub budget_tokens: Option<u64>,
    pub messages: Vec<OrchestratorMessage>,
}

/// One entry of an orchestrator's conversation with Corral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrchestratorMessage {
    /// What its agent said.
    Said {
        at: corral_core::Timestamp,
        text: String,
    },
    /// Corral woke it, telling it this.
    Woken {
        at: corral_core::Timestamp,
        reason: corral_core::WakeReason,
        message: String,
    },
    /// It called `finish`.
    Finished {
        at: corral_core::Timestamp,
        summary: String,
    },
}

impl Engine {
    /// The page of the orchestrate task `task`.
    pub async fn orchestration(&self, task: TaskId) -> EngineResult<Orchestration> {
        let record = self.task_record(task).await?;
        if record.kind != TaskKind::Orchestrate {
            return Err(EngineError::NotRunnable {
                reason: format!("`{}` is not an orchestrate task", record.title),
            });
        }
        let project = self.project(record.project_id).await?;
        let run = self.list_runs(Some(task)).await?.into_iter().next();
        let mut messages = Vec::new();
        if let Some(run) = &run {
            let db = self.store.db();
            let mut events = Vec::new();
            for kind in ["agent", "orchestrator_woken", "orchestrator_finished"] {
                events.extend(corral_store::RunEventQuery::of_kind(db, run.id, kind).await?);
            }
            events.sort_by_key(|e| e.seq);
            for event in events {
                let at = event.at;
                match event.body {
                    corral_core::RunEventBody::Agent {
                        event: corral_core::AgentEvent::AssistantText { text },
                    } if !text.trim().is_empty() => {
                        messages.push(OrchestratorMessage::Said { at, text });
                    }
                    corral_core::RunEventBody::OrchestratorWoken { reason, message } => {
                        messages.push(OrchestratorMessage::Woken {
                            at,
                            reason,
                            message,
                        });
                    }
                    corral_core::RunEventBody::OrchestratorFinished { summary } => {
                        messages.push(OrchestratorMessage::Finished { at, summary });
                    }
                    _ => {}
                }
            }
        }
        Ok(Orchestration {
            run,
            tokens_used: self.orchestration_tokens(task).await?,
            budget_tokens: project.workflow.orchestrate_budget_tokens,
            messages,
        })
    }
}
