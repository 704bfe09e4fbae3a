//! An orchestrator's tools over one of its subtasks once it ran: `get_subtask_result` (how it
//! ended, what its agent said, the files it changed with counts, one file's diff, its checks),
//! `retry_subtask` (a follow-up to its run with the orchestrator's feedback) and
//! `cancel_subtask` (its run stopped and its work left out of the orchestrator's result),
//! `answer_subtask` (answers a subtask's question, or passes it on to the person).

use corral_core::{Approval, Run, Runtime, TaskSummary};
use corral_store::TaskMutation;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Scope, ToolError};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::views::TaskView;

/// The most of a patch `get_subtask_result` returns.
const PATCH_BYTES: usize = 32 * 1024;
/// The most of a final text it returns.
const FINAL_TEXT_CHARS: usize = 8_000;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct GetSubtaskResult {
    /// One of your subtasks: its id or title.
    pub subtask: String,
    /// A file it changed (as listed in `files`): its diff is returned too.
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct RetrySubtask {
    /// One of your subtasks: its id or title.
    pub subtask: String,
    /// What its agent should change: it resumes its session on its own branch with this.
    pub feedback: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct AnswerSubtask {
    /// The request id you were told.
    pub request: String,
    /// One answer per question, in order: the option labels picked and/or your text.
    #[serde(default)]
    pub answers: Vec<SubtaskAnswer>,
    /// Instead of answering: pass the question on to the person, with this note for them.
    #[serde(default)]
    pub pass_on: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub(crate) struct SubtaskAnswer {
    #[serde(default)]
    pub selected: Vec<String>,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct CancelSubtask {
    /// One of your subtasks: its id or title.
    pub subtask: String,
}

/// One of the orchestrator's own subtasks, by id or title.
async fn own_subtask(
    ctx: &Engine,
    scope: Scope,
    reference: &str,
) -> Result<TaskView<TaskSummary>, ToolError> {
    let orchestrator = ctx.orchestrator_task(scope.run).await?;
    let reference = reference.trim();
    ctx.subtasks(orchestrator.id)
        .await?
        .into_iter()
        .find(|s| s.task.id.to_string() == reference || s.task.title.trim() == reference)
        .ok_or_else(|| {
            ToolError::new(format!(
                "`{reference}` is not one of your subtasks (list_subtasks lists them)"
            ))
        })
}

/// The subtask's newest run.
async fn newest_run(ctx: &Engine, sub: &TaskView<TaskSummary>) -> Result<Option<Run>, ToolError> {
    Ok(ctx.list_runs(Some(sub.task.id)).await?.into_iter().next())
}

pub(super) async fn get_subtask_result(
    ctx: &Engine,
    scope: Scope,
    args: GetSubtaskResult,
) -> Result<Value, ToolError> {
    let sub = own_subtask(ctx, scope, &args.subtask).await?;
    let Some(run) = newest_run(ctx, &sub).await? else {
        return Ok(json!({
            "id": sub.task.id.to_string(),
            "title": sub.task.title,
            "status": sub.status.as_str(),
            "run": null,
        }));
    };
    let said = ctx.final_text(run.id).await?.unwrap_or_default();
    let said: String = said.trim().chars().take(FINAL_TEXT_CHARS).collect();
    let files = ctx.run_diff(run.id, 0).await.unwrap_or_default();
    let mut result = json!({
        "id": sub.task.id.to_string(),
        "title": sub.task.title,
        "status": sub.status.as_str(),
        "run": {
            "id": run.id.to_string(),
            "state": run.state.name(),
            "failure": run.state.failure().map(|f| f.message.clone()),
            "branch": run.branch,
            "result_commit": run.result_commit,
        },
        "final_text": said,
        "files": files.iter().map(|f| json!({
            "path": f.path,
            "status": file_status(f.status),
            "added": f.added,
            "removed": f.removed,
        })).collect::<Vec<_>>(),
        "checks": run.checks.iter().map(|c| json!({
            "name": c.name,
            "outcome": c.outcome.as_str(),
            "how": c.how(),
            "tail": c.tail,
        })).collect::<Vec<_>>(),
    });
    if let Some(path) = args.path.as_deref().map(str::trim) {
        let diff = ctx
            .run_file_diff(run.id, path, PATCH_BYTES)
            .await?
            .ok_or_else(|| {
                ToolError::new(format!(
                    "`{path}` is not among the files the subtask changed (see `files`)"
                ))
            })?;
        result["diff"] = json!({
            "path": diff.path,
            "binary": diff.binary,
            "patch": diff.patch,
            "truncated": diff.truncated,
        });
    }
    Ok(result)
}

pub(super) async fn retry_subtask(
    ctx: &Engine,
    scope: Scope,
    args: RetrySubtask,
) -> Result<Value, ToolError> {
    let sub = own_subtask(ctx, scope, &args.subtask).await?;
    if sub.task.approval == Approval::Rejected {
        return Err(ToolError::new(format!(
            "`{}` was cancelled; create a new subtask instead",
            sub.task.title
        )));
    }
    let feedback = args.feedback.trim();
    if feedback.is_empty() {
        return Err(ToolError::new("say what its agent should change"));
    }
    let Some(latest) = newest_run(ctx, &sub).await? else {
        return Err(ToolError::new(format!(
            "`{}` has not run yet: it starts by itself once the subtasks it runs after succeed",
            sub.task.title
        )));
    };
    if latest.state.is_live() {
        return Err(ToolError::new(format!(
            "`{}` is still {}; retry it once it has ended (you are woken then)",
            sub.task.title,
            latest.state.name()
        )));
    }
    let orchestrator = ctx.orchestrator_task(scope.run).await?;
    if let Some((used, allowed)) = ctx.orchestration_over_budget(orchestrator.id).await? {
        return Err(ToolError::new(crate::orchestrate::over_budget(
            used, allowed,
        )));
    }
    let message = format!("Your orchestrator asks for changes to your work:\n{feedback}");
    // A command line has no session to resume: it runs again; so does an agent whose run
    // cannot be followed up (it never started a session, its checkout is gone).
    let (run, note) = if sub.task.runtime == Some(Runtime::Custom) {
        (
            ctx.start_run(sub.task.id).await?,
            "it is a command line, so it runs again as it is (your feedback reaches no agent); \
             you are woken when it ends",
        )
    } else {
        match ctx.start_follow_up(latest.id, &message).await {
            Ok(run) => (
                run,
                "its agent resumes on its own branch with your feedback; you are woken when it \
                 ends",
            ),
            Err(EngineError::NoFollowUp { .. }) => (
                ctx.start_run(sub.task.id).await?,
                "its run cannot be resumed, so it runs again from the start (your feedback \
                 reaches no agent); you are woken when it ends",
            ),
            Err(other) => return Err(other.into()),
        }
    };
    Ok(json!({
        "id": sub.task.id.to_string(),
        "run": run.id.to_string(),
        "note": note,
    }))
}

pub(super) async fn cancel_subtask(
    ctx: &Engine,
    scope: Scope,
    args: CancelSubtask,
) -> Result<Value, ToolError> {
    let sub = own_subtask(ctx, scope, &args.subtask).await?;
    let mut task = ctx.task_record(sub.task.id).await?;
    if task.approval != Approval::Rejected {
        // Rejected first: nothing starts it again while its run is stopped.
        task.approval = Approval::Rejected;
        task.updated_at = Engine::now();
        TaskMutation::update(ctx.store.db(), &task)
            .await
            .map_err(EngineError::from)?;
        let view = ctx.task(task.id).await?;
        ctx.publish(crate::events::EngineEvent::TaskUpdated { task: view });
    }
    let mut stopped = 0;
    for run in ctx.list_runs(Some(task.id)).await? {
        if run.state.is_live() {
            ctx.cancel_run(run.id).await?;
            stopped += 1;
        }
    }
    // Work integrated before (its checks failed on the branch) stays in the branch.
    let integrated = corral_store::RunEventQuery::of_kind(ctx.store.db(), scope.run, "upstream_merged")
        .await
        .map_err(EngineError::from)?
        .iter()
        .any(|e| {
            matches!(&e.body, corral_core::RunEventBody::UpstreamMerged { task_id, .. } if *task_id == task.id)
        });
    ctx.note(
        scope.run,
        format!(
            "cancelled subtask `{}`: its work is left out of the result",
            task.title
        ),
    )
    .await?;
    let note = if integrated {
        "it was integrated into your branch before, and that stays: undo its changes in a new \
         subtask if the result must not have them; what runs after it will not start"
    } else {
        "its work is left out of your result; what runs after it will not start"
    };
    Ok(json!({
        "id": task.id.to_string(),
        "cancelled": true,
        "runs_stopped": stopped,
        "note": note,
    }))
}

pub(super) async fn answer_subtask(
    ctx: &Engine,
    scope: Scope,
    args: AnswerSubtask,
) -> Result<Value, ToolError> {
    ctx.orchestrator_task(scope.run).await?;
    let id: corral_core::RequestId = args.request.trim().parse().map_err(|_| {
        ToolError::new(format!(
            "`{}` is not a request id (you were told it with the question)",
            args.request.trim()
        ))
    })?;
    if let Some(note) = args.pass_on.as_deref() {
        if note.trim().is_empty() {
            return Err(ToolError::new(
                "say in `pass_on` what the person should know",
            ));
        }
        ctx.pass_on_question(scope.run, id, note).await?;
        return Ok(json!({"passed_on": true, "note": "it waits in the person's inbox now"}));
    }
    if args.answers.is_empty() {
        return Err(ToolError::new(
            "give `answers` (one per question) or `pass_on` (a note for the person)",
        ));
    }
    let answer = corral_core::Answer {
        answers: args
            .answers
            .into_iter()
            .map(|a| corral_core::QuestionAnswer {
                selected: a.selected,
                text: a.text,
            })
            .collect(),
    };
    let answered = ctx.answer_for_subtask(scope.run, id, answer).await?;
    Ok(json!({
        "answered": true,
        "run": answered.run_id.to_string(),
        "note": "its agent goes on with your answer",
    }))
}

fn file_status(status: corral_git::FileStatus) -> &'static str {
    use corral_git::FileStatus;
    match status {
        FileStatus::Added => "added",
        FileStatus::Modified => "modified",
        FileStatus::Deleted => "deleted",
        FileStatus::Renamed => "renamed",
        FileStatus::TypeChanged => "type_changed",
        FileStatus::LeftOut => "left_out",
    }
}
