//! The running state's step: the task's command line, or its coding agent (its files written,
//! its output parsed into the log, its session and usage kept), and what its exit means.

use corral_core::{FailKind, Project, Run};
use corral_sandbox::Sandbox;
use tokio::sync::watch;

use super::agent::{AgentOutput, write_files};
use super::follow::StepStop;
use super::plan::Work;
use super::step::step;
use crate::engine::Engine;
use crate::error::EngineError;

/// The agent's session id as its run's log recorded it.
async fn recorded_session(ctx: &Engine, run: corral_core::RunId) -> Option<String> {
    let events = corral_store::RunEventQuery::of_kind(ctx.store.db(), run, "agent")
        .await
        .ok()?;
    events.into_iter().rev().find_map(|e| match e.body {
        corral_core::RunEventBody::Agent {
            event: corral_core::AgentEvent::SessionStarted { session_id },
        } => Some(session_id),
        _ => None,
    })
}

/// In a run's host-only folder: the message of the agent's next turn (a person's answer that
/// came after its turn ended), kept until that turn has run.
pub(super) const NEXT_TURN_FILE: &str = "agent.next-turn";

pub(super) async fn work(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &mut Run,
    project: &Project,
    work: &Work,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    let (code, agent) = match work {
        Work::Command(spec) => {
            let code = step(
                ctx, sandbox, run, project, spec.name, &spec.argv, &spec.env, cancel, None,
            )
            .await?;
            (code, None)
        }
        Work::Agent(call) => {
            let started = ctx.run_dir(run.id).join("agent.step").exists();
            if let Some(missing) = &call.missing_key
                && !started
            {
                return Err(StepStop::fail(FailKind::MissingKey, missing.to_string()));
            }
            // An answer to the agent's question that came after its turn ended: the next turn
            // resumes its session with it.
            let next_turn = std::fs::read_to_string(ctx.run_dir(run.id).join(NEXT_TURN_FILE)).ok();
            let mut request = call.request.clone();
            let mut argv = call.step.argv.clone();
            if let Some(message) = &next_turn {
                // The session as recorded (a turn cut by a restart may not have saved it yet).
                if run.agent_session_id.is_none() {
                    run.agent_session_id = recorded_session(ctx, run.id).await;
                }
                request.prompt = match &run.agent_session_id {
                    Some(_) => message.clone(),
                    // No session to resume: the task comes again, with the answer.
                    None => format!("{}\n\n{message}", call.request.prompt),
                };
                request.resume = run.agent_session_id.clone();
                argv = call.adapter.command(&request);
            }
            write_files(call.adapter.as_ref(), &request, &call.home_on_host)?;
            if let Some(note) = &call.key_note {
                ctx.note(run.id, note.clone()).await?;
            }
            // Where the agent sees the checkout when that is not `/workspace` (the local
            // sandbox): its edits are named relative to it.
            let seen_as = (!sandbox.is_isolated())
                .then(|| run.checkout_path.clone())
                .flatten();
            let mut output = AgentOutput::new(call.adapter.as_ref(), seen_as);
            let spec = &call.step;
            let code = step(
                ctx,
                sandbox,
                run,
                project,
                spec.name,
                &argv,
                &spec.env,
                cancel,
                Some(&mut output),
            )
            .await?;
            if next_turn.is_some() {
                // This turn's usage adds to the earlier turns'.
                output.input_tokens += u64::try_from(run.input_tokens).unwrap_or(0);
                output.output_tokens += u64::try_from(run.output_tokens).unwrap_or(0);
            }
            (code, Some((output, call.program(), next_turn.is_some())))
        }
    };
    run.exit_code = Some(code);
    if let Some((agent, _, _)) = &agent {
        run.agent_session_id = agent.session_id.clone().or(run.agent_session_id.take());
        run.input_tokens = i64::try_from(agent.input_tokens).unwrap_or(i64::MAX);
        run.output_tokens = i64::try_from(agent.output_tokens).unwrap_or(i64::MAX);
    }
    ctx.save(run).await?;
    // Only once the turn's session and usage are saved: a restart before replays the turn as
    // a resumed one, with the earlier turns' usage.
    if let Some((_, _, true)) = &agent {
        let _ = std::fs::remove_file(ctx.run_dir(run.id).join(NEXT_TURN_FILE));
    }
    let agent = agent.map(|(output, program, _)| (output, program));
    match agent {
        Some((agent, _)) if code == 0 && agent.finished_ok == Some(false) => Err(StepStop::fail(
            FailKind::AgentExit,
            format!(
                "the agent reported an error: {}",
                agent.last_error.as_deref().unwrap_or("no message")
            ),
        )),
        Some((_, program)) if code == 127 => Err(StepStop::fail(
            FailKind::AgentNotFound,
            format!(
                "the agent's program `{program}` was not found in the run's sandbox (exit 127); \
                 use an image that has it (agent-image) or put it on PATH"
            ),
        )),
        Some((agent, _)) if code != 0 => Err(StepStop::fail(
            FailKind::AgentExit,
            match &agent.last_error {
                Some(message) => format!("the agent exited with {code}: {message}"),
                None => format!("the agent exited with {code}"),
            },
        )),
        None if code != 0 => {
            let container = run
                .container_id
                .clone()
                .ok_or_else(|| StepStop::fail(FailKind::Internal, "no container"))?;
            if sandbox
                .oom_killed(&container)
                .await
                .map_err(EngineError::from)?
            {
                return Err(StepStop::fail(FailKind::OutOfMemory, "out of memory"));
            }
            Err(StepStop::fail(
                FailKind::CommandExit,
                format!("the task's command exited with {code}"),
            ))
        }
        _ => Ok(()),
    }
}
