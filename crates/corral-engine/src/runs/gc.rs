//! Cleanup by policy, failing closed. Removes checkouts and run folders of finished runs past
//! the project's retention (keep the newest N and anything younger than D days), the run
//! branches of merged runs, this data dir's containers of no live run, and fails runs stuck in
//! `queued`/`preparing` that no Corral process drives. Live runs, runs another process drives,
//! and folders it cannot tie to a finished run are never touched.

use std::path::Path;
use std::time::Duration;

use corral_core::{RepoSource, RunId, RunState, Transition};
use corral_store::{ProjectQuery, RunQuery};

use super::RunContext;
use super::supervisor::lock_run;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

/// Runs older than this in `queued` or `preparing`, with nobody driving them, are failed.
pub const STUCK_AFTER: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub dry_run: bool,
    /// Runs whose checkout and run folder were (or would be) removed.
    pub checkouts_removed: Vec<RunId>,
    pub branches_removed: Vec<String>,
    pub containers_removed: Vec<String>,
    pub stuck_runs_failed: Vec<RunId>,
    pub bytes_reclaimed: u64,
}

/// Bytes under `path`, not following symlinks.
fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| size_of(&e.path())).sum())
        .unwrap_or(0)
}

pub(crate) async fn gc(
    ctx: &RunContext,
    dry_run: bool,
    stuck_after: Duration,
) -> EngineResult<GcReport> {
    let db = ctx.store.db();
    let now = Engine::now();
    let mut report = GcReport {
        dry_run,
        ..Default::default()
    };

    for mut run in RunQuery::live(db).await? {
        let since = run.started_at.unwrap_or(run.created_at);
        let stuck = matches!(run.state, RunState::Queued | RunState::Preparing)
            && now.millis_since(since) > stuck_after.as_millis() as i64;
        let driven_here = ctx
            .registry
            .cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&run.id);
        if !stuck || driven_here {
            continue;
        }
        match lock_run(ctx, &run)? {
            Some(lock) => drop(lock),
            None => continue, // another process drives it
        }
        report.stuck_runs_failed.push(run.id);
        if !dry_run {
            let minutes = stuck_after.as_secs() / 60;
            let reason = format!(
                "stuck in {} for more than {minutes} minutes",
                run.state.name()
            );
            ctx.transition(&mut run, Transition::Fail { reason })
                .await?;
        }
    }

    // Past retention: finished runs beyond each project's newest N and older than D days.
    let all_runs = RunQuery::list(db, None).await?;
    let mut expired = Vec::new();
    for project in ProjectQuery::all(db).await? {
        let retention = project.workflow.retention;
        let mut finished: Vec<_> = all_runs
            .iter()
            .filter(|r| r.project_id == project.id && r.state.is_terminal())
            .collect();
        finished.sort_by_key(|r| std::cmp::Reverse(r.id)); // newest first
        let keep_ms = i64::from(retention.keep_days) * 24 * 60 * 60 * 1000;
        for (i, run) in finished.into_iter().enumerate() {
            let young = run
                .finished_at
                .is_some_and(|t| now.millis_since(t) < keep_ms);
            if i >= retention.keep_runs as usize && !young {
                expired.push((run.clone(), project.clone()));
            }
        }
    }
    // A follow-up shares the checkout (and branch) of the run it follows: both stay while any
    // run using them is live or kept.
    let expired_ids: std::collections::HashSet<RunId> = expired.iter().map(|(r, _)| r.id).collect();
    let needed: std::collections::HashSet<&str> = all_runs
        .iter()
        .filter(|r| !expired_ids.contains(&r.id))
        .filter_map(|r| r.checkout_path.as_deref())
        .collect();
    for (run, project) in &expired {
        if run
            .checkout_path
            .as_deref()
            .is_some_and(|p| needed.contains(p))
        {
            continue;
        }
        let checkout = run
            .checkout_path
            .as_ref()
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| ctx.checkout_dir(run.id));
        let run_dir = ctx.run_dir(run.id);
        if checkout.exists() || run_dir.exists() {
            report.bytes_reclaimed += size_of(&checkout) + size_of(&run_dir);
            report.checkouts_removed.push(run.id);
            if !dry_run {
                let (c, r) = (checkout.clone(), run_dir.clone());
                tokio::task::spawn_blocking(move || {
                    let _ = std::fs::remove_dir_all(&c);
                    let _ = std::fs::remove_dir_all(&r);
                })
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            }
        }
        if let (Some(branch), Some(_), RepoSource::Local { path }) =
            (&run.branch, &run.merged_commit, &project.source)
        {
            let removed = dry_run || {
                let (p, b) = (path.clone(), branch.clone());
                tokio::task::spawn_blocking(move || {
                    corral_git::delete_branch(&p, &b).unwrap_or(false)
                })
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?
            };
            if removed {
                report.branches_removed.push(branch.clone());
            }
        }
    }

    if let Ok(sandbox) = ctx.sandbox().await {
        let live: Vec<String> = RunQuery::live(db)
            .await?
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        let instance = ctx.config.data_dir.display().to_string();
        for c in sandbox.list_labelled(&instance).await? {
            if c.state != "running" && !live.contains(&c.run_id) {
                if !dry_run {
                    sandbox.remove(&c.id).await?;
                }
                report.containers_removed.push(c.id);
            }
        }
    }
    tracing::info!(?report, "gc");
    Ok(report)
}
