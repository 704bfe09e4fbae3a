//! An orchestrator's turns: after it plans, it ends its turn and waits (costing no tokens)
//! until every subtask it started has ended; then Corral wakes it with a follow-up turn holding
//! each subtask's result. Once it called `finish` and its subtasks have ended, its run goes on
//! to its end. A turn that ends without `finish` and with nothing new to report gets one
//! nudge; after that the run fails, saying so. Every stage is on disk or in the database, so a
//! restart goes on where it was. The waiting run keeps its run slot, so an orchestrate task
//! needs `max-runs` of 2 or more.

use corral_core::{FailKind, Project, Run, RunEventBody, Task, TaskKind, WakeReason};
use corral_store::RunEventQuery;
use tokio::sync::watch;

use super::checks::write_atomic;
use super::follow::StepStop;
use super::integration::{Integration, integrate};
use super::orchestration_budget::{Gate, budget_gate};
use super::orchestration_wait::{Waited, question_line, wait_for_subtasks};
use super::work::NEXT_TURN_FILE;
use crate::engine::Engine;
use crate::error::EngineError;

/// In the run's host-only folder: the subtask runs already reported to the orchestrator, one
/// id a line; then `nudged` once it was told to finish.
const REPORTED_FILE: &str = "orchestrator.reported";
/// How many times one run's orchestrator is told its subtasks' work conflicts, at most.
const MAX_CONFLICT_WAKES: usize = 3;
/// The most of a subtask's final text the orchestrator is told.
const FINAL_TEXT_CHARS: usize = 1_500;

/// What follows an orchestrator's turn.
pub(super) enum AfterTurn {
    /// The task is no orchestrator: the run goes on to its checks.
    Done,
    /// It called `finish` and its subtasks' work is integrated and committed: the run goes
    /// on to its checks.
    Integrated,
    /// Its next turn is set up: run it.
    NextTurn,
}

