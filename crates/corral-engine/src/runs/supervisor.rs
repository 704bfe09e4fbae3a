//! The supervisor of one run: queued -> preparing (checkout, image, container, setup) ->
//! running (the task's command) -> verifying -> succeeded, or failed with a reason, cancelled,
//! interrupted. It holds the run folder's lock while it drives, so two Corral processes never
//! drive the same run. It can start from any live state: after a restart it picks up where the
//! files say the run is.

use corral_core::{
    FailKind, FailReason, Project, Run, RunState, SandboxKind, StepName, Task, Transition,
};
use corral_sandbox::{LocalSandbox, Sandbox};
use tokio::sync::watch;
use tracing::Instrument;

use super::follow::StepStop;
use super::prepare::prepare;
use super::registry::lock_run;
use super::result::finish;
use super::step::step;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

pub(crate) fn spawn(ctx: Engine, run: Run, task: Task, project: Project) {
    let span =
        tracing::info_span!("run", run = %run.id, task = %run.task_id, project = %run.project_id);
    tokio::spawn(
        async move {
            let cancel = ctx.runs.register(run.id);
            if let Err(err) = drive(&ctx, run.clone(), &task, &project, cancel).await {
                tracing::error!(error = %err, "run supervisor failed");
            }
            ctx.runs.unregister(run.id);
        }
        .instrument(span),
    );
}

async fn drive(
    ctx: &Engine,
    mut run: Run,
    task: &Task,
    project: &Project,
    mut cancel: watch::Receiver<bool>,
) -> EngineResult<()> {
    let Some(_lock) = lock_run(&ctx.run_dir(run.id))? else {
        tracing::info!("another Corral process drives this run");
        return Ok(());
    };
    let _slot = match ctx.take_slot(project.id, run.id, &mut cancel).await {
        Ok(Some(slot)) => slot,
        Ok(None) => {
            ctx.transition(&mut run, Transition::Cancel).await?;
            return Ok(());
        }
        Err(err) => {
            let reason = FailReason::new(err.fail_kind(), err.to_string());
            ctx.transition(&mut run, Transition::Fail { reason })
                .await?;
            return Ok(());
        }
    };
    // A run keeps the sandbox it started in, whatever the project says now.
    let kind = run.sandbox_kind().unwrap_or(project.workflow.sandbox);
    let outcome = match kind {
        SandboxKind::Local => steps(ctx, &LocalSandbox, &mut run, task, project, &mut cancel).await,
        SandboxKind::Docker => match ctx.sandbox().await {
            Ok(docker) => steps(ctx, docker, &mut run, task, project, &mut cancel).await,
            Err(err) => Err(StepStop::fail(
                err.fail_kind(),
                format!(
                    "{err}; start Docker, or set the project's sandbox to local (not isolated)"
                ),
            )),
        },
    };
    match outcome {
        Ok(()) => {}
        Err(StepStop::Cancelled) => {
            ctx.note(run.id, "cancelled").await?;
            ctx.transition(&mut run, Transition::Cancel).await?;
        }
        Err(StepStop::Failed(reason)) => {
            ctx.transition(&mut run, Transition::Fail { reason })
                .await?;
        }
        Err(StepStop::Engine(err)) => {
            let reason = FailReason::new(err.fail_kind(), err.to_string());
            ctx.transition(&mut run, Transition::Fail { reason })
                .await?;
        }
    }
    if let Some(handle) = &run.container_id
        && let Err(e) = ctx.remove_sandbox(handle).await
    {
        tracing::warn!(error = %e, "could not remove the run's sandbox");
    }
    ctx.events.flush().await?;
    Ok(())
}

async fn steps(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &mut Run,
    task: &Task,
    project: &Project,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    if run.state == RunState::Queued {
        ctx.transition(run, Transition::Prepare).await?;
    }
    if run.state == RunState::Preparing {
        prepare(ctx, sandbox, run, task, project).await?;
    }
    // Watches the checkout until the run's steps are over; its last changes are recorded
    // before the result is committed.
    let watch = match &run.checkout_path {
        Some(path) => super::file_watch::start(ctx, run, std::path::Path::new(path)).await,
        None => None,
    };
    let result = run_steps(ctx, sandbox, run, task, project, cancel).await;
    if let Some(watch) = watch {
        watch.finish().await;
    }
    result?;
    finish(ctx, run, task, project).await?;
    ctx.transition(run, Transition::Succeed).await?;
    Ok(())
}

