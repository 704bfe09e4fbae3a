//! Cleanup by policy, failing closed. Removes checkouts and run folders of finished runs past
//! the project's retention (keep the newest N and anything younger than D days), the run
//! branches of merged runs, this data dir's containers of no live run, and fails runs stuck in
//! `queued`/`preparing` that no Corral process drives. Live runs, runs another process drives,
//! and folders it cannot tie to a finished run are never touched.

use std::path::Path;
use std::time::Duration;

use corral_core::{RepoSource, RunId, RunState, Transition};
use corral_store::{ProjectQuery, RunQuery};

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
    /// Images this data dir built that nothing here uses any more (agent images of old
    /// settings or versions, older Dockerfile builds, builds of removed projects).
    pub images_removed: Vec<String>,
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
    ctx: &Engine,
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
            && now.millis_since(since) > i64::try_from(stuck_after.as_millis()).unwrap_or(i64::MAX);
        if !stuck || ctx.runs.is_driven(run.id, &ctx.run_dir(run.id))? {
            continue;
        }
        report.stuck_runs_failed.push(run.id);
        if !dry_run {
            let minutes = stuck_after.as_secs() / 60;
            let reason = corral_core::FailReason::new(
                corral_core::FailKind::Stuck,
                format!(
                    "stuck in {} for more than {minutes} minutes",
                    run.state.name()
                ),
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
                    let _ = std::fs::remove_file(super::result::git_config_copy(&c));
                    let _ = crate::fs_work::remove_tree_blocking(&c);
                    let _ = crate::fs_work::remove_tree_blocking(&r);
                })
                .await
                .map_err(EngineError::from)?;
            }
        }
        if let (Some(branch), Some(_), RepoSource::Local { path }) =
            (&run.branch, &run.merged_commit, &project.source)
        {
            let removed = dry_run || {
                let (p, b) = (path.clone(), branch.clone());
                let (data_dir, project_id) = (ctx.config.data_dir.clone(), project.id);
                tokio::task::spawn_blocking(move || {
                    let Ok(_turn) = super::repo_lock::lock_repo(
                        &data_dir,
                        project_id,
                        super::repo_lock::Access::Write,
                    ) else {
                        return false;
                    };
                    corral_git::delete_branch(&p, &b).unwrap_or(false)
                })
                .await
                .map_err(EngineError::from)?
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
    if let Ok(sandbox) = ctx.sandbox().await {
        let projects = ProjectQuery::all(db).await?;
        let instance = ctx.config.data_dir.display().to_string();
        let images = sandbox.corral_images().await?;
        for tag in images_to_prune(&images, &instance, &projects) {
            let removed = dry_run || sandbox.remove_image_tag(&tag).await?;
            if removed {
                report.images_removed.push(tag);
            }
        }
    }
    tracing::info!(?report, "gc");
    Ok(report)
}

/// The agent images `project`'s settings build now, one per runtime.
fn current_agent_images(project: &corral_core::Project) -> Vec<String> {
    let base = match &project.workflow.image {
        corral_core::ImageChoice::Default => corral_agents::DEFAULT_BASE_IMAGE,
        corral_core::ImageChoice::Base { image } => image.as_str(),
        _ => return Vec::new(),
    };
    corral_core::Runtime::ALL
        .into_iter()
        .filter(|r| *r != corral_core::Runtime::Acp)
        .filter_map(corral_agents::adapter_for)
        .map(|a| corral_agents::agent_image(base, a.runtime(), &a.package()).tag)
        .collect()
}

/// Which of the images this data dir (`instance`) built to remove: agent images no project's
/// settings build any more, and of each project's Dockerfile builds all but the newest (all of
/// them once the project is gone). Images of other data dirs are never touched: agent images
/// are shared by tag across them.
fn images_to_prune(
    images: &[corral_sandbox::CorralImage],
    instance: &str,
    projects: &[corral_core::Project],
) -> Vec<String> {
    let ours = images
        .iter()
        .filter(|i| i.instance.as_deref() == Some(instance));
    let wanted: std::collections::HashSet<String> =
        projects.iter().flat_map(current_agent_images).collect();
    let mut newest: std::collections::HashMap<&str, &corral_sandbox::CorralImage> =
        std::collections::HashMap::new();
    let mut prune = Vec::new();
    for image in ours {
        if image.tag.starts_with(corral_sandbox::AGENT_IMAGE_PREFIX) {
            if !wanted.contains(&image.tag) {
                prune.push(image.tag.clone());
            }
            continue;
        }
        let Some(rest) = image.tag.strip_prefix(corral_sandbox::BUILD_IMAGE_PREFIX) else {
            continue;
        };
        let project = rest.split(':').next().unwrap_or_default();
        if !projects.iter().any(|p| p.id.to_string() == project) {
            prune.push(image.tag.clone());
            continue;
        }
        match newest.get(project) {
            Some(kept) if kept.created > image.created => prune.push(image.tag.clone()),
            // Built in the same second (Docker's resolution): which is newer is unknown, so
            // both stay until a later build settles it.
            Some(kept) if kept.created == image.created => {}
            Some(kept) => {
                prune.push(kept.tag.clone());
                newest.insert(project, image);
            }
            None => {
                newest.insert(project, image);
            }
        }
    }
    prune
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::{ImageChoice, Project, ProjectId, RepoSource, Timestamp, Workflow};
    use corral_sandbox::CorralImage;

    fn project(image: ImageChoice) -> Project {
        Project {
            id: ProjectId::new(),
            name: "p".into(),
            source: RepoSource::Local {
                path: "/repo".into(),
            },
            default_branch: None,
            workflow: Workflow {
                image,
                ..Workflow::default()
            },
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn image(tag: &str, created: i64, instance: &str) -> CorralImage {
        CorralImage {
            tag: tag.into(),
            created,
            instance: Some(instance.into()),
        }
    }

    #[test]
    fn only_our_images_that_nothing_uses_are_pruned() {
        let p = project(ImageChoice::Base {
            image: "me/base:1".into(),
        });
        let current = current_agent_images(&p);
        assert!(
            current
                .iter()
                .any(|t| t.starts_with("corral-agent/claude-code:"))
        );
        let old_build = format!("corral-build/{}:aaa", p.id);
        let new_build = format!("corral-build/{}:bbb", p.id);
        let gone_build = format!("corral-build/{}:ccc", ProjectId::new());
        let images = vec![
            image(&current[0], 1, "/data"),
            image("corral-agent/claude-code:0000000000000000", 1, "/data"),
            image("corral-agent/codex:1111111111111111", 1, "/other"),
            image(&old_build, 10, "/data"),
            image(&new_build, 20, "/data"),
            image(&gone_build, 5, "/data"),
            CorralImage {
                tag: "corral-agent/gemini:2222222222222222".into(),
                created: 1,
                instance: None,
            },
        ];
        let mut pruned = images_to_prune(&images, "/data", &[p]);
        pruned.sort();
        let mut expected = vec![
            "corral-agent/claude-code:0000000000000000".to_string(),
            old_build,
            gone_build,
        ];
        expected.sort();
        assert_eq!(pruned, expected);
    }
}
