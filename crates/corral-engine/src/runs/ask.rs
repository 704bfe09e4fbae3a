//! The waiting_input state's step: the agent asked a person something and its turn ended
//! before the answer came (its call gave up waiting, or was cut by a restart). The run waits,
//! as long as it takes, without its inactivity timeout; the answer becomes the agent's next
//! turn, resuming its session. Every stage is on disk, so a restart at any point goes on.

use std::time::Duration;

use corral_core::permission::{Decision, decision};
use corral_core::{FailKind, Project, RequestState, Run, RunState, Transition};
use corral_sandbox::Sandbox;
use tokio::sync::watch;

use super::follow::StepStop;
use super::plan::Work;
use super::work::{NEXT_TURN_FILE, work};
use crate::engine::Engine;

/// How often the waiting run looks for the answer (another process may write it).
const POLL: Duration = Duration::from_millis(250);

/// Waits for the run's answer, then sets up the agent's next turn with it and puts the run
/// back in `running`.
pub(super) async fn await_answer(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &mut Run,
    project: &Project,
    plan_work: &Work,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    let run_dir = ctx.run_dir(run.id);
    // A restart while the agent's turn was still going (its call cut): follow it to its end.
    if run_dir.join("agent.step").exists() && !run_dir.join("agent.ended").exists() {
        // Its turn may fail for the cut (its model door was gone a while): the question
        // still waits, and the answer resumes the session all the same.
        match work(ctx, sandbox, run, project, plan_work, cancel).await {
            Ok(()) => {}
            Err(StepStop::Cancelled) => return Err(StepStop::Cancelled),
            Err(StepStop::Failed(reason)) => {
                ctx.note(
                    run.id,
                    format!(
                        "the agent's turn ended while Corral was away ({}); its question still waits",
                        reason.message
                    ),
                )
                .await?;
            }
            Err(engine) => return Err(engine),
        }
        ctx.refresh_state(run).await?;
        if run.state != RunState::WaitingInput {
            return Ok(());
        }
    }
    // From here the answer is this supervisor's to give; a tool call still waiting lets go.
    {
        let lock = ctx.runs.state_lock(run.id);
        let _one_at_a_time = lock.lock().await;
        ctx.runs.set_awaiting_turn(run.id, true);
    }
    let given = give_answer(ctx, run, cancel).await;
    ctx.runs.set_awaiting_turn(run.id, false);
    given
}

/// Waits for the run's latest question to be answered, then makes the answer the agent's
/// next turn. The order of the steps makes each restartable: the turn's message is written
/// first, the answer marked delivered, the finished turn's records cleared, then the state.
async fn give_answer(
    ctx: &Engine,
    run: &mut Run,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    let run_dir = ctx.run_dir(run.id);
    let next = run_dir.join(NEXT_TURN_FILE);
    if !next.exists() {
        let answered = loop {
            if *cancel.borrow() {
                return Err(StepStop::Cancelled);
            }
            // One read decides: an answer landing between two reads cannot be missed.
            match ctx.latest_question(run.id).await? {
                Some(q) if q.state == RequestState::Answered => break q,
                Some(q) if q.state == RequestState::Pending => {}
                Some(_) | None => {
                    return Err(StepStop::fail(
                        FailKind::Internal,
                        "the run waits for input, and no question of it is waiting",
                    ));
                }
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = cancel.changed() => {}
            }
        };
        let text = crate::questions::answer_for_agent(&answered);
        if let Some(permission) = &answered.ask.permission
            && answered
                .answer
                .as_ref()
                .is_some_and(|a| decision(a) == Decision::AllowOnce)
        {
            // The agent's retry of the call it was refused goes through, once.
            crate::mcp::permission_tools::allowed_later(
                run.id,
                &permission.tool,
                &permission.input,
            );
        }
        let message = match (answered.consult, &answered.ask.permission) {
            (_, Some(permission)) => format!(
                "A person decided on your request to use {} (request {}): {text}\n\nGo on with \
                 the task.",
                permission.tool, answered.id
            ),
            (Some(consult), None) => format!(
                "The agent you consulted with ask_agent (request {}, run {consult}) \
                 answered:\n{text}\n\nGo on with the task.",
                answered.id
            ),
            (None, None) if answered.answered_by.as_deref() == Some("orchestrator") => format!(
                "Your orchestrator answered the question you asked with ask_human (request \
                 {}):\n{text}\n\nGo on with the task.",
                answered.id
            ),
            (None, None) => format!(
                "A person answered the question you asked with ask_human (request {}):\n\
                 {text}\n\nGo on with the task.",
                answered.id
            ),
        };
        let tmp = next.with_extension("tmp");
        std::fs::write(&tmp, &message)
            .and_then(|()| std::fs::rename(&tmp, &next))
            .map_err(|e| {
                StepStop::fail(FailKind::Internal, format!("recording the answer: {e}"))
            })?;
        ctx.answer_delivered(answered.id).await?;
    }
    for record in ["agent.step", "agent.ended"] {
        match std::fs::remove_file(run_dir.join(record)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StepStop::fail(
                    FailKind::Internal,
                    format!("clearing the agent's finished turn: {e}"),
                ));
            }
        }
    }
    ctx.transition(run, Transition::Answer).await?;
    let from = match ctx.latest_question(run.id).await? {
        Some(q) => crate::questions::answered_where(q.answered_by.as_deref()),
        None => "",
    };
    ctx.note(
        run.id,
        format!("the answer came{from}; the agent's session resumes with it"),
    )
    .await?;
    Ok(())
}
