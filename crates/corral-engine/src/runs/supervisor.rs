//! The supervisor of one run: a loop over its states, each arm a small step of its own.
//!
//! ```text
//! queued -> preparing (checkout, image, container; the setup step) -> running (the work) ->
//! verifying (the result committed, then the project's checks; failures send the agent back to
//! running) -> succeeded, or failed with a typed reason, cancelled, interrupted
//! ```
//!
//! It holds the run folder's lock while it drives, so two Corral processes never drive the same
//! run, and one of the project's run slots. It can start from any live state: after a restart
//! it picks up where the files say the run is. New states (waiting for input, a retry after a
//! failed check, waiting for upstream tasks) are new arms of `advance`.

use corral_core::{
    FailKind, FailReason, Project, Run, RunId, RunState, SandboxKind, Task, Transition,
};
use corral_sandbox::{LocalSandbox, Sandbox};
use tokio::sync::watch;
use tracing::Instrument;

use super::follow::StepStop;
use super::network::RunNetwork;
use super::plan::{RunPlan, StepSpec};
use super::prepare::prepare;
use super::registry::lock_run;
use super::result::finish;
use super::step::step;
use super::work::work;
use crate::engine::Engine;
use crate::error::EngineResult;

/// Starts driving `run` in this process. `plan` when the caller resolved it already (a run
/// started here); otherwise the supervisor resolves it (a run picked up after a restart).
pub(crate) fn spawn(ctx: Engine, run: Run, task: Task, project: Project, plan: Option<RunPlan>) {
    let span =
        tracing::info_span!("run", run = %run.id, task = %run.task_id, project = %run.project_id);
    // Registered before the task starts, so a cancel right after the start reaches it.
    let cancel = ctx.runs.register(run.id);
    tokio::spawn(watch_cancel_requests(ctx.clone(), run.id));
    tokio::spawn(
        async move {
            if let Err(err) = drive(&ctx, run.clone(), &task, &project, plan, cancel).await {
                tracing::error!(error = %err, "run supervisor failed");
            }
            ctx.runs.unregister(run.id);
        }
        .instrument(span),
    );
}

