//! A dependant starts from its upstream tasks' work: its new checkout is the project branch
//! with the result of every task it runs after (directly or through others) merged in, in
//! dependency order. The run records each upstream result it was given, and its base is the
//! merged commit, so its diff is its own work only.

use std::path::Path;

use corral_core::{FailKind, Run, RunEventBody, RunId, RunState, Task, TaskId};
use corral_git::{GitError, UpstreamResult};
use corral_store::{RunQuery, TaskQuery};

use super::follow::StepStop;
use super::result::AUTHOR;
use crate::engine::Engine;
use crate::error::EngineError;

/// An upstream task's latest succeeded result.
struct Upstream {
    task: TaskId,
    run: RunId,
    result: UpstreamResult,
}

/// The results of the tasks `task` runs after, in merge order. A task with no succeeded run
/// yet brings nothing (noted in the run's log).
async fn upstream_results(ctx: &Engine, run: &Run, task: &Task) -> Result<Vec<Upstream>, StepStop> {
    let db = ctx.store.db();
    let graph = ctx.project_graph(task.project_id).await?;
    let mut found = Vec::new();
    for upstream in graph.upstream_of(task.id) {
        let Some(upstream_task) = TaskQuery::by_id(db, upstream)
            .await
            .map_err(EngineError::from)?
        else {
            continue;
        };
        let latest = RunQuery::for_task(db, upstream)
            .await
            .map_err(EngineError::from)?
            .into_iter()
            .rev()
            .find(|r| r.state == RunState::Succeeded && r.result_commit.is_some());
        match latest {
            Some(done) => found.push(Upstream {
                task: upstream,
                run: done.id,
                result: UpstreamResult {
                    label: upstream_task.title,
                    commit: done.result_commit.unwrap_or_default(),
                    branch: done.branch,
                },
            }),
            None => {
                ctx.note(
                    run.id,
                    format!(
                        "`{}` (which this task runs after) has no successful run: its work is \
                         not in this checkout",
                        upstream_task.title
                    ),
                )
                .await?;
            }
        }
    }
    Ok(found)
}

/// Merges the upstream results into the new checkout of `run` (on `branch`, at `checkout`)
/// and records them. Returns the checkout's commit now: the run's base.
pub(super) async fn bring_in_upstream(
    ctx: &Engine,
    run: &Run,
    task: &Task,
    checkout: &Path,
    branch: &str,
) -> Result<Option<String>, StepStop> {
    let upstream = upstream_results(ctx, run, task).await?;
    if upstream.is_empty() {
        return Ok(None);
    }
    let results: Vec<UpstreamResult> = upstream.iter().map(|u| u.result.clone()).collect();
    let (path, br) = (checkout.to_path_buf(), branch.to_string());
    let merged = tokio::task::spawn_blocking(move || {
        corral_git::merge_upstream(&path, &br, &results, AUTHOR)
    })
    .await
    .map_err(EngineError::from)?;
    let names = |list: &[Upstream]| {
        list.iter()
            .map(|u| format!("`{}`", u.result.label))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let merged = match merged {
        Ok(merged) => merged,
        Err(GitError::UpstreamConflict { task, paths }) => {
            return Err(StepStop::fail(
                FailKind::UpstreamConflict,
                format!(
                    "the work of `{task}` conflicts with the work of the tasks before it ({}) \
                     in: {}; nothing was merged",
                    names(&upstream),
                    paths.join(", ")
                ),
            ));
        }
        Err(GitError::UpstreamMissing {
            task,
            commit,
            branch,
        }) => {
            let restore = match branch {
                Some(b) => format!(
                    "restore its branch (`git branch {b} {commit}` in the project's repository, \
                     if the commit is still there) or run `{task}` again"
                ),
                None => format!("run `{task}` again"),
            };
            return Err(StepStop::fail(
                FailKind::UpstreamMissing,
                format!(
                    "the result of `{task}` ({commit}) is not in the repository any more; {restore}"
                ),
            ));
        }
        Err(other) => return Err(StepStop::from(EngineError::from(other))),
    };
    for (u, was_merged) in upstream.iter().zip(&merged.merged) {
        ctx.append(
            run.id,
            RunEventBody::UpstreamMerged {
                task_id: u.task,
                run_id: u.run,
                commit: u.result.commit.clone(),
                merged: *was_merged,
                project_commit: Some(merged.start.clone()),
            },
        )
        .await?;
    }
    ctx.note(
        run.id,
        format!(
            "started from the work of {} (base {})",
            names(&upstream),
            &merged.head[..merged.head.len().min(12)]
        ),
    )
    .await?;
    Ok(Some(merged.head))
}
