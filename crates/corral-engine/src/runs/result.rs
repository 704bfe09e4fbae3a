//! What a run leaves: its checkout's `.git` put back to run nothing on the host after every
//! step, and at the end the result committed on whatever HEAD is, the run branch pointed at it,
//! files over max-file-size left out (and said so), the branch published.

use corral_core::{FailKind, Project, Run, RunEventBody, Task};

use super::follow::StepStop;
use super::prepare::source_path;
use super::repo_lock::{Access, lock_repo};
use crate::engine::Engine;
use crate::error::EngineError;

pub(super) const AUTHOR: (&str, &str) = ("Corral", "corral@localhost");

/// Where Corral keeps its copy of a checkout's git config: beside the checkout, outside
/// anything mounted into a sandbox.
pub(crate) fn git_config_copy(checkout: &std::path::Path) -> std::path::PathBuf {
    let mut name = checkout.as_os_str().to_owned();
    name.push(".git-config");
    std::path::PathBuf::from(name)
}

/// Puts the checkout's `.git` back to what runs nothing on the host (see
/// `corral_git::restore_git_dir`), noting in the run's log what the sandbox had changed.
pub(super) async fn guard_git_dir(ctx: &Engine, run: &Run) -> Result<(), StepStop> {
    let Some(checkout) = run.checkout_path.clone() else {
        return Ok(());
    };
    let git_dir = std::path::Path::new(&checkout).join(".git");
    if std::path::Path::new(&checkout).is_dir() && std::fs::symlink_metadata(&git_dir).is_err() {
        let kept = match &run.result_commit {
            Some(commit) => format!(
                "; the result committed before it is kept: {} on {} (in your repository, `git \
                 merge {}` merges it by hand)",
                &commit[..12.min(commit.len())],
                run.branch.as_deref().unwrap_or("its branch"),
                run.branch.as_deref().unwrap_or(commit)
            ),
            None => String::new(),
        };
        return Err(StepStop::fail(
            FailKind::RunFilesRemoved,
            format!(
                "a step removed the checkout's .git folder, so Corral cannot go on with it{kept}"
            ),
        ));
    }
    let restored = tokio::task::spawn_blocking(move || {
        let checkout = std::path::Path::new(&checkout);
        if !checkout.is_dir() {
            return Ok(Vec::new());
        }
        let copy = git_config_copy(checkout);
        if !copy.exists() {
            // A checkout made before Corral kept a copy: the best copy is the current one.
            corral_git::save_git_config(checkout, &copy)?;
        }
        corral_git::restore_git_dir(checkout, &copy)
    })
    .await
    .map_err(EngineError::from)?
    .map_err(|e| StepStop::fail(FailKind::Result, format!("the checkout's git folder: {e}")))?;
    if !restored.is_empty() {
        ctx.note(
            run.id,
            format!(
                "the sandbox changed {}; Corral put back its own copy, so git on this machine \
                 runs nothing the sandbox planted",
                restored.join(", ")
            ),
        )
        .await?;
    }
    Ok(())
}

/// The run's checkout folder and branch (a run past `preparing` has both).
pub(super) fn checkout_and_branch(run: &Run) -> Result<(String, String), StepStop> {
    let checkout = run
        .checkout_path
        .clone()
        .ok_or_else(|| StepStop::fail(FailKind::Internal, "no checkout"))?;
    let branch = run
        .branch
        .clone()
        .ok_or_else(|| StepStop::fail(FailKind::Internal, "no branch"))?;
    Ok((checkout, branch))
}

/// Commits the checkout on the run branch and makes the branch visible in the user's repo.
pub(super) async fn finish(
    ctx: &Engine,
    run: &mut Run,
    task: &Task,
    project: &Project,
) -> Result<(), StepStop> {
    let (checkout, branch) = checkout_and_branch(run)?;
    let source = source_path(ctx, project);
    let attempt = if run.verify_attempt > 1 {
        format!(" (attempt {})", run.verify_attempt)
    } else {
        String::new()
    };
    let message = format!(
        "{}{attempt}\n\nCorral run {} of task {}",
        task.title, run.id, task.id
    );
    guard_git_dir(ctx, run).await?;
    let base = run
        .base_commit
        .clone()
        .ok_or_else(|| StepStop::fail(FailKind::Internal, "no base commit"))?;
    let run_branch = branch.clone();
    let max_bytes = project.workflow.max_file_mib.saturating_mul(1024 * 1024);
    let (data_dir, project_id) = (ctx.config.data_dir.clone(), project.id);
    let (recorded, head) = tokio::task::spawn_blocking(move || {
        let path = std::path::Path::new(&checkout);
        // Whatever the agent did with git, the result is what HEAD and the working tree hold.
        let recorded = corral_git::commit_all(path, AUTHOR, &message, max_bytes)?;
        let head = corral_git::point_run_branch(path, &run_branch, &base)?;
        let _turn = lock_repo(&data_dir, project_id, Access::Write)?;
        corral_git::publish_branch(&source, path, &run_branch)?;
        Ok::<_, corral_git::GitError>((recorded, head))
    })
    .await
    .map_err(EngineError::from)?
    .map_err(|e| {
        StepStop::fail(
            FailKind::Result,
            format!("recording the result failed: {e}"),
        )
    })?;
    run.result_commit = Some(head.commit.clone());
    ctx.save(run).await?;
    let short = &head.commit[..12.min(head.commit.len())];
    if head.moved() {
        let how = match (&head.other_branch, head.detached) {
            (Some(other), _) => {
                format!("the agent switched the checkout to its own branch `{other}`")
            }
            (None, true) => "the agent left the checkout's HEAD detached".to_string(),
            (None, false) => "the agent moved the run branch".to_string(),
        };
        let history = if head.descends_from_base {
            String::new()
        } else {
            "; it no longer descends from the run's base commit (a reset or a rewrite of \
             history), so merging it may drop earlier work"
                .to_string()
        };
        ctx.note(
            run.id,
            format!(
                "{how}{history}; the run's result is what HEAD held: {short}, published as {branch}"
            ),
        )
        .await?;
    }
    for file in &recorded.left_out {
        ctx.append(
            run.id,
            RunEventBody::FileLeftOut {
                path: file.path.clone(),
                size: file.size,
                max_bytes,
            },
        )
        .await?;
    }
    if !recorded.left_out.is_empty() {
        let biggest = recorded.left_out.iter().map(|f| f.size).max().unwrap_or(0);
        let mib = biggest.div_ceil(1024 * 1024);
        ctx.note(
            run.id,
            format!(
                "{} file(s) over max-file-size ({} MiB) left out of the commit; they are still in \
                 the checkout. To include them: `corral project set {} max-file-size={mib}m`, \
                 then run again",
                recorded.left_out.len(),
                project.workflow.max_file_mib,
                project.name
            ),
        )
        .await?;
    }
    ctx.note(
        run.id,
        match recorded.commit {
            Some(c) => format!("committed {} on {branch}", &c[..12.min(c.len())]),
            None if run.result_commit != run.base_commit => {
                format!("the agent's own commits are the result: {short} on {branch}")
            }
            None => "no changes to commit".to_string(),
        },
    )
    .await?;
    Ok(())
}
