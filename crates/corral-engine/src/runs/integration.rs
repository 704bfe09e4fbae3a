//! An orchestrator's one result: once it called `finish` and its subtasks have ended, the
//! latest succeeded result of each subtask (not cancelled by it) is merged into its own run
//! branch, in dependency order, on top of whatever it committed itself. That branch is the
//! run's result: the project's checks verify it and the user merges it like any run. Work that
//! does not merge is not forced: the orchestrator hears which subtask and which paths.

use std::collections::HashMap;

use corral_core::{
    Approval, FailKind, Project, Run, RunEventBody, RunState, Task, TaskId, TaskSummary,
};
use corral_git::{GitError, UpstreamResult};
use corral_store::RunQuery;

use super::follow::StepStop;
use super::prepare::source_path;
use super::repo_lock::{Access, lock_repo};
use super::result::{AUTHOR, checkout_and_branch, finish};
use crate::engine::Engine;
use crate::error::EngineError;

/// How an integration went.
pub(super) enum Integration {
    /// Every subtask's work is on the run branch (the run's result now).
    Clean,
    /// A subtask's work conflicts with the work merged before it; nothing was merged.
    Conflict {
        /// What the orchestrator is told.
        message: String,
        /// Which results were being merged: the same conflict twice is not told twice.
        key: String,
    },
}

/// One subtask's result to merge.
struct SubtaskResult {
    task: TaskId,
    run: Run,
    result: UpstreamResult,
}

/// The subtasks' latest succeeded results, in dependency order. A subtask its orchestrator
/// cancelled (rejected) is left out; so is one with no succeeded run (its orchestrator was told
/// how it ended).
async fn subtask_results(ctx: &Engine, task: &Task) -> Result<Vec<SubtaskResult>, StepStop> {
    let subtasks: HashMap<TaskId, TaskSummary> = ctx
        .subtasks(task.id)
        .await?
        .into_iter()
        .filter(|s| s.task.approval != Approval::Rejected)
        .map(|s| (s.task.id, s.task))
        .collect();
    let graph = ctx.project_graph(task.project_id).await?;
    let mut found = Vec::new();
    for id in graph.topological_order() {
        let Some(sub) = subtasks.get(&id) else {
            continue;
        };
        let latest = RunQuery::for_task(ctx.store.db(), id)
            .await
            .map_err(EngineError::from)?
            .into_iter()
            .rev()
            .find(|r| r.state == RunState::Succeeded && r.result_commit.is_some());
        if let Some(run) = latest {
            found.push(SubtaskResult {
                task: id,
                result: UpstreamResult {
                    label: sub.title.clone(),
                    commit: run.result_commit.clone().unwrap_or_default(),
                    branch: run.branch.clone(),
                },
                run,
            });
        }
    }
    Ok(found)
}

/// Merges the subtasks' work into `run`'s branch (after committing the orchestrator's own).
pub(super) async fn integrate(
    ctx: &Engine,
    run: &mut Run,
    task: &Task,
    project: &Project,
) -> Result<Integration, StepStop> {
    finish(ctx, run, task, project).await?;
    let results = subtask_results(ctx, task).await?;
    if results.is_empty() {
        ctx.note(
            run.id,
            "no subtask succeeded: there is no work to integrate",
        )
        .await?;
        return Ok(Integration::Clean);
    }
    let (checkout, branch) = checkout_and_branch(run)?;
    let upstream: Vec<UpstreamResult> = results.iter().map(|r| r.result.clone()).collect();
    let source = source_path(ctx, project);
    let (data_dir, project_id) = (ctx.config.data_dir.clone(), project.id);
    let merged = tokio::task::spawn_blocking(move || {
        let path = std::path::Path::new(&checkout);
        {
            // The subtasks' branches were published to the project's repository after this
            // checkout was made: their commits come from there. A branch gone from there is
            // reported by the merge (its commit missing), with how to restore it.
            let _read = lock_repo(&data_dir, project_id, Access::Read)?;
            for b in upstream.iter().filter_map(|u| u.branch.as_deref()) {
                if let Err(e) = corral_git::publish_branch(path, &source, b) {
                    tracing::warn!(branch = b, error = %e, "a subtask's branch could not be fetched");
                }
            }
        }
        corral_git::merge_upstream(path, &branch, &upstream, AUTHOR)
    })
    .await
    .map_err(EngineError::from)?;
    let key = results
        .iter()
        .map(|r| r.result.commit.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let merged = match merged {
        Ok(merged) => merged,
        Err(GitError::UpstreamConflict { task: label, paths }) => {
            let message = conflict_message(&results, &label, &paths);
            ctx.note(
                run.id,
                format!(
                    "integrating the subtasks' work: `{label}` conflicts in {}; nothing was \
                     merged",
                    paths.join(", ")
                ),
            )
            .await?;
            return Ok(Integration::Conflict { message, key });
        }
        Err(GitError::UpstreamMissing { task, commit, .. }) => {
            return Err(StepStop::fail(
                FailKind::UpstreamMissing,
                format!(
                    "the result of subtask `{task}` ({commit}) is not in the repository any \
                     more; run `{task}` again, then follow the orchestrator up"
                ),
            ));
        }
        Err(other) => return Err(StepStop::from(EngineError::from(other))),
    };
    for (r, was_merged) in results.iter().zip(&merged.merged) {
        ctx.append(
            run.id,
            RunEventBody::UpstreamMerged {
                task_id: r.task,
                run_id: r.run.id,
                commit: r.result.commit.clone(),
                merged: *was_merged,
                project_commit: None,
            },
        )
        .await?;
    }
    let names: Vec<String> = results
        .iter()
        .map(|r| format!("`{}`", r.result.label))
        .collect();
    ctx.note(
        run.id,
        format!(
            "integrated the work of {} on {} ({})",
            names.join(", "),
            run.branch.as_deref().unwrap_or("the run branch"),
            &merged.head[..merged.head.len().min(12)]
        ),
    )
    .await?;
    // The merged branch is the run's result (published, and what the checks verify).
    finish(ctx, run, task, project).await?;
    Ok(Integration::Clean)
}

/// What the orchestrator is told when `label`'s work conflicts with the work before it.
fn conflict_message(results: &[SubtaskResult], label: &str, paths: &[String]) -> String {
    let before: Vec<String> = results
        .iter()
        .take_while(|r| r.result.label != label)
        .map(|r| format!("`{}`", r.result.label))
        .collect();
    let id = results
        .iter()
        .find(|r| r.result.label == label)
        .map(|r| r.task.to_string())
        .unwrap_or_default();
    format!(
        "Your subtasks' work does not merge into one branch: the work of `{label}` ({id}) \
         conflicts with the work merged before it ({}) in these paths:\n{}\n\nNothing was \
         integrated. Resolve it, then end your turn: Corral integrates again once your \
         subtasks have ended. Either create a subtask that redoes the work of `{label}` after \
         the others (it starts from their work) and cancel_subtask `{label}` (a cancelled \
         subtask's work is left out), or retry_subtask `{label}` with what to change so it \
         fits the others' work, or cancel_subtask `{label}` if the goal does not need it.",
        before.join(", "),
        paths
            .iter()
            .map(|p| format!("- {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}