/// While this process drives the run, a cancel asked for by another process (a file in the
/// run's folder) reaches its supervisor within a quarter of a second.
async fn watch_cancel_requests(ctx: Engine, run: RunId) {
    let request = ctx.run_dir(run).join(super::CANCEL_FILE);
    loop {
        if !ctx.runs.drives(run) {
            return;
        }
        if request.exists() {
            ctx.runs.cancel(run);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

async fn drive(
    ctx: &Engine,
    mut run: Run,
    task: &Task,
    project: &Project,
    plan: Option<RunPlan>,
    mut cancel: watch::Receiver<bool>,
) -> EngineResult<()> {
    let Some(_lock) = lock_run(&ctx.run_dir(run.id))? else {
        tracing::info!("another Corral process drives this run");
        return Ok(());
    };
    // A run picked up past `queued` is running already: it takes a slot whatever the limit,
    // rather than wait behind runs that have not started. So does a consult run: its asker
    // holds a slot and waits on it.
    let within_limit = run.state == RunState::Queued && run.consult.is_none();
    let outcome = match ctx
        .take_slot(project.id, run.id, &mut cancel, within_limit)
        .await
    {
        Ok(None) => Err(StepStop::Cancelled),
        Err(err) => Err(StepStop::fail(err.fail_kind(), err.to_string())),
        Ok(Some(_slot)) => with_slot(ctx, &mut run, task, project, plan, &mut cancel).await,
    };
    conclude(ctx, run, outcome).await
}

/// What the run does while it holds a slot: its plan (resolved now when the caller had none),
/// then its states, in the sandbox the plan names.
async fn with_slot(
    ctx: &Engine,
    run: &mut Run,
    task: &Task,
    project: &Project,
    plan: Option<RunPlan>,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    let plan = match plan {
        Some(plan) => plan,
        None => ctx
            .plan(run, task, project, false)
            .await
            .map_err(|err| StepStop::fail(err.fail_kind(), err.to_string()))?,
    };
    match plan.sandbox {
        SandboxKind::Local => {
            run_states(ctx, &LocalSandbox, run, task, project, &plan, cancel).await
        }
        SandboxKind::Docker => match ctx.sandbox().await {
            Ok(docker) => run_states(ctx, docker, run, task, project, &plan, cancel).await,
            Err(err) => Err(StepStop::fail(
                err.fail_kind(),
                format!(
                    "{err}; start Docker, or set the project's sandbox to local (not isolated)"
                ),
            )),
        },
    }
}

/// Records how the run ended and removes its sandbox, whatever ended it.
async fn conclude(ctx: &Engine, mut run: Run, outcome: Result<(), StepStop>) -> EngineResult<()> {
    // A question may have changed the state beside this supervisor.
    ctx.refresh_state(&mut run).await?;
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
    // A cancel asked for and carried out (or come too late) is not asked again.
    let _ = std::fs::remove_file(ctx.run_dir(run.id).join(super::CANCEL_FILE));
    ctx.events.flush().await?;
    Ok(())
}

/// Everything the arms of the loop share.
struct Turn<'a, S> {
    ctx: &'a Engine,
    sandbox: &'a S,
    task: &'a Task,
    project: &'a Project,
    plan: &'a RunPlan,
    /// The run's gateway, with `network=allowlist` in a container.
    network: Option<&'a RunNetwork>,
}

/// What an arm of the loop leads to.
enum Next {
    /// The run moved on to another live state: go round again.
    Continue,
    /// The steps are over and passed: commit the result.
    Done,
    /// The checks passed on the result committed before them.
    Checked,
    /// The run had ended already: nothing to do.
    Over,
}

async fn run_states(
    ctx: &Engine,
    sandbox: &(impl Sandbox + Clone + 'static),
    run: &mut Run,
    task: &Task,
    project: &Project,
    plan: &RunPlan,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    if run.state == RunState::Queued {
        ctx.transition(run, Transition::Prepare).await?;
    }
    if run.state == RunState::Preparing {
        prepare(ctx, sandbox, run, task, project).await?;
    }
    // The gateway and its link, up before any step starts (and again after a restart); it
    // is revoked when the steps are over.
    let network = match &plan.network {
        Some(network) if run.state.is_live() => {
            Some(RunNetwork::start(ctx, sandbox, run, project, network).await?)
        }
        _ => None,
    };
    // Watches the checkout until the run's steps are over; its last changes are recorded
    // before the result is committed.
    let watch = match &run.checkout_path {
        Some(path) => super::file_watch::start(ctx, run, std::path::Path::new(path)).await,
        None => None,
    };
    let turn = Turn {
        ctx,
        sandbox,
        task,
        project,
        plan,
        network: network.as_ref(),
    };
    // Whether the run ended its steps, and whether its result is still to be committed.
    let result: Result<Option<bool>, StepStop> = async {
        loop {
            match advance(&turn, run, cancel).await? {
                Next::Continue => {}
                Next::Done => return Ok(Some(true)),
                Next::Checked => return Ok(Some(false)),
                Next::Over => return Ok(None),
            }
        }
    }
    .await;
    if let Some(watch) = watch {
        watch.finish().await;
    }
    if let Some(network) = network {
        network.finish().await;
    }
    let Some(to_commit) = result? else {
        return Ok(());
    };
    // A consult run's answer is its final text: it has no result of its own to record.
    if to_commit && run.consult.is_none() {
        finish(ctx, run, task, project).await?;
    }
    ctx.transition(run, Transition::Succeed).await?;
    Ok(())
}

/// One arm per live state.
async fn advance<S: Sandbox>(
    turn: &Turn<'_, S>,
    run: &mut Run,
    cancel: &mut watch::Receiver<bool>,
) -> Result<Next, StepStop> {
    let ctx = turn.ctx;
    match run.state {
        RunState::Preparing => {
            if let Some(setup) = &turn.plan.setup {
                let code = run_step(turn, run, setup, cancel).await?;
                if code != 0 {
                    return Err(StepStop::fail(
                        FailKind::SetupFailed,
                        format!("the setup command exited with {code}"),
                    ));
                }
            }
            ctx.transition(run, Transition::Start).await?;
            Ok(Next::Continue)
        }
        RunState::Running => {
            let worked = work(
                ctx,
                turn.sandbox,
                run,
                turn.project,
                &turn.plan.work,
                cancel,
            )
            .await;
            // An agent's question may have put the run in waiting_input meanwhile.
            ctx.refresh_state(run).await?;
            // Past its budget the gateway refused the agent's model calls: that, not how the
            // agent took it, is why the run ends (unless it was cancelled).
            let cancelled = matches!(worked, Err(StepStop::Cancelled));
            if let Some((budget, used)) = turn.network.and_then(RunNetwork::budget_refused)
                && !cancelled
            {
                return Err(StepStop::fail(
                    FailKind::TokenBudget,
                    format!(
                        "the run used its token budget ({used} of {budget} tokens, \
                         budget-tokens); Corral's gateway refused its further model calls"
                    ),
                ));
            }
            worked?;
            if run.state == RunState::WaitingInput {
                // The agent ended its turn while its question waits: the answer resumes it.
                return Ok(Next::Continue);
            }
            if ctx.latest_question(run.id).await?.is_some_and(|q| {
                q.state == corral_core::RequestState::Answered
                    && q.delivered_at.is_none()
                    // The orchestration's budget question is Corral's, not the agent's.
                    && !super::orchestration_budget::is_budget_question(ctx, run.id, q.id)
            }) {
                // Answered, but the call that was to carry it was cut: the next turn does.
                ctx.transition(run, Transition::AskInput).await?;
                return Ok(Next::Continue);
            }
            // An orchestrator waits for its subtasks, and is woken with their results.
            let committed =
                match super::orchestration::after_turn(ctx, run, turn.task, turn.project, cancel)
                    .await?
                {
                    super::orchestration::AfterTurn::NextTurn => return Ok(Next::Continue),
                    super::orchestration::AfterTurn::Integrated => true,
                    super::orchestration::AfterTurn::Done => false,
                };
            if turn.plan.checks.is_empty() {
                return Ok(if committed { Next::Checked } else { Next::Done });
            }
            // The checks verify the committed result, and it stays the result whatever they
            // do to the checkout; a run whose checks fail keeps it too (merged only if forced).
            if !committed {
                finish(ctx, run, turn.task, turn.project).await?;
            }
            ctx.transition(run, Transition::Verify).await?;
            Ok(Next::Continue)
        }
        RunState::Verifying => {
            let plan = (turn.plan.checks.as_slice(), &turn.plan.work);
            match super::checks::verify(ctx, turn.sandbox, run, turn.project, plan, cancel).await? {
                super::checks::Checked::Passed => Ok(Next::Checked),
                super::checks::Checked::Retry => Ok(Next::Continue),
            }
        }
        RunState::WaitingInput => {
            super::ask::await_answer(
                turn.ctx,
                turn.sandbox,
                run,
                turn.project,
                &turn.plan.work,
                cancel,
            )
            .await?;
            Ok(Next::Continue)
        }
        RunState::Queued => Err(StepStop::fail(
            FailKind::Internal,
            "the run went back to queued while it was driven",
        )),
        RunState::Succeeded
        | RunState::Failed { .. }
        | RunState::Cancelled
        | RunState::Interrupted => Ok(Next::Over),
    }
}

/// A step without an agent reading its output (setup, verify).
async fn run_step<S: Sandbox>(
    turn: &Turn<'_, S>,
    run: &Run,
    spec: &StepSpec,
    cancel: &mut watch::Receiver<bool>,
) -> Result<i64, StepStop> {
    step(
        turn.ctx,
        turn.sandbox,
        run,
        turn.project,
        spec.name,
        &spec.argv,
        &spec.env,
        cancel,
        None,
    )
    .await
}
