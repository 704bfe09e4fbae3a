//! Start-up reconciliation. Live runs whose container still exists are driven again from where
//! their files say they are (nothing they printed meanwhile is lost); live runs whose container
//! is gone become `interrupted`, logs kept; Corral containers of this data dir that belong to no
//! live run are removed. With Docker unreachable nothing is touched (fail closed).

use corral_core::{RunState, Transition};
use corral_store::{ProjectQuery, RunQuery, TaskQuery};

use super::RunContext;
use super::supervisor::{lock_run, spawn};
use crate::error::EngineResult;

pub(crate) async fn reconcile(ctx: RunContext) -> EngineResult<()> {
    let db = ctx.store.db();
    let live = RunQuery::live(db).await?;
    let sandbox = match ctx.sandbox().await {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(error = %err, "Docker unreachable: live runs are left as they are");
            return Ok(());
        }
    };
    let instance = ctx.config.data_dir.display().to_string();
    let containers = sandbox.list_labelled(&instance).await?;
    for mut run in live.clone() {
        let driven_here = ctx
            .registry
            .cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&run.id);
        if driven_here {
            continue;
        }
        // Someone else holds the lock: another Corral process drives it.
        match lock_run(&ctx, &run)? {
            Some(lock) => drop(lock),
            None => continue,
        }
        let (Some(task), Some(project)) = (
            TaskQuery::by_id(db, run.task_id).await?,
            ProjectQuery::by_id(db, run.project_id).await?,
        ) else {
            continue;
        };
        let container = run
            .container_id
            .as_ref()
            .and_then(|id| containers.iter().find(|c| &c.id == id));
        match (&run.state, container) {
            (RunState::Queued, _) => spawn(ctx.clone(), run, task, project),
            (_, Some(c)) if c.state == "running" => {
                ctx.note(run.id, "Corral restarted; following the run again")
                    .await?;
                spawn(ctx.clone(), run, task, project);
            }
            (RunState::Preparing, None) if run.container_id.is_none() => {
                ctx.note(run.id, "Corral restarted while preparing; preparing again")
                    .await?;
                spawn(ctx.clone(), run, task, project);
            }
            _ => {
                ctx.note(run.id, "the run's container is gone").await?;
                ctx.transition(&mut run, Transition::Interrupt).await?;
            }
        }
    }
    for c in containers {
        if !live.iter().any(|r| r.id.to_string() == c.run_id) {
            tracing::info!(container = %c.id, run = %c.run_id, "removing a container of no live run");
            sandbox.remove(&c.id).await?;
        }
    }
    Ok(())
}
