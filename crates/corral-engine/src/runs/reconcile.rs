//! Start-up reconciliation. Live runs whose container still exists are driven again from where
//! their files say they are (nothing they printed meanwhile is lost); live runs whose container
//! is gone become `interrupted`, logs kept; Corral containers of this data dir that belong to no
//! live run are removed. With Docker unreachable no Docker run is touched (fail closed); local
//! runs are checked by their process groups.

use corral_core::{RunState, SandboxKind, Transition};
use corral_sandbox::{LocalSandbox, Sandbox};
use corral_store::{ProjectQuery, RunQuery, TaskQuery};

use super::supervisor::spawn;
use crate::engine::Engine;
use crate::error::EngineResult;

/// How long a queued run belongs to the process that queued it, before another may take it.
const JUST_QUEUED_MS: i64 = 5_000;

pub(crate) async fn reconcile(ctx: Engine) -> EngineResult<()> {
    let db = ctx.store.db();
    let live = RunQuery::live(db).await?;
    let instance = ctx.config.data_dir.display().to_string();
    // `None`: Docker is unreachable, so Docker runs are left as they are.
    let docker = match ctx.sandbox().await {
        Ok(sandbox) => Some((sandbox, sandbox.list_labelled(&instance).await?)),
        Err(err) => {
            tracing::warn!(error = %err, "Docker unreachable: live Docker runs are left as they are");
            None
        }
    };
    let now = crate::clock::now();
    for listed in &live {
        // This process drives it already, or another one does.
        if ctx.runs.is_driven(listed.id, &ctx.run_dir(listed.id))? {
            continue;
        }
        // Read it again: it may have ended since the list was read (its driver lets go of its
        // lock only after recording how it ended), and an ended run is never touched.
        let Some(mut run) = RunQuery::by_id(db, listed.id).await? else {
            continue;
        };
        if run.state.is_terminal() {
            continue;
        }
        // Just queued: the process that queued it is taking its lock right now (a short-lived
        // command picking it up here would leave it without a driver when it exits).
        if run.state == RunState::Queued && now.millis_since(run.created_at) < JUST_QUEUED_MS {
            continue;
        }
        let (Some(task), Some(project)) = (
            TaskQuery::by_id(db, run.task_id).await?,
            ProjectQuery::by_id(db, run.project_id).await?,
        ) else {
            continue;
        };
        // A consult run runs the consulted agent on its own prompt; one whose asker ended
        // meanwhile has nobody to answer: its supervisor cancels it.
        let task = match &run.consult {
            Some(consult) => {
                let asker = RunQuery::by_id(db, consult.of).await?;
                if asker.is_none_or(|a| a.state.is_terminal()) {
                    let dir = ctx.run_dir(run.id);
                    std::fs::create_dir_all(&dir)
                        .and_then(|()| std::fs::write(dir.join(super::CANCEL_FILE), b""))
                        .map_err(crate::error::EngineError::io("recording a cancel request"))?;
                }
                consult.task(&task)
            }
            None => task,
        };
        let kind = run.sandbox_kind().unwrap_or(project.workflow.sandbox);
        let sandbox_alive = match (&run.container_id, kind, &docker) {
            (None, _, _) => None,
            (Some(handle), SandboxKind::Local, _) => Some(LocalSandbox.is_running(handle).await?),
            (Some(id), SandboxKind::Docker, Some((_, containers))) => Some(
                containers
                    .iter()
                    .any(|c| &c.id == id && c.state == "running"),
            ),
            (Some(_), SandboxKind::Docker, None) => continue,
        };
        match (&run.state, sandbox_alive) {
            (RunState::Queued, _) => spawn(ctx.clone(), run, task, project, None),
            (_, Some(true)) => {
                ctx.note(run.id, "Corral restarted; following the run again")
                    .await?;
                spawn(ctx.clone(), run, task, project, None);
            }
            (RunState::Preparing, None) => {
                ctx.note(run.id, "Corral restarted while preparing; preparing again")
                    .await?;
                spawn(ctx.clone(), run, task, project, None);
            }
            _ => {
                ctx.note(run.id, "the run's sandbox is gone").await?;
                ctx.transition(&mut run, Transition::Interrupt).await?;
            }
        }
    }
    ctx.settle_orphaned_consults().await?;
    ctx.settle_orphaned_routes().await?;
    if let Some((sandbox, containers)) = docker {
        for c in containers {
            if !live.iter().any(|r| r.id.to_string() == c.run_id) {
                tracing::info!(container = %c.id, run = %c.run_id, "removing a container of no live run");
                sandbox.remove(&c.id).await?;
            }
        }
    }
    Ok(())
}
