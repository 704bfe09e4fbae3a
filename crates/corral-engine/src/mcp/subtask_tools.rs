//! An orchestrator's tools (offered only to a run of an orchestrate task): `create_subtask`
//! (a subtask of its own task, approved, run at once when ready, within `max-subtasks`),
//! `list_subtasks` (where each stands) and `finish` (its explicit end, with a summary).

use corral_core::{Approval, CreatedBy, RunEventBody, Runtime, TaskKind};
use corral_store::TaskQuery;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Scope, ToolError, agent_runtime, check_model, check_short_field};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::tasks::NewTask;

/// The longest summary `finish` keeps.
const SUMMARY_CHARS: usize = 8_000;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct CreateSubtask {
    /// A short title, unique among your subtasks.
    pub title: String,
    /// What the agent that runs it should do.
    #[serde(default)]
    pub prompt: String,
    /// The agent runtime (claude-code, codex, gemini, opencode, aider, cursor); the project's
    /// default when left out.
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// A command line to run instead of an agent (program and arguments).
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Your subtasks (ids or titles) it runs after, from their results.
    #[serde(default)]
    pub after: Vec<String>,
    /// Any string unique to this request: a retried call returns the subtask made first.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Wake me at once if it fails, rather than when all my subtasks have ended.
    #[serde(default)]
    pub wake_on_failure: bool,
    /// It orchestrates its part of the goal itself (its own subtasks), where the project lets
    /// orchestrators nest (orchestrate-depth).
    #[serde(default)]
    pub orchestrate: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub(crate) struct ListSubtasks {}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct Finish {
    /// What was done, for the person: which subtasks did what, what is left.
    pub summary: String,
}

pub(super) async fn create_subtask(
    ctx: &Engine,
    scope: Scope,
    args: CreateSubtask,
) -> Result<Value, ToolError> {
    let orchestrator = ctx.orchestrator_task(scope.run).await?;
    let project = ctx.project(scope.project).await?;
    if project.workflow.agent_tasks == corral_core::AgentTasks::Deny {
        return Err(ToolError::new(
            "this project does not let agents create tasks (agent-tasks=deny)",
        ));
    }
    // A command line runs without the agent CLI's permission prompts: only where its agent may
    // run commands without asking anyway.
    let commands_free = match project.workflow.agent_permissions {
        corral_core::AgentPermissions::Bypass => true,
        corral_core::AgentPermissions::Auto => {
            project.workflow.sandbox == corral_core::SandboxKind::Docker
        }
        corral_core::AgentPermissions::Edits | corral_core::AgentPermissions::Ask => false,
    };
    if args.command.is_some() && !commands_free {
        return Err(ToolError::new(
            "a command-line subtask runs commands without asking, and this project's agents \
             may not (agent-permissions); give a prompt for an agent instead",
        ));
    }
    if args.orchestrate {
        if args.command.is_some() {
            return Err(ToolError::new(
                "a subtask that orchestrates is an agent: give a prompt, not a command",
            ));
        }
        let depth = orchestration_depth(ctx, &orchestrator).await? + 1;
        let allowed = project.workflow.orchestrate_depth;
        if depth > allowed {
            return Err(ToolError::new(format!(
                "a subtask may not orchestrate here: that would nest orchestrators {depth} deep \
                 and this project allows {allowed} (orchestrate-depth); create its parts as \
                 your own subtasks"
            )));
        }
        // Each waiting orchestrator keeps a run slot: its subtasks need one more.
        let slots = project.workflow.max_concurrent_runs;
        if slots <= depth {
            return Err(ToolError::new(format!(
                "{depth} orchestrators nested would hold every run slot while they wait \
                 (max-runs={slots}), and their subtasks could never start; create its parts as \
                 your own subtasks"
            )));
        }
    }
    check_model(args.model.as_deref())?;
    check_short_field("the idempotency key", args.idempotency_key.as_deref())?;
    let (runtime, command) = match args.command {
        Some(argv) => {
            corral_core::validate::argv(&argv).map_err(|e| ToolError::new(e.to_string()))?;
            (Some(Runtime::Custom), Some(argv))
        }
        None => (
            agent_runtime(args.runtime.as_deref(), "create subtasks for")?,
            None,
        ),
    };
    let db = ctx.store.db();
    // One creation at a time: a retried call cannot pass the limit or make a twin.
    let _one_at_a_time = super::task_tools::CREATING.lock().await;
    let siblings = TaskQuery::children(db, orchestrator.id)
        .await
        .map_err(EngineError::from)?;
    if let Some(key) = args.idempotency_key.as_deref() {
        let made = TaskQuery::created_by_run(db, scope.run)
            .await
            .map_err(EngineError::from)?;
        if let Some((id, _)) = made.iter().find(|(_, k)| k.as_deref() == Some(key)) {
            let view = ctx.task(*id).await?;
            return Ok(
                json!({"id": view.task.id.to_string(), "title": view.task.title,
                "status": view.status.as_str(), "created": false}),
            );
        }
    }
    if let Some((used, allowed)) = ctx.orchestration_over_budget(orchestrator.id).await? {
        return Err(ToolError::new(crate::orchestrate::over_budget(
            used, allowed,
        )));
    }
    let limit = project.workflow.max_subtasks;
    if siblings.len() >= limit as usize {
        return Err(ToolError::new(format!(
            "this orchestrator has {} subtasks, the most it may (max-subtasks={limit}); work \
             with those, or finish and say what is left",
            siblings.len()
        )));
    }
    let mut after = Vec::new();
    for reference in &args.after {
        let reference = reference.trim();
        let found = siblings
            .iter()
            .find(|t| t.id.to_string() == reference || t.title.trim() == reference)
            .ok_or_else(|| {
                ToolError::new(format!(
                    "`{reference}` is not one of your subtasks (list_subtasks lists them); a \
                     subtask runs after other subtasks of this orchestrator only"
                ))
            })?;
        after.push(found.id);
    }
    let view = ctx
        .create_task(NewTask {
            project_id: project.id,
            title: args.title,
            prompt: args.prompt,
            runtime,
            model: args.model,
            command,
            after,
            kind: if args.orchestrate {
                TaskKind::Orchestrate
            } else {
                TaskKind::Work
            },
            max_attempts: None,
            created_by: CreatedBy::Run(scope.run),
            // A person created the orchestrator: its subtasks need no approval.
            approval: Approval::Approved,
            idempotency_key: args.idempotency_key,
            parent: Some(orchestrator.id),
        })
        .await?;
    if args.wake_on_failure {
        crate::runs::wake_on_failure(ctx, scope.run, view.task.id)
            .map_err(EngineError::io("recording wake_on_failure"))?;
    }
    let starts = ctx
        .start_ready_subtasks(orchestrator.id, &Default::default())
        .await?;
    let run = starts.started.iter().find(|r| r.task_id == view.task.id);
    let refused = starts
        .refused
        .iter()
        .find(|(id, _)| *id == view.task.id)
        .map(|(_, why)| why.clone());
    let note = match (&run, &refused) {
        (Some(_), _) => "it runs now".to_string(),
        (None, Some(why)) => format!("it cannot start: {why}"),
        (None, None) => {
            "it starts by itself once the subtasks it runs after have succeeded".to_string()
        }
    };
    Ok(json!({
        "id": view.task.id.to_string(),
        "title": view.task.title,
        "created": true,
        "started": run.is_some(),
        "note": note,
    }))
}

/// How deep `task` orchestrates: 1 for a top orchestrator, one more per orchestrating parent.
async fn orchestration_depth(ctx: &Engine, task: &corral_core::Task) -> Result<u32, ToolError> {
    let mut depth = 1;
    let mut parent = task.parent;
    while let Some(id) = parent {
        depth += 1;
        parent = ctx.task_record(id).await?.parent;
        if depth > 10 {
            break; // a hand-edited database with a loop of parents
        }
    }
    Ok(depth)
}

pub(super) async fn list_subtasks(ctx: &Engine, scope: Scope) -> Result<Value, ToolError> {
    let orchestrator = ctx.orchestrator_task(scope.run).await?;
    let mut listed = Vec::new();
    for view in ctx.subtasks(orchestrator.id).await? {
        let latest = ctx.list_runs(Some(view.task.id)).await?.into_iter().next(); // newest first
        listed.push(json!({
            "id": view.task.id.to_string(),
            "title": view.task.title,
            "status": view.status.as_str(),
            "after": view.depends_on.iter().map(ToString::to_string).collect::<Vec<_>>(),
            // Cancelled by you: its work is not in your result.
            "left_out": view.task.approval == Approval::Rejected,
            "run": latest.map(|r| json!({
                "id": r.id.to_string(),
                "state": r.state.name(),
                "failure": r.state.failure().map(|f| f.message.clone()),
            })),
        }));
    }
    Ok(json!({ "subtasks": listed }))
}

pub(super) async fn finish(ctx: &Engine, scope: Scope, args: Finish) -> Result<Value, ToolError> {
    ctx.orchestrator_task(scope.run).await?;
    let summary: String = args.summary.trim().chars().take(SUMMARY_CHARS).collect();
    if summary.is_empty() {
        return Err(ToolError::new("say what was done in the summary"));
    }
    ctx.append(
        scope.run,
        RunEventBody::OrchestratorFinished {
            summary: summary.clone(),
        },
    )
    .await?;
    Ok(json!({"finished": true, "next": "end your turn"}))
}
