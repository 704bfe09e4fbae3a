//! Merging a succeeded run's result into the project branch.

use corral_core::{RepoSource, Run, RunId, RunState};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

impl Engine {
    /// Merges a succeeded run's branch into the project branch, when that is safe (see
    /// `corral_git::merge_run`); the task then shows as done.
    #[tracing::instrument(skip(self), fields(run = %run_id))]
    pub async fn merge_run(&self, run_id: RunId) -> EngineResult<Run> {
        let mut run = self.run(run_id).await?;
        if run.merged_commit.is_some() {
            return Ok(run);
        }
        if run.state != RunState::Succeeded {
            return Err(EngineError::NotMergeable {
                reason: format!(
                    "only a succeeded run can be merged; this one is {}",
                    run.state
                ),
            });
        }
        let project = self.project(run.project_id).await?;
        let repo = match project.source.clone() {
            RepoSource::Local { path } => path,
            RepoSource::Remote { url } => {
                let branch = run.branch.clone().unwrap_or_default();
                let mirror = self.mirror_dir(project.id);
                return Err(EngineError::NotMergeable {
                    reason: format!(
                        "the project was added by URL and Corral never pushes to {url}; the \
                         branch is in Corral's mirror: `git fetch {} {branch}` in your clone, \
                         then merge and push it yourself",
                        mirror.display()
                    ),
                });
            }
        };
        let target = project
            .default_branch
            .clone()
            .ok_or_else(|| EngineError::NotMergeable {
                reason: "the project has no default branch".into(),
            })?;
        let (Some(checkout), Some(branch)) = (run.checkout_path.clone(), run.branch.clone()) else {
            return Err(EngineError::NotMergeable {
                reason: "the run has no checkout".into(),
            });
        };
        let run_branch = branch.clone();
        let task = self.task_record(run.task_id).await?;
        let style = match project.workflow.merge_style {
            corral_core::MergeStyle::Merge => corral_git::MergeStyle::Merge,
            corral_core::MergeStyle::Squash => corral_git::MergeStyle::Squash,
            corral_core::MergeStyle::FfOnly => corral_git::MergeStyle::FfOnly,
        };
        let message = match style {
            corral_git::MergeStyle::Squash => format!("{}\n\nCorral run {}", task.title, run.id),
            _ => format!("Merge `{}` (Corral run {})", task.title, run.id),
        };
        let (data_dir, project_id) = (self.config.data_dir.clone(), run.project_id);
        let outcome = tokio::task::spawn_blocking(move || {
            let _turn = super::repo_lock::lock_repo(
                &data_dir,
                project_id,
                super::repo_lock::Access::Write,
            )?;
            match corral_git::merge_run(
                &repo,
                std::path::Path::new(&checkout),
                &branch,
                &target,
                ("Corral", "corral@localhost"),
                (style, &message),
            ) {
                // The branch the user has checked out: merged there, with their own git,
                // which refuses (changing nothing) when their uncommitted changes are in
                // the way.
                Err(corral_git::GitError::TargetCheckedOut { .. }) => {
                    corral_git::merge_checked_out(&repo, &branch, &target, (style, &message))
                }
                other => other,
            }
        })
        .await
        .map_err(EngineError::from)?
        .map_err(|e| match EngineError::from(e) {
            EngineError::MergeConflict { branch, paths, .. } => EngineError::MergeConflict {
                branch,
                paths,
                run_branch: run_branch.clone(),
            },
            other => other,
        })?;
        run.merged_commit = Some(outcome.commit().to_string());

        let how = match &outcome {
            corral_git::MergeOutcome::FastForward { .. } => "fast-forward",
            corral_git::MergeOutcome::Merged { .. } => "merge commit",
            corral_git::MergeOutcome::Squashed { .. } => "squashed into one commit",
            corral_git::MergeOutcome::AlreadyMerged { .. } => "already there",
        };
        self.note(
            run.id,
            format!(
                "merged into the project branch as {} ({how})",
                outcome.commit().get(..12).unwrap_or(outcome.commit())
            ),
        )
        .await?;
        self.save(&run).await?;
        Ok(run)
    }
}
