//! An orchestration's token budget (`orchestrate-budget-tokens`): the tokens its own runs and
//! its subtasks' runs used, as Corral's gateway counted them. Past it no subtask starts, and
//! before the orchestrator is woken again (which costs tokens) the inbox asks a person: go on
//! with another budget's worth, or stop. The question and each grant are kept in the run's
//! host-only folder, so a restart asks once and counts what was granted.

use std::time::Duration;

use corral_core::question::{Choice, Question};
use corral_core::{Answer, Ask, FailKind, RequestId, RequestState, Run, RunId, Task, TaskId};
use corral_store::InputRequests;
use tokio::sync::watch;

use super::follow::StepStop;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;

/// In the run's host-only folder: `asked <request>`, `allow <tokens>` (the orchestration's
/// allowance after a person's grant), `decided <request>`.
const BUDGET_FILE: &str = "orchestrator.budget";
/// How often a waiting orchestrator looks for the person's decision.
const POLL: Duration = Duration::from_millis(250);
const GO_ON: &str = "Go on";
const STOP: &str = "Stop";

/// Whether the orchestrator may be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gate {
    /// Within its budget (or it has none).
    Within,
    /// A person granted another budget's worth: what could not start may start now.
    Granted,
}

/// What the budget file says.
#[derive(Debug, Default)]
struct Ledger {
    /// What a person allowed last (the budget when none).
    allowed: Option<u64>,
    /// The question asked and not decided yet.
    asked: Option<RequestId>,
}

fn ledger(text: &str) -> Ledger {
    let mut ledger = Ledger::default();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("allow", n)) => ledger.allowed = n.parse::<u64>().ok().max(ledger.allowed),
            Some(("asked", id)) => ledger.asked = id.parse().ok(),
            Some(("decided", _)) => ledger.asked = None,
            _ => {}
        }
    }
    ledger
}

fn append(ctx: &Engine, run: RunId, line: &str) -> Result<(), StepStop> {
    use std::io::Write;
    let path = ctx.run_dir(run).join(BUDGET_FILE);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}").and_then(|()| f.sync_all()))
        .map_err(|e| {
            StepStop::fail(
                FailKind::Internal,
                format!("recording the budget decision: {e}"),
            )
        })
}

/// Whether `request` is the budget question Corral asked for the orchestrator `run` (a person
/// answers it for Corral, not for the orchestrator's agent).
pub(super) fn is_budget_question(ctx: &Engine, run: RunId, request: RequestId) -> bool {
    std::fs::read_to_string(ctx.run_dir(run).join(BUDGET_FILE))
        .is_ok_and(|text| text.lines().any(|l| *l == format!("asked {request}")))
}

impl Engine {
    /// Tokens the orchestration of `parent` used: its own runs' and its subtasks', as the
    /// gateway counted them.
    pub async fn orchestration_tokens(&self, parent: TaskId) -> EngineResult<u64> {
        let mut tasks = vec![parent];
        tasks.extend(self.subtasks(parent).await?.iter().map(|s| s.task.id));
        let mut used = 0u64;
        for task in tasks {
            for run in self.list_runs(Some(task)).await? {
                used = used.saturating_add(self.run_network(run.id).await?.tokens);
            }
        }
        Ok(used)
    }

    /// `Some((used, allowed))` when the orchestration of `parent` is past its budget (the
    /// project's, plus what a person granted its newest run).
    pub(crate) async fn orchestration_over_budget(
        &self,
        parent: TaskId,
    ) -> EngineResult<Option<(u64, u64)>> {
        let task = self.task_record(parent).await?;
        let project = self.project(task.project_id).await?;
        let Some(budget) = project.workflow.orchestrate_budget_tokens else {
            return Ok(None);
        };
        let granted = match self.list_runs(Some(parent)).await?.first() {
            Some(newest) => {
                let text = std::fs::read_to_string(self.run_dir(newest.id).join(BUDGET_FILE))
                    .unwrap_or_default();
                ledger(&text).allowed
            }
            None => None,
        };
        let allowed = granted.unwrap_or(0).max(budget);
        let used = self.orchestration_tokens(parent).await?;
        Ok((used >= allowed).then_some((used, allowed)))
    }
}

