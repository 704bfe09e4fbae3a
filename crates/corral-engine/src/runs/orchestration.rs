//! An orchestrator's turns: after it plans, it ends its turn and waits (costing no tokens)
//! until every subtask it started has ended; then Corral wakes it with a follow-up turn holding
//! each subtask's result. Once it called `finish` and its subtasks have ended, its run goes on
//! to its end. A turn that ends without `finish` and with nothing new to report gets one
//! nudge; after that the run fails, saying so. Every stage is on disk or in the database, so a
//! restart goes on where it was. The waiting run keeps its run slot, so an orchestrate task
//! needs `max-runs` of 2 or more.

use std::time::Duration;

use corral_core::{FailKind, Run, RunEventBody, Task, TaskKind, TaskStatus};
use corral_store::RunEventQuery;
use tokio::sync::watch;

use super::checks::write_atomic;
use super::follow::StepStop;
use super::work::NEXT_TURN_FILE;
use crate::engine::Engine;
use crate::error::EngineError;

/// How often a waiting orchestrator looks at its subtasks (the wake-up comes within this).
const POLL: Duration = Duration::from_millis(200);
/// In the run's host-only folder: the subtask runs already reported to the orchestrator, one
/// id a line; then `nudged` once it was told to finish.
const REPORTED_FILE: &str = "orchestrator.reported";
/// The most of a subtask's final text the orchestrator is told.
const FINAL_TEXT_CHARS: usize = 1_500;

/// What follows an orchestrator's turn.
pub(super) enum AfterTurn {
    /// It called `finish` (or the task is no orchestrator): the run goes on to its checks.
    Done,
    /// Its next turn is set up: run it.
    NextTurn,
}

/// After `task`'s agent ended a turn: waits for its subtasks and sets up the turn that reports
/// them, or nudges it to finish, or fails the run.
pub(super) async fn after_turn(
    ctx: &Engine,
    run: &Run,
    task: &Task,
    cancel: &mut watch::Receiver<bool>,
) -> Result<AfterTurn, StepStop> {
    if task.kind != TaskKind::Orchestrate || run.consult.is_some() {
        return Ok(AfterTurn::Done);
    }
    let record = ctx.run_dir(run.id).join(REPORTED_FILE);
    let recorded = std::fs::read_to_string(&record).unwrap_or_default();
    let nudged = recorded.lines().any(|l| l == "nudged");
    // Wait until none of its subtasks is running or still to start. A ready subtask that
    // cannot start (its key missing) is not waited for: its orchestrator is told why.
    let mut tried = std::collections::HashSet::new();
    let mut cannot_start: Vec<(corral_core::TaskId, String)> = Vec::new();
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
        let mut stuck: std::collections::HashSet<corral_core::TaskId> =
            cannot_start.iter().map(|(id, _)| *id).collect();
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
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = cancel.changed() => {}
        }
    };
    // Done once it said so and its subtasks have all ended.
    if finished(ctx, run).await? {
        return Ok(AfterTurn::Done);
    }
    let mut results = Vec::new();
    for sub in &subtasks {
        let latest = ctx.list_runs(Some(sub.task.id)).await?.into_iter().next(); // newest first
        results.push((sub, latest));
    }
    let new: Vec<&Run> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref())
        .filter(|r| !recorded.lines().any(|l| l == r.id.to_string()))
        .collect();
    // A subtask that cannot start is news once.
    let unstartable: Vec<String> = cannot_start
        .iter()
        .map(|(id, _)| format!("cannot start {id}"))
        .filter(|line| !recorded.lines().any(|l| l == line))
        .collect();
    let message = if !new.is_empty() || !unstartable.is_empty() {
        let mut text = format!(
            "Your subtasks have ended ({} in all). Their results:\n",
            subtasks.len()
        );
        for (sub, latest) in &results {
            text.push_str(&format!(
                "\n- `{}` ({}): {}",
                sub.task.title,
                sub.task.id,
                sub.status.as_str()
            ));
            if let Some((_, why)) = cannot_start.iter().find(|(id, _)| *id == sub.task.id) {
                text.push_str(&format!(", cannot start: {why}"));
            }
            if let Some(r) = latest {
                if let Some(failure) = r.state.failure() {
                    text.push_str(&format!(", failed: {}", failure.message));
                }
                let said = ctx.final_text(r.id).await?.unwrap_or_default();
                let said: String = said.trim().chars().take(FINAL_TEXT_CHARS).collect();
                if !said.is_empty() {
                    text.push_str(&format!(
                        "\n  its agent said: {}",
                        said.replace('\n', "\n  ")
                    ));
                }
            }
        }
        text.push_str(
            "\n\nCheck what you need (list_subtasks), create more subtasks if the goal needs \
             them, or call finish with a summary.",
        );
        text
    } else if !nudged {
        "You ended your turn without calling finish, and no subtask is running. Create the \
         subtasks the goal needs, or call finish with a summary of where it stands."
            .to_string()
    } else {
        return Err(StepStop::fail(
            FailKind::AgentExit,
            "the orchestrator ended its turn again without calling finish, with no subtask \
             running; follow it up with what to do, or run it again",
        ));
    };
    // The turn's message first, then what it reports, then the finished turn's records: a
    // restart at any point runs that turn once.
    write_atomic(&ctx.run_dir(run.id).join(NEXT_TURN_FILE), &message)?;
    // Clearing the finished turn commits it: a restart before comes back here (and says it
    // again), a restart after runs the next turn.
    for file in ["agent.step", "agent.ended"] {
        match std::fs::remove_file(ctx.run_dir(run.id).join(file)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StepStop::fail(
                    FailKind::Internal,
                    format!("clearing the orchestrator's finished turn: {e}"),
                ));
            }
        }
    }
    let mut reported = recorded;
    for r in &new {
        reported.push_str(&format!("{}\n", r.id));
    }
    for line in &unstartable {
        reported.push_str(&format!("{line}\n"));
    }
    if new.is_empty() && unstartable.is_empty() {
        reported.push_str("nudged\n");
    }
    write_atomic(&record, &reported)?;
    ctx.note(
        run.id,
        if new.is_empty() && unstartable.is_empty() {
            "the orchestrator ended its turn without finish: it is woken once to finish or \
             go on"
                .to_string()
        } else {
            format!(
                "the orchestrator is woken: {} subtask run{} ended",
                new.len(),
                if new.len() == 1 { "" } else { "s" }
            )
        },
    )
    .await?;
    Ok(AfterTurn::NextTurn)
}

/// Whether the orchestrator called `finish` in this run.
async fn finished(ctx: &Engine, run: &Run) -> Result<bool, StepStop> {
    let events = RunEventQuery::of_kind(ctx.store.db(), run.id, "orchestrator_finished")
        .await
        .map_err(EngineError::from)?;
    Ok(events
        .iter()
        .any(|e| matches!(e.body, RunEventBody::OrchestratorFinished { .. })))
}
