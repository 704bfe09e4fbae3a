//! An orchestrator waiting for its subtasks, costing no tokens: what is ready starts, and the
//! wait ends once none is running or still to start, or at once when a subtask asks (its
//! question comes to the orchestrator first) or fails when the orchestrator asked to hear of
//! that (`wake_on_failure`).

use std::collections::HashSet;
use std::time::Duration;

use corral_core::{Run, RunId, Task, TaskId, TaskStatus, TaskSummary};
use tokio::sync::watch;

use super::follow::StepStop;
use crate::engine::Engine;
use crate::views::TaskView;

/// How often a waiting orchestrator looks at its subtasks (the wake-up comes within this).
const POLL: Duration = Duration::from_millis(200);
/// In the run's host-only folder: the subtasks whose failure wakes the orchestrator at once.
const WAKE_ON_FAILURE_FILE: &str = "orchestrator.wake-on-failure";

/// How the wait ended.
pub(super) struct Waited {
    pub subtasks: Vec<TaskView<TaskSummary>>,
    /// Ready subtasks that could not start, and why.
    pub cannot_start: Vec<(TaskId, String)>,
    /// Woken before every subtask ended (a question, or a failure it asked to hear of).
    pub early: bool,
}

/// Waits for `task`'s subtasks; `recorded` is what the orchestrator was told already.
pub(super) async fn wait_for_subtasks(
    ctx: &Engine,
    run: &Run,
    task: &Task,
    recorded: &str,
    cancel: &mut watch::Receiver<bool>,
) -> Result<Waited, StepStop> {
    // A ready subtask that cannot start (its key missing) is not waited for: its orchestrator
    // is told why.
    let mut tried = HashSet::new();
    let mut cannot_start: Vec<(TaskId, String)> = Vec::new();
    let mut early = false;
    let subtasks = loop {
        if *cancel.borrow() {
            return Err(StepStop::Cancelled);
        }
        // Each ready subtask is tried once here (others start as the ones they wait on end).
        let starts = ctx.start_ready_subtasks(task.id, &tried).await?;
        tried.extend(starts.started.iter().map(|r| r.task_id));
        tried.extend(starts.refused.iter().map(|(id, _)| *id));
        cannot_start.extend(starts.refused);
        let subtasks = ctx.subtasks(task.id).await?;
        // Nor is what runs after one (it would wait forever).
        let mut stuck: HashSet<TaskId> = cannot_start.iter().map(|(id, _)| *id).collect();
        loop {
            let more: Vec<_> = subtasks
                .iter()
                .filter(|s| !stuck.contains(&s.task.id))
                .filter(|s| s.depends_on.iter().any(|d| stuck.contains(d)))
                .map(|s| s.task.id)
                .collect();
            if more.is_empty() {
                break;
            }
            stuck.extend(more);
        }
        let pending = subtasks.iter().any(|s| {
            let refused = stuck.contains(&s.task.id);
            !refused
                && matches!(
                    s.status,
                    TaskStatus::Ready
                        | TaskStatus::Running
                        | TaskStatus::NeedsInput
                        | TaskStatus::Backlog
                )
        });
        if !pending {
            break subtasks;
        }
        // So does a subtask's question.
        if ctx
            .routed_questions(run.id)
            .await?
            .iter()
            .any(|q| !recorded.lines().any(|l| l == question_line(q.id)))
        {
            early = true;
            break subtasks;
        }
        // A failure it asked to hear of at once wakes it now.
        if failed_at_once(ctx, run, &subtasks, recorded).await? {
            early = true;
            break subtasks;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = cancel.changed() => {}
        }
    };
    Ok(Waited {
        subtasks,
        cannot_start,
        early,
    })
}

/// How a reported question is kept in the reported file.
pub(super) fn question_line(id: corral_core::RequestId) -> String {
    format!("question {id}")
}

/// Records that the orchestrator of `run` wants to hear at once when `subtask` fails.
pub(crate) fn wake_on_failure(ctx: &Engine, run: RunId, subtask: TaskId) -> std::io::Result<()> {
    use std::io::Write;
    // Appended, one line a subtask: two calls at once each keep theirs.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ctx.run_dir(run).join(WAKE_ON_FAILURE_FILE))?;
    writeln!(file, "{subtask}")?;
    file.sync_all()
}

/// Whether a subtask whose failure the orchestrator wants to hear of at once failed, and was
/// not reported yet.
async fn failed_at_once(
    ctx: &Engine,
    run: &Run,
    subtasks: &[TaskView<TaskSummary>],
    recorded: &str,
) -> Result<bool, StepStop> {
    let listed =
        std::fs::read_to_string(ctx.run_dir(run.id).join(WAKE_ON_FAILURE_FILE)).unwrap_or_default();
    for sub in subtasks.iter().filter(|s| s.status == TaskStatus::Failed) {
        if !listed.lines().any(|l| l == sub.task.id.to_string()) {
            continue;
        }
        let newest = ctx.list_runs(Some(sub.task.id)).await?.into_iter().next();
        if newest.is_some_and(|r| !recorded.lines().any(|l| l == r.id.to_string())) {
            return Ok(true);
        }
    }
    Ok(false)
}