/// Before the orchestrator of `task` is woken: within its budget, or a person's decision.
pub(super) async fn budget_gate(
    ctx: &Engine,
    run: &Run,
    task: &Task,
    cancel: &mut watch::Receiver<bool>,
) -> Result<Gate, StepStop> {
    loop {
        let text =
            std::fs::read_to_string(ctx.run_dir(run.id).join(BUDGET_FILE)).unwrap_or_default();
        let asked = ledger(&text).asked;
        let over = ctx.orchestration_over_budget(task.id).await?;
        let Some((used, allowed)) = over else {
            // Within (the budget was raised meanwhile): an open question is moot.
            if let Some(id) = asked {
                InputRequests::cancel(ctx.store.db(), id)
                    .await
                    .map_err(EngineError::from)?;
                append(ctx, run.id, &format!("decided {id}"))?;
            }
            return Ok(Gate::Within);
        };
        let Some(id) = asked else {
            ask(ctx, run, task, used, allowed).await?;
            continue;
        };
        let request = InputRequests::by_id(ctx.store.db(), id)
            .await
            .map_err(EngineError::from)?;
        match request.as_ref().map(|r| (r.state, r.answer.as_ref())) {
            Some((RequestState::Answered, answer)) => {
                InputRequests::mark_delivered(ctx.store.db(), id, Engine::now())
                    .await
                    .map_err(EngineError::from)?;
                let stop = answer.is_some_and(picked_stop);
                if stop {
                    append(ctx, run.id, &format!("decided {id}"))?;
                    // Nothing of the orchestration goes on spending.
                    for sub in ctx.subtasks(task.id).await? {
                        for r in ctx.list_runs(Some(sub.task.id)).await? {
                            if r.state.is_live() {
                                ctx.cancel_run(r.id).await?;
                            }
                        }
                    }
                    return Err(StepStop::fail(
                        FailKind::TokenBudget,
                        format!(
                            "stopped at its token budget: the orchestration used {used} of \
                             {allowed} tokens (orchestrate-budget-tokens) and a person chose \
                             to stop it"
                        ),
                    ));
                }
                let project = ctx.project(task.project_id).await?;
                let more = project.workflow.orchestrate_budget_tokens.unwrap_or(0);
                // Another budget's worth from where it stands, so one "go on" is enough.
                let allow = used.max(allowed).saturating_add(more);
                // The grant before the decision: a restart in between asks nothing twice.
                append(ctx, run.id, &format!("allow {allow}"))?;
                append(ctx, run.id, &format!("decided {id}"))?;
                ctx.note(
                    run.id,
                    format!(
                        "a person granted the orchestration another {more} tokens ({allow} \
                         in all)"
                    ),
                )
                .await?;
                return Ok(Gate::Granted);
            }
            // Cancelled (or gone): asked again.
            Some((RequestState::Cancelled, _)) | None => {
                append(ctx, run.id, &format!("decided {id}"))?;
            }
            Some((RequestState::Pending, _)) => {
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    _ = cancel.changed() => {}
                }
                if *cancel.borrow() {
                    return Err(StepStop::Cancelled);
                }
            }
        }
    }
}

fn picked_stop(answer: &Answer) -> bool {
    answer
        .answers
        .first()
        .is_some_and(|a| a.selected.iter().any(|s| s == STOP))
}

/// Puts the question in the inbox (the run stays as it is: it waits here).
async fn ask(
    ctx: &Engine,
    run: &Run,
    task: &Task,
    used: u64,
    allowed: u64,
) -> Result<(), StepStop> {
    let project = ctx.project(task.project_id).await?;
    let more = project.workflow.orchestrate_budget_tokens.unwrap_or(0);
    let ask = Ask {
        questions: vec![Question {
            question: format!(
                "The orchestration `{}` used {used} of its {allowed} tokens \
                 (orchestrate-budget-tokens). Nothing new starts until you decide: go on with \
                 another {more} tokens, or stop it?",
                task.title
            ),
            options: vec![
                Choice {
                    label: GO_ON.into(),
                    description: Some(format!("another {more} tokens")),
                },
                Choice {
                    label: STOP.into(),
                    description: Some(
                        "the orchestrator's run fails; its subtasks' results stay".into(),
                    ),
                },
            ],
            multiple: false,
        }],
        context: None,
        permission: None,
    };
    let request = crate::questions::new_request(run, RequestId::new(), ask, None);
    InputRequests::insert(ctx.store.db(), &request)
        .await
        .map_err(EngineError::from)?;
    append(ctx, run.id, &format!("asked {}", request.id))?;
    ctx.note(
        run.id,
        format!(
            "the orchestration used {used} of its {allowed} tokens: nothing new starts; the \
             inbox asks whether to go on (request {})",
            request.id
        ),
    )
    .await?;
    ctx.publish(EngineEvent::InboxChanged { request });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_keeps_the_largest_allowance_and_the_open_question() {
        let id = RequestId::new();
        let l = ledger(&format!("asked {id}\n"));
        assert_eq!((l.allowed, l.asked), (None, Some(id)));
        let l = ledger(&format!(
            "asked {id}\nallow 1500\ndecided {id}\nallow 900\n"
        ));
        assert_eq!((l.allowed, l.asked), (Some(1500), None));
    }
}
