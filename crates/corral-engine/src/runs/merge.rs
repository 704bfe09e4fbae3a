//! Merging a succeeded run's result into the project branch.

use corral_core::{RepoSource, Run, RunId, RunState};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

/// What a merge of a run would do, said before it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePreview {
    /// The project branch it goes into.
    pub into: String,
    pub how: MergeHow,
    /// The branch is checked out in the user's repository: the merge happens in that working
    /// tree, with their git.
    pub in_working_tree: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeHow {
    FastForward,
    MergeCommit,
    Squash,
    /// The branch holds the result already.
    AlreadyMerged,
    /// It cannot be merged; why.
    Refused(String),
}

impl MergePreview {
    /// One line for people: "fast-forward `main` (in your working tree)".
    pub fn describe(&self) -> String {
        let into = &self.into;
        let what = match &self.how {
            MergeHow::FastForward => format!("fast-forward `{into}`"),
            MergeHow::MergeCommit => format!("a merge commit on `{into}`"),
            MergeHow::Squash => format!("one squashed commit on `{into}`"),
            MergeHow::AlreadyMerged => return format!("`{into}` holds this result already"),
            MergeHow::Refused(why) => return format!("cannot merge: {why}"),
        };
        if self.in_working_tree {
            format!("{what}, in your working tree with your git")
        } else {
            what
        }
    }
}

impl Engine {
    /// What merging `run_id` would do now, as the window and `corral merge --dry-run` say it.
    pub async fn merge_preview(&self, run_id: RunId) -> EngineResult<MergePreview> {
        self.preview(run_id, false).await
    }

    /// What `force_merge_run` would do now (`corral merge --dry-run --force`).
    pub async fn force_merge_preview(&self, run_id: RunId) -> EngineResult<MergePreview> {
        self.preview(run_id, true).await
    }

    async fn preview(&self, run_id: RunId, forced: bool) -> EngineResult<MergePreview> {
        let run = self.run(run_id).await?;
        let project = self.project(run.project_id).await?;
        let into = project.default_branch.clone().unwrap_or_default();
        let refused = |why: String| MergePreview {
            into: into.clone(),
            how: MergeHow::Refused(why),
            in_working_tree: false,
        };
        if run.merged_commit.is_some() {
            return Ok(MergePreview {
                into: into.clone(),
                how: MergeHow::AlreadyMerged,
                in_working_tree: false,
            });
        }
        if let Err(why) = self.merge_gate(&run, forced).await? {
            return Ok(refused(why));
        }
        if let Some(why) = self.branch_moved(&run).await? {
            return Ok(refused(why));
        }
        let RepoSource::Local { path } = project.source.clone() else {
            return Ok(refused(
                "the project was added by URL; merge the branch in your clone".into(),
            ));
        };
        let Some(result) = run.result_commit.clone() else {
            return Ok(refused("the run has no result".into()));
        };
        let (repo, target) = (path, into.clone());
        let shape =
            tokio::task::spawn_blocking(move || corral_git::merge_shape(&repo, &result, &target))
                .await
                .map_err(EngineError::from)?;
        let shape = match shape {
            Ok(shape) => shape,
            Err(err) => return Ok(refused(err.to_string())),
        };
        let how = if shape.already {
            MergeHow::AlreadyMerged
        } else {
            match (project.workflow.merge_style, shape.fast_forward) {
                (corral_core::MergeStyle::Squash, _) => MergeHow::Squash,
                (_, true) => MergeHow::FastForward,
                (corral_core::MergeStyle::Merge, false) => MergeHow::MergeCommit,
                (corral_core::MergeStyle::FfOnly, false) => MergeHow::Refused(format!(
                    "`{into}` has moved on since the run started (merge-style=ff-only)"
                )),
            }
        };
        Ok(MergePreview {
            into,
            how,
            in_working_tree: shape.checked_out,
        })
    }

