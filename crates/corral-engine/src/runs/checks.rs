//! The verifying state's step: the project's checks, in order, each a durable `verify` step of
//! its own with its result recorded (passed or failed, exit code, duration, the tail of its
//! output). Every check runs, so the agent hears of every failure at once. When some failed on
//! an agent run with attempts left, the agent's session resumes with the failures and the run
//! goes back to `running`; otherwise the run fails `verify_failed`.
//!
//! Restartable: a check's result is saved with the run before the next starts, and which check
//! the `verify` step's records belong to is kept in a host-only file, so a restart follows the
//! check in progress and skips those already done.

use corral_core::check::{self, CheckOutcome, CheckResult};
use corral_core::{FailKind, Project, Run, RunEventBody, StepName, Transition};
use corral_sandbox::Sandbox;
use corral_store::RunEventQuery;
use tokio::sync::watch;

use super::follow::StepStop;
use super::plan::{CheckStep, PlannedCheck, StepSpec, Work};
use super::step::step;
use super::work::NEXT_TURN_FILE;
use crate::engine::Engine;
use crate::error::EngineError;

/// In a run's host-only folder: `<attempt>:<index>:<started ms>` of the check the `verify`
/// step's records (`verify.step`, `verify.ended`) belong to.
const CURRENT_CHECK_FILE: &str = "verify.current";

/// How a round of checks ended.
pub(super) enum Checked {
    /// Every check passed.
    Passed,
    /// Some failed, and the agent goes again with them (the run is back in `running`).
    Retry,
}

/// Runs the checks of the run's current attempt not run yet; then passes, sends the agent back,
/// or fails the run.
pub(super) async fn verify(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &mut Run,
    project: &Project,
    plan: (&[PlannedCheck], &Work),
    cancel: &mut watch::Receiver<bool>,
) -> Result<Checked, StepStop> {
    let (checks, work) = plan;
    let results = run_checks(ctx, sandbox, run, project, checks, cancel).await?;
    if results.iter().all(CheckResult::passed) {
        return Ok(Checked::Passed);
    }
    let attempt = run.verify_attempt;
    let attempts = 1 + project.workflow.verify_retries;
    let failed = check::summary(&results);
    // A check that could not run (the agent reviewer) is nothing the agent can fix.
    let fixable = results.iter().any(CheckResult::fixable);
    match work {
        Work::Agent(_) if attempt < attempts && fixable => {
            retry(ctx, run, &results, attempts).await?;
            Ok(Checked::Retry)
        }
        Work::Agent(_) if !fixable => Err(StepStop::fail(
            FailKind::VerifyFailed,
            format!(
                "checks failed: {failed}; nothing the agent could fix, so it was not sent back"
            ),
        )),
        Work::Agent(_) => {
            let retries = if attempts == 1 {
                format!(
                    "verify-retries is 0, so the agent was not sent back (`corral project set {} \
                     verify-retries=2`)",
                    project.name
                )
            } else {
                format!("the agent had {attempts} attempts (verify-retries)")
            };
            Err(StepStop::fail(
                FailKind::VerifyFailed,
                format!("checks failed: {failed}; {retries}"),
            ))
        }
        Work::Command(_) => {
            ctx.note(
                run.id,
                "no retry: the task is a command, with no agent to tell what failed",
            )
            .await?;
            Err(StepStop::fail(
                FailKind::VerifyFailed,
                format!("checks failed: {failed}"),
            ))
        }
    }
}

/// Runs each check of the current attempt that has no result yet; returns the attempt's
/// results in order.
async fn run_checks(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &mut Run,
    project: &Project,
    checks: &[PlannedCheck],
    cancel: &mut watch::Receiver<bool>,
) -> Result<Vec<CheckResult>, StepStop> {
    let attempt = run.verify_attempt;
    // Results of earlier attempts are in the log; the run shows the current one's.
    run.checks.retain(|r| r.attempt == attempt);
    for (index, planned) in checks.iter().enumerate() {
        if run.checks.iter().any(|r| r.name == planned.check.name) {
            continue;
        }
        let started = start_records(ctx, sandbox, run, attempt, index, planned).await?;
        let (outcome, exit_code, tail) = match &planned.how {
            CheckStep::Command(spec) => {
                command_check(ctx, sandbox, run, project, spec, cancel).await?
            }
            CheckStep::Reviewer(reviewer) => {
                let limit =
                    std::time::Duration::from_secs(u64::from(project.workflow.verify_timeout_secs));
                let started = corral_core::Timestamp(started);
                let (outcome, tail) =
                    super::reviewer::review(ctx, run, reviewer, (started, limit), cancel).await?;
                (outcome, None, tail)
            }
        };
        let result = CheckResult {
            name: planned.check.name.clone(),
            command: planned.check.command.clone(),
            attempt,
            outcome,
            exit_code,
            duration_ms: u64::try_from(Engine::now().0.saturating_sub(started)).unwrap_or(0),
            tail,
        };
        run.checks.push(result.clone());
        ctx.save(run).await?;
        ctx.append(run.id, RunEventBody::CheckEnded { result })
            .await?;
    }
    Ok(run.checks.clone())
}

