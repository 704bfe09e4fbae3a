//! One durable step of a run: started afresh (leftovers of earlier steps stopped, its files
//! made new, its id recorded where the sandbox cannot write) or picked up after a restart, then
//! followed to its end; what it left running is stopped and the checkout's `.git` put back.

use corral_core::{FailKind, OutputStream, Project, Run, RunEventBody, StepName};
use corral_sandbox::{Sandbox, StepFiles};
use corral_store::RunEventQuery;
use tokio::sync::watch;

use super::follow::{StepStop, follow};
use super::result::guard_git_dir;
use crate::engine::Engine;
use crate::error::EngineError;

/// Runs (or, after a restart, keeps following) one durable step; returns its exit code.
#[allow(clippy::too_many_arguments)] // each is one thing the step needs; a struct would only rename
pub(super) async fn step(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &Run,
    project: &Project,
    name: StepName,
    argv: &[String],
    extra_env: &[(String, String)],
    cancel: &mut watch::Receiver<bool>,
    agent: Option<&mut super::agent::AgentOutput>,
) -> Result<i64, StepStop> {
    let container = run
        .container_id
        .clone()
        .ok_or_else(|| StepStop::fail(FailKind::Internal, "no container"))?;
    let files = StepFiles::new(&ctx.sandbox_dir(run.id), name.as_str());
    // The step's id (to ask the sandbox for its status) lives where the sandbox cannot write.
    let id_file = ctx.run_dir(run.id).join(format!("{}.step", name.as_str()));
    let step_id = match std::fs::read_to_string(&id_file) {
        Ok(id) if !id.trim().is_empty() => id,
        Ok(_) => {
            return Err(StepStop::fail(
                FailKind::Internal,
                format!(
                    "the {} step's record {} is empty",
                    name.as_str(),
                    id_file.display()
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let step = NewStep {
                name,
                argv,
                extra_env,
                files: &files,
                id_file: &id_file,
            };
            start_step(ctx, sandbox, run, &container, step).await?
        }
        Err(e) => {
            return Err(StepStop::fail(
                FailKind::Internal,
                format!("the {} step's id: {e}", name.as_str()),
            ));
        }
    };
    // Offsets count from the step's latest start, whose event must be stored to be seen.
    ctx.events.flush().await.map_err(EngineError::from)?;
    let db = ctx.store.db();
    let offsets = (
        RunEventQuery::last_offset(db, run.id, name, OutputStream::Stdout)
            .await
            .map_err(EngineError::from)?,
        RunEventQuery::last_offset(db, run.id, name, OutputStream::Stderr)
            .await
            .map_err(EngineError::from)?,
    );
    let checkout = run.checkout_path.as_deref().map(std::path::Path::new);
    // Only the task's own step (its command or agent) may be stopped for silence; only the
    // verify step for running too long.
    let secs = |s: u32| std::time::Duration::from_secs(u64::from(s));
    let limits = super::follow::StepLimits {
        silence: (name == StepName::Agent).then(|| secs(project.workflow.inactivity_timeout_secs)),
        total: (name == StepName::Verify).then(|| secs(project.workflow.verify_timeout_secs)),
    };
    let result = follow(
        ctx, sandbox, &container, run.id, name, &files, &step_id, checkout, offsets, cancel, agent,
        limits,
    )
    .await;
    if let Err(StepStop::Cancelled) = &result {
        // Stop the step's processes now; the logs so far are kept.
        let _ = sandbox
            .stop(&container, std::time::Duration::from_secs(2))
            .await;
    }
    // Nothing the step started outlives it: no later step's output or status can be forged.
    let ended = sandbox.end_strays(&container).await;
    match &ended {
        Ok(()) => {
            // So the next step (in this process or the next) knows it need not do it again.
            let marker = ctx.run_dir(run.id).join(format!("{}.ended", name.as_str()));
            if let Err(e) = std::fs::write(&marker, b"") {
                tracing::warn!(error = %e, "recording the end of the step's processes failed");
            }
        }
        Err(e) => tracing::warn!(error = %e, "stopping the step's leftover processes failed"),
    }
    guard_git_dir(ctx, run).await?;
    let code = result?;
    ended.map_err(|e| {
        StepStop::fail(
            FailKind::Sandbox,
            format!(
                "stopping what the {} step left running failed: {e}",
                name.as_str()
            ),
        )
    })?;
    ctx.append(
        run.id,
        RunEventBody::StepExited {
            step: name,
            exit_code: code,
        },
    )
    .await?;
    Ok(code)
}

/// A step about to start: what it runs, and where its files and its id go.
struct NewStep<'a> {
    name: StepName,
    argv: &'a [String],
    extra_env: &'a [(String, String)],
    files: &'a StepFiles,
    id_file: &'a std::path::Path,
}

/// Starts a step afresh: leftovers of earlier steps stopped, its files made new (whatever was
/// planted under their names removed), then its id recorded on the host.
async fn start_step(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &Run,
    container: &str,
    step: NewStep<'_>,
) -> Result<String, StepStop> {
    let NewStep {
        name,
        argv,
        extra_env,
        files,
        id_file,
    } = step;
    // Normally done as the previous step ended; not when the process that ran it died first.
    if earlier_step_not_ended(&ctx.run_dir(run.id)) {
        sandbox.end_strays(container).await.map_err(|e| {
            StepStop::fail(
                FailKind::Sandbox,
                format!("stopping what earlier steps left running failed: {e}"),
            )
        })?;
    }
    let fresh = files.clone();
    tokio::task::spawn_blocking(move || fresh.make_fresh())
        .await
        .map_err(EngineError::from)?
        .map_err(|e| start_failed(&files.stdout, name, format!("preparing its files: {e}")))?;
    ctx.append(
        run.id,
        RunEventBody::StepStarted {
            step: name,
            argv: argv.to_vec(),
        },
    )
    .await?;
    // The project's variables and the step's own (an agent's home, its key or placeholder),
    // as the plan put them: values never logged.
    let env: Vec<String> = extra_env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // Marks a start in progress: if this process dies before the id is recorded, the next
    // one stops whatever this start left running before starting the step again.
    let starting = id_file.with_extension("starting");
    std::fs::write(&starting, b"").map_err(|e| {
        StepStop::fail(
            FailKind::Internal,
            format!("recording the {} step: {e}", name.as_str()),
        )
    })?;
    let step_id = sandbox
        .start_step(container, name.as_str(), argv, &env)
        .await
        .map_err(|e| match &run.checkout_path {
            Some(checkout) if !std::path::Path::new(checkout).is_dir() => StepStop::fail(
                FailKind::RunFilesRemoved,
                format!(
                    "the checkout {checkout} was deleted before the {} step started",
                    name.as_str()
                ),
            ),
            _ => {
                let stop = StepStop::sandbox(&e, FailKind::Sandbox);
                match stop {
                    StepStop::Failed(mut reason) => {
                        reason.message = format!("the {} step did not start: {e}", name.as_str());
                        StepStop::Failed(reason)
                    }
                    other => other,
                }
            }
        })?;
    // Written whole or not at all: a half-written id would leave the step unfollowable.
    let tmp = id_file.with_extension("step.tmp");
    std::fs::write(&tmp, &step_id)
        .and_then(|()| std::fs::rename(&tmp, id_file))
        .and_then(|()| std::fs::remove_file(&starting))
        .map_err(|e| start_failed(id_file, name, format!("recording it: {e}")))?;
    Ok(step_id)
}

/// Why a step could not start, writing `file`: its folder was removed (by hand, while the run
/// went on), or `what` went wrong.
fn start_failed(file: &std::path::Path, name: StepName, what: String) -> StepStop {
    match file.parent() {
        Some(dir) if !dir.is_dir() => StepStop::fail(
            FailKind::RunFilesRemoved,
            format!(
                "the run folder {} was removed before the {} step started",
                dir.display(),
                name.as_str()
            ),
        ),
        _ => StepStop::fail(
            FailKind::Internal,
            format!("the {} step did not start: {what}", name.as_str()),
        ),
    }
}

/// Whether a step of this run started (its `<step>.step` id is in the host-only run folder)
/// and nobody recorded stopping what it left running (`<step>.ended`), or a start was cut
/// short (`<step>.starting`).
fn earlier_step_not_ended(run_dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        let ext = path.extension();
        ext.is_some_and(|e| e == "starting")
            || (ext.is_some_and(|e| e == "step") && !path.with_extension("ended").exists())
    })
}