    /// Whether `run` may be merged now: `Err(why)` when not. A run whose checks failed has
    /// its result committed, and merges only when `forced`; nothing merges while the run, or a
    /// follow-up on its branch, is still working or being checked.
    async fn merge_gate(&self, run: &Run, forced: bool) -> EngineResult<Result<(), String>> {
        if run.state.is_live() {
            let what = match run.state {
                RunState::Verifying => format!(
                    "its checks are running (attempt {}); merge once they pass",
                    run.verify_attempt
                ),
                _ => format!(
                    "the run is {}; merge once it has succeeded",
                    run.state.name()
                ),
            };
            return Ok(Err(what));
        }
        let runs = self.list_runs(Some(run.task_id)).await?;
        if let Some(live) = runs
            .iter()
            .find(|r| r.id != run.id && r.state.is_live() && r.branch == run.branch)
        {
            return Ok(Err(format!(
                "run {} is working on the same branch ({}); merge once it ends",
                live.id,
                live.state.name()
            )));
        }
        match &run.state {
            RunState::Succeeded => Ok(Ok(())),
            RunState::Failed { reason }
                if reason.kind == corral_core::FailKind::VerifyFailed
                    && run.result_commit.is_some() =>
            {
                if forced {
                    Ok(Ok(()))
                } else {
                    Ok(Err(format!(
                        "its checks failed ({}); review it, then merge anyway with `corral merge \
                         {} --force`",
                        reason.message, run.id
                    )))
                }
            }
            state => Ok(Err(format!(
                "only a succeeded run can be merged; this one is {state}"
            ))),
        }
    }

    /// Why the run's branch no longer holds its result at its tip (a follow-up committed on
    /// it since), when it does not: merging the branch would merge that later work.
    async fn branch_moved(&self, run: &Run) -> EngineResult<Option<String>> {
        let (Some(checkout), Some(branch), Some(result)) = (
            run.checkout_path.clone(),
            run.branch.clone(),
            run.result_commit.clone(),
        ) else {
            return Ok(None);
        };
        if !std::path::Path::new(&checkout).is_dir() {
            return Ok(None);
        }
        let name = branch.clone();
        let tip = tokio::task::spawn_blocking(move || {
            corral_git::branch_tip(std::path::Path::new(&checkout), &name)
        })
        .await
        .map_err(EngineError::from)??;
        if tip == result {
            return Ok(None);
        }
        let later = self
            .list_runs(Some(run.task_id))
            .await?
            .into_iter()
            .find(|r| r.id != run.id && r.result_commit.as_deref() == Some(tip.as_str()));
        Ok(Some(match later {
            Some(later) => format!(
                "run {} (a follow-up) has committed on `{branch}` since this run's result; merge \
                 that run instead",
                later.id
            ),
            None => format!(
                "`{branch}` has moved on since this run's result ({}); merge the latest run of \
                 the task",
                &result[..12.min(result.len())]
            ),
        }))
    }

    /// Merges a succeeded run's branch into the project branch, when that is safe (see
    /// `corral_git::merge_run`); the task then shows as done.
    pub async fn merge_run(&self, run_id: RunId) -> EngineResult<Run> {
        self.merge(run_id, false).await
    }

    /// Merges a run whose checks failed (its result was committed before them), as a person
    /// decided after review; otherwise as `merge_run`.
    pub async fn force_merge_run(&self, run_id: RunId) -> EngineResult<Run> {
        self.merge(run_id, true).await
    }

    #[tracing::instrument(skip(self), fields(run = %run_id))]
    async fn merge(&self, run_id: RunId, forced: bool) -> EngineResult<Run> {
        let mut run = self.run(run_id).await?;
        if run.merged_commit.is_some() {
            return Ok(run);
        }
        if let Err(reason) = self.merge_gate(&run, forced).await? {
            return Err(EngineError::NotMergeable { reason });
        }
        if let Some(reason) = self.branch_moved(&run).await? {
            return Err(EngineError::NotMergeable { reason });
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
            // With the branch checked out, it moves in the user's tree with their git, which
            // refuses (changing nothing) when their uncommitted changes are in the way.
            corral_git::merge_run(
                &repo,
                std::path::Path::new(&checkout),
                &branch,
                &target,
                ("Corral", "corral@localhost"),
                (style, &message),
            )
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
        let anyway = if run.state == RunState::Succeeded {
            ""
        } else {
            "; forced, its checks had failed"
        };
        self.note(
            run.id,
            format!(
                "merged into the project branch as {} ({how}){anyway}",
                outcome.commit().get(..12).unwrap_or(outcome.commit())
            ),
        )
        .await?;
        self.save(&run).await?;
        Ok(run)
    }
}