/// After `task`'s agent ended a turn: waits for its subtasks and sets up the turn that reports
/// them, or nudges it to finish, or fails the run.
pub(super) async fn after_turn(
    ctx: &Engine,
    run: &mut Run,
    task: &Task,
    project: &Project,
    cancel: &mut watch::Receiver<bool>,
) -> Result<AfterTurn, StepStop> {
    if task.kind != TaskKind::Orchestrate || run.consult.is_some() {
        return Ok(AfterTurn::Done);
    }
    let record = ctx.run_dir(run.id).join(REPORTED_FILE);
    let recorded = std::fs::read_to_string(&record).unwrap_or_default();
    // A subtask's question it was woken with and did not answer goes on to a person.
    for request in ctx.routed_questions(run.id).await? {
        if recorded.lines().any(|l| l == question_line(request.id)) {
            ctx.pass_on_question(run.id, request.id, "(it ended its turn without answering)")
                .await?;
        }
    }
    let nudged = recorded.lines().any(|l| l == "nudged");
    // Wait until none of its subtasks is running or still to start (or one asks, or fails
    // when it asked to hear of that at once). Then: integrate, or wake it (past its token
    // budget, a person decides first).
    let (subtasks, cannot_start, early, results, conflict) = loop {
        let Waited {
            subtasks,
            cannot_start,
            early,
        } = wait_for_subtasks(ctx, run, task, &recorded, cancel).await?;
        let mut results = Vec::new();
        for sub in &subtasks {
            let latest = ctx.list_runs(Some(sub.task.id)).await?.into_iter().next(); // newest first
            results.push((sub.clone(), latest));
        }
        let untold =
            |r: &&Run| r.state.is_terminal() && !recorded.lines().any(|l| l == r.id.to_string());
        // A failure it was not told of yet (a subtask that failed or cannot start, its
        // dependants blocked) is told before its work becomes one branch, even after finish.
        let untold_failure = results
            .iter()
            .filter_map(|(_, r)| r.as_ref())
            .filter(untold)
            .any(|r| r.state != corral_core::RunState::Succeeded)
            || cannot_start
                .iter()
                .any(|(id, _)| !recorded.lines().any(|l| *l == format!("cannot start {id}")));
        // Once it said it is done and its subtasks have all ended, their work becomes one
        // branch (which costs no tokens: no budget question first).
        let mut conflict = None;
        if !early && !untold_failure && finished(ctx, run).await? {
            match integrate(ctx, run, task, project).await? {
                Integration::Clean => return Ok(AfterTurn::Integrated),
                Integration::Conflict { message, key } => {
                    let line = format!("conflict {key}");
                    let told = recorded
                        .lines()
                        .filter(|l| l.starts_with("conflict "))
                        .count();
                    if recorded.lines().any(|l| l == line) || told >= MAX_CONFLICT_WAKES {
                        return Err(StepStop::fail(
                            FailKind::UpstreamConflict,
                            "the subtasks' work still does not merge into one branch after \
                             the orchestrator was told (its log names the paths); follow it up \
                             with what to do, or merge the subtasks' runs by hand",
                        ));
                    }
                    conflict = Some((message, line));
                }
            }
        }
        let news = results
            .iter()
            .filter_map(|(_, r)| r.as_ref())
            .any(|r| untold(&r))
            || untold_failure
            || !ctx.routed_questions(run.id).await?.is_empty();
        if early && !news {
            // What woke it early is gone (the asking subtask was cancelled): wait on.
            continue;
        }
        match budget_gate(ctx, run, task, cancel).await? {
            Gate::Within => break (subtasks, cannot_start, early, results, conflict),
            // Granted more: what could not start for the budget is tried again.
            Gate::Granted => {}
        }
    };
    let new: Vec<&Run> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref())
        .filter(|r| r.state.is_terminal())
        .filter(|r| !recorded.lines().any(|l| l == r.id.to_string()))
        .collect();
    // A subtask that cannot start is news once.
    let unstartable: Vec<String> = cannot_start
        .iter()
        .map(|(id, _)| format!("cannot start {id}"))
        .filter(|line| !recorded.lines().any(|l| l == line))
        .collect();
    let questions: Vec<corral_core::InputRequest> = ctx
        .routed_questions(run.id)
        .await?
        .into_iter()
        .filter(|q| !recorded.lines().any(|l| l == question_line(q.id)))
        .collect();
    let (reason, message) = if !questions.is_empty() {
        (
            WakeReason::Question,
            questions_message(&questions, &subtasks),
        )
    } else if let Some((message, _)) = &conflict {
        (WakeReason::Conflict, message.clone())
    } else if !new.is_empty() || !unstartable.is_empty() {
        let mut text = if early {
            format!(
                "A subtask failed (you asked to hear of its failure at once); the others go \
                 on. Your subtasks ({} in all):\n",
                subtasks.len()
            )
        } else {
            format!(
                "Your subtasks have ended ({} in all). Their results:\n",
                subtasks.len()
            )
        };
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
            if let Some(r) = latest.as_ref().filter(|r| r.state.is_terminal()) {
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
            "\n\nCheck what you need (list_subtasks, get_subtask_result), create more \
             subtasks if the goal needs them, or call finish with a summary.",
        );
        let reason = if early {
            WakeReason::SubtaskFailed
        } else {
            WakeReason::SubtasksEnded
        };
        (reason, text)
    } else if !nudged {
        (
            WakeReason::Nudge,
            "You ended your turn without calling finish, and no subtask is running. Create the \
             subtasks the goal needs, or call finish with a summary of where it stands."
                .to_string(),
        )
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
    // Only a wake-up that told of the ended runs counts them told.
    if matches!(
        reason,
        WakeReason::SubtasksEnded | WakeReason::SubtaskFailed
    ) {
        for r in &new {
            reported.push_str(&format!("{}\n", r.id));
        }
        for line in &unstartable {
            reported.push_str(&format!("{line}\n"));
        }
    }
    match (&conflict, reason) {
        (_, WakeReason::Question) => {
            for q in &questions {
                reported.push_str(&format!("{}\n", question_line(q.id)));
            }
        }
        (Some((_, line)), _) => reported.push_str(&format!("{line}\n")),
        (None, WakeReason::Nudge) => reported.push_str("nudged\n"),
        _ => {}
    }
    write_atomic(&record, &reported)?;
    ctx.append(run.id, RunEventBody::OrchestratorWoken { reason, message })
        .await?;
    ctx.note(
        run.id,
        match reason {
            WakeReason::Nudge => "the orchestrator ended its turn without finish: it is woken \
                                  once to finish or go on"
                .to_string(),
            WakeReason::Conflict => {
                "the orchestrator is woken: its subtasks' work conflicts".to_string()
            }
            WakeReason::Question => format!(
                "the orchestrator is woken: {} question{} of its subtasks",
                questions.len(),
                if questions.len() == 1 { "" } else { "s" }
            ),
            WakeReason::SubtaskFailed => {
                "the orchestrator is woken at once: a subtask failed".to_string()
            }
            _ => format!(
                "the orchestrator is woken: {} subtask run{} ended",
                new.len(),
                if new.len() == 1 { "" } else { "s" }
            ),
        },
    )
    .await?;
    Ok(AfterTurn::NextTurn)
}

/// What the orchestrator is told of its subtasks' questions.
fn questions_message(
    questions: &[corral_core::InputRequest],
    subtasks: &[crate::views::TaskView<corral_core::TaskSummary>],
) -> String {
    let mut text = String::from("Your subtasks ask (their runs wait for the answers):\n");
    for q in questions {
        let title = subtasks
            .iter()
            .find(|s| s.task.id == q.task_id)
            .map_or_else(|| q.task_id.to_string(), |s| s.task.title.clone());
        text.push_str(&format!("\n- request {} from `{title}`:", q.id));
        if let Some(context) = q.ask.context.as_deref().filter(|c| !c.trim().is_empty()) {
            text.push_str(&format!("\n  context: {}", context.replace('\n', "\n  ")));
        }
        for (i, question) in q.ask.questions.iter().enumerate() {
            text.push_str(&format!("\n  {}. {}", i + 1, question.question));
            for option in &question.options {
                text.push_str(&format!("\n     - {}", option.label));
                if let Some(description) = option.description.as_deref() {
                    text.push_str(&format!(": {description}"));
                }
            }
        }
    }
    text.push_str(
        "\n\nAnswer each with answer_subtask (the request, and for each question the options \
         picked or your text), or pass it on to the person with answer_subtask and `pass_on` \
         (your note for them). A question you leave unanswered when your turn ends goes on to \
         the person.",
    );
    text
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