/// The setup command (once), the task's command, the verify command: from wherever the run is.
async fn run_steps(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &mut Run,
    task: &Task,
    project: &Project,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    if run.state == RunState::Preparing {
        if let Some(setup) = &project.workflow.setup_command {
            let argv = vec!["sh".to_string(), "-c".to_string(), setup.clone()];
            let code = step(
                ctx,
                sandbox,
                run,
                project,
                StepName::Setup,
                &argv,
                &[],
                cancel,
                None,
            )
            .await?;
            if code != 0 {
                return Err(StepStop::fail(
                    FailKind::SetupFailed,
                    format!("the setup command exited with {code}"),
                ));
            }
        }
        ctx.transition(run, Transition::Start).await?;
    }
    let container = run
        .container_id
        .clone()
        .ok_or_else(|| StepStop::fail(FailKind::Internal, "no container"))?;
    if run.state == RunState::Running {
        let adapter = super::agent::adapter(task, project)?;
        let (code, agent, program) = match adapter {
            None => {
                let argv = task.command.clone().unwrap_or_default();
                let code = step(
                    ctx,
                    sandbox,
                    run,
                    project,
                    StepName::Agent,
                    &argv,
                    &[],
                    cancel,
                    None,
                )
                .await?;
                (code, None, argv.first().cloned().unwrap_or_default())
            }
            Some(adapter) => {
                let home_on_host = ctx.sandbox_dir(run.id).join("home");
                let home = if sandbox.is_isolated() {
                    format!("{}/home", corral_sandbox::RUN_DIR_IN_CONTAINER)
                } else {
                    home_on_host.display().to_string()
                };
                let request = super::agent::request(
                    run,
                    task,
                    project,
                    adapter.as_ref(),
                    &home,
                    sandbox.is_isolated(),
                );
                super::agent::write_files(adapter.as_ref(), &request, &home_on_host)?;
                let mut env = super::agent::home_env(&home);
                env.extend(adapter.env(&request));
                let key = super::agent::api_key(adapter.as_ref()).await?;
                if let Some(why) = &key.keychain_error {
                    ctx.note(
                        run.id,
                        format!(
                            "no OS keychain ({why}); {} was read from Corral's environment",
                            key.name
                        ),
                    )
                    .await?;
                }
                env.push((key.name, key.value));
                let argv = adapter.command(&request);
                let mut output = super::agent::AgentOutput::new(
                    adapter.as_ref(),
                    (!sandbox.is_isolated())
                        .then(|| run.checkout_path.clone())
                        .flatten(),
                );
                let code = step(
                    ctx,
                    sandbox,
                    run,
                    project,
                    StepName::Agent,
                    &argv,
                    &env,
                    cancel,
                    Some(&mut output),
                )
                .await?;
                (code, Some(output), adapter.program().to_string())
            }
        };
        run.exit_code = Some(code);
        if let Some(agent) = &agent {
            run.agent_session_id = agent.session_id.clone().or(run.agent_session_id.take());
            run.input_tokens = i64::try_from(agent.input_tokens).unwrap_or(i64::MAX);
            run.output_tokens = i64::try_from(agent.output_tokens).unwrap_or(i64::MAX);
        }
        ctx.save(run).await?;
        if let Some(agent) = &agent
            && code == 0
            && agent.finished_ok == Some(false)
        {
            return Err(StepStop::fail(
                FailKind::AgentExit,
                format!(
                    "the agent reported an error: {}",
                    agent.last_error.as_deref().unwrap_or("no message")
                ),
            ));
        }
        if let Some(agent) = &agent
            && code != 0
        {
            if code == 127 {
                return Err(StepStop::fail(
                    FailKind::AgentNotFound,
                    format!(
                        "the agent's program `{program}` was not found in the run's sandbox (exit \
                     127); use an image that has it (agent-image) or put it on PATH"
                    ),
                ));
            }
            return Err(StepStop::fail(
                FailKind::AgentExit,
                match &agent.last_error {
                    Some(message) => format!("the agent exited with {code}: {message}"),
                    None => format!("the agent exited with {code}"),
                },
            ));
        }
        if code != 0 {
            if sandbox
                .oom_killed(&container)
                .await
                .map_err(EngineError::from)?
            {
                return Err(StepStop::fail(FailKind::OutOfMemory, "out of memory"));
            }
            return Err(StepStop::fail(
                FailKind::CommandExit,
                format!("the task's command exited with {code}"),
            ));
        }
        if project.workflow.verify_command.is_some() {
            ctx.transition(run, Transition::Verify).await?;
        }
    }
    if run.state == RunState::Verifying
        && let Some(verify) = &project.workflow.verify_command
    {
        let argv = vec!["sh".to_string(), "-c".to_string(), verify.clone()];
        let code = step(
            ctx,
            sandbox,
            run,
            project,
            StepName::Verify,
            &argv,
            &[],
            cancel,
            None,
        )
        .await?;
        if code != 0 {
            return Err(StepStop::fail(
                FailKind::VerifyFailed,
                format!("the verify command exited with {code}"),
            ));
        }
    }
    Ok(())
}