/// Runs a check's command as the `verify` step: how it ended, its exit code, its output's
/// tail (from the log).
async fn command_check(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &Run,
    project: &Project,
    spec: &StepSpec,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(CheckOutcome, Option<i64>, String), StepStop> {
    let ran = step(
        ctx, sandbox, run, project, spec.name, &spec.argv, &spec.env, cancel, None,
    )
    .await;
    let (outcome, exit_code) = match ran {
        Ok(0) => (CheckOutcome::Passed, Some(0)),
        Ok(code) => (CheckOutcome::Failed, Some(code)),
        // The only failure the verify step itself reports is running past its limit.
        Err(StepStop::Failed(reason)) if reason.kind == FailKind::VerifyFailed => {
            ctx.note(run.id, reason.message).await?;
            (CheckOutcome::TimedOut, None)
        }
        Err(other) => return Err(other),
    };
    ctx.events.flush().await.map_err(EngineError::from)?;
    let lines = RunEventQuery::output_tail(
        ctx.store.db(),
        run.id,
        StepName::Verify,
        check::TAIL_LINES as u64 + 1,
    )
    .await
    .map_err(EngineError::from)?;
    Ok((outcome, exit_code, check::tail(&lines)))
}

/// Makes the `verify` step's records this check's: those of the check before are cleared
/// (after ending what it left running), and the check's start is logged. Returns when it
/// started (ms), kept across a restart.
async fn start_records(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &Run,
    attempt: u32,
    index: usize,
    planned: &PlannedCheck,
) -> Result<i64, StepStop> {
    let dir = ctx.run_dir(run.id);
    let current = dir.join(CURRENT_CHECK_FILE);
    // By name and command: checks edited meanwhile are not taken for one another.
    let key = format!(
        "{attempt}:{index}:{}:{}\n",
        planned.check.name, planned.check.command
    );
    let recorded = std::fs::read_to_string(&current).unwrap_or_default();
    if let Some(started) = recorded.strip_prefix(&key) {
        return Ok(started.trim().parse().unwrap_or_else(|_| Engine::now().0));
    }
    let step_record = dir.join("verify.step");
    if step_record.exists() && !dir.join("verify.ended").exists() {
        // The process that ran the previous check died before ending what it left running.
        if let Some(container) = &run.container_id {
            sandbox.end_strays(container).await.map_err(|e| {
                StepStop::fail(
                    FailKind::Sandbox,
                    format!("stopping what the previous check left running failed: {e}"),
                )
            })?;
        }
    }
    for record in ["verify.step", "verify.ended"] {
        remove_record(&dir.join(record))?;
    }
    let started = Engine::now().0;
    write_atomic(&current, &format!("{key}{started}"))?;
    ctx.append(
        run.id,
        RunEventBody::CheckStarted {
            name: planned.check.name.clone(),
            command: planned.check.command.clone(),
            attempt,
        },
    )
    .await?;
    Ok(started)
}

/// Sends the agent back with the failures: its next turn's message written first, the
/// finished turn's records cleared, then the attempt and state moved on together, so a
/// restart at any point ends up here again or in the agent's next turn.
async fn retry(
    ctx: &Engine,
    run: &mut Run,
    results: &[CheckResult],
    attempts: u32,
) -> Result<(), StepStop> {
    let attempt = run.verify_attempt;
    let message = check::feedback(results, attempt, attempts);
    write_atomic(&ctx.run_dir(run.id).join(NEXT_TURN_FILE), &message)?;
    for record in ["agent.step", "agent.ended"] {
        remove_record(&ctx.run_dir(run.id).join(record))?;
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.name.clone())
        .collect();
    run.verify_attempt = attempt + 1;
    run.checks.clear();
    ctx.transition(run, Transition::RetryAgent).await?;
    // After the transition: a restart before it comes back here and says it once.
    ctx.append(
        run.id,
        RunEventBody::VerifyRetry {
            attempt: attempt + 1,
            of: attempts,
            failed: failed.clone(),
            message,
        },
    )
    .await?;
    ctx.note(
        run.id,
        format!(
            "attempt {} of {attempts}: the agent's session resumes with what failed ({})",
            attempt + 1,
            failed.join(", ")
        ),
    )
    .await?;
    Ok(())
}

pub(super) fn write_atomic(path: &std::path::Path, text: &str) -> Result<(), StepStop> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            StepStop::fail(
                FailKind::Internal,
                format!("recording {}: {e}", path.display()),
            )
        })
}

fn remove_record(path: &std::path::Path) -> Result<(), StepStop> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StepStop::fail(
            FailKind::Internal,
            format!("clearing {}: {e}", path.display()),
        )),
    }
}
