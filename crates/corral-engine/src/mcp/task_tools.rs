//! What the task tools do, for one run's agent: read the project's tasks, create tasks (proposed
//! by default) and dependencies between them, and report progress. Each returns the JSON the
//! agent is given, or a `ToolError` saying what to change.

use std::collections::{HashMap, HashSet};

use corral_core::{
    AgentTasks, Approval, CreatedBy, Project, Runtime, TaskId, TaskStatus, TaskSummary,
};
use corral_store::TaskQuery;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Scope, ToolError, agent_runtime, check_model, check_short_field};
use crate::engine::Engine;
use crate::tasks::NewTask;
use crate::views::TaskView;

/// The longest progress line kept; longer ones are cut.
const PROGRESS_MAX_CHARS: usize = 200;
/// The least time between two progress lines of a run that are kept.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// When each run last reported progress (in this process).
static LAST_PROGRESS: std::sync::LazyLock<
    std::sync::Mutex<HashMap<corral_core::RunId, std::time::Instant>>,
> = std::sync::LazyLock::new(Default::default);

/// One `create_task` at a time in this process, so a retried call with the same idempotency
/// key finds the task the first one made instead of racing it.
pub(super) static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct ListTasks {
    /// Only tasks with one of these statuses: proposed, rejected, backlog, ready, blocked,
    /// running, needs_input, review, done, failed, cancelled.
    #[serde(default)]
    pub status: Vec<String>,
    /// Only tasks run by this runtime (claude-code, codex, gemini, ...).
    #[serde(default)]
    pub runtime: Option<String>,
    /// At most this many tasks (default 100, at most 1000); `total` says how many there are.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Tasks `list_tasks` gives when not told otherwise: enough to see the queue, not so many that
/// a large project floods the agent's context.
const LIST_DEFAULT: usize = 100;
const LIST_MAX: usize = 1000;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct GetTask {
    /// The task's id, or its exact title.
    pub task: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct CreateTask {
    /// A short title, unique enough to find the task by.
    pub title: String,
    /// What the agent that runs the task should do.
    pub prompt: String,
    /// The agent runtime (claude-code, codex, gemini, opencode, aider, cursor); the project's
    /// default when left out.
    #[serde(default)]
    pub runtime: Option<String>,
    /// The model; the project's (or runtime's) default when left out.
    #[serde(default)]
    pub model: Option<String>,
    /// Tasks (ids or exact titles) the new task runs after, from their results.
    #[serde(default)]
    pub after: Vec<String>,
    /// Any string unique to this request: a retried call with the same key returns the task
    /// the first call created instead of creating another.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct AddDependency {
    /// The task (id or exact title) that is to run after the other.
    pub task: String,
    /// The task (id or exact title) it runs after.
    pub after: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct ReportProgress {
    /// One short line on where the work is, shown on the task's card and in the run view.
    pub text: String,
}

fn parse_status(name: &str) -> Result<TaskStatus, ToolError> {
    TaskStatus::ALL
        .into_iter()
        .find(|s| s.as_str() == name.trim())
        .ok_or_else(|| {
            let valid: Vec<&str> = TaskStatus::ALL.iter().map(|s| s.as_str()).collect();
            ToolError::new(format!(
                "unknown status `{name}`; valid: {}",
                valid.join(", ")
            ))
        })
}

fn created_by(by: CreatedBy) -> String {
    match by {
        CreatedBy::Human => "a person".to_string(),
        CreatedBy::Run(run) => format!("the agent of run {run}"),
    }
}

fn summary_json(view: &TaskView<TaskSummary>, project: &Project, scope: Scope) -> Value {
    let t = &view.task;
    json!({
        "id": t.id.to_string(),
        "title": t.title,
        "status": view.status.as_str(),
        "runtime": t.runtime.unwrap_or(project.workflow.runtime).as_str(),
        "model": t.model,
        "depends_on": view.depends_on.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "created_by": created_by(t.created_by),
        "yours": t.id == scope.task,
    })
}

pub(crate) async fn list_tasks(
    ctx: &Engine,
    scope: Scope,
    args: ListTasks,
) -> Result<Value, ToolError> {
    let project = ctx.project(scope.project).await?;
    let statuses: HashSet<TaskStatus> = args
        .status
        .iter()
        .map(|s| parse_status(s))
        .collect::<Result<_, _>>()?;
    let runtime = args
        .runtime
        .as_deref()
        .map(|r| {
            r.parse::<Runtime>()
                .map_err(|e| ToolError::new(e.to_string()))
        })
        .transpose()?;
    let limit = args
        .limit
        .map_or(LIST_DEFAULT, |l| usize::try_from(l).unwrap_or(LIST_MAX))
        .clamp(1, LIST_MAX);
    let views = ctx.list_task_summaries(Some(scope.project)).await?;
    let total = views.len();
    let matching: Vec<&TaskView<TaskSummary>> = views
        .iter()
        .filter(|v| statuses.is_empty() || statuses.contains(&v.status))
        .filter(|v| runtime.is_none_or(|r| v.task.runtime.unwrap_or(project.workflow.runtime) == r))
        .collect();
    let tasks: Vec<Value> = matching
        .iter()
        .take(limit)
        .map(|v| summary_json(v, &project, scope))
        .collect();
    let mut listed = json!({
        "project": project.name,
        "total": total,
        "matching": matching.len(),
        "shown": tasks.len(),
        "tasks": tasks,
    });
    if matching.len() > limit {
        listed["note"] = format!(
            "{} more match: filter by status or runtime, or give a larger limit (up to {LIST_MAX})",
            matching.len() - limit
        )
        .into();
    }
    Ok(listed)
}

pub(crate) async fn get_task(
    ctx: &Engine,
    scope: Scope,
    args: GetTask,
) -> Result<Value, ToolError> {
    let project = ctx.project(scope.project).await?;
    let task = ctx.find_task(&args.task, Some(&project)).await?;
    let view = ctx.task(task.id).await?;
    let titles = titles(ctx, scope).await?;
    let named = |ids: &[TaskId]| -> Vec<Value> {
        ids.iter()
            .map(|id| json!({"id": id.to_string(), "title": titles.get(id)}))
            .collect()
    };
    let latest_run = match ctx.list_runs(Some(task.id)).await?.into_iter().next() {
        None => Value::Null,
        Some(run) => {
            let mut changed: Vec<String> = ctx
                .run_file_changes(run.id)
                .await?
                .into_iter()
                .map(|c| c.path)
                .collect();
            changed.sort();
            changed.dedup();
            json!({
                "id": run.id.to_string(),
                "state": run.state.name(),
                "failure": run.state.failure().map(ToString::to_string),
                "final_text": ctx.final_text(run.id).await?,
                "changed_files": changed,
            })
        }
    };
    Ok(json!({
        "id": task.id.to_string(),
        "title": task.title,
        "prompt": task.prompt,
        "status": view.status.as_str(),
        "runtime": task.runtime.unwrap_or(project.workflow.runtime).as_str(),
        "model": task.model,
        "depends_on": named(&view.depends_on),
        "dependents": named(&view.dependents),
        "created_by": created_by(task.created_by),
        "yours": task.id == scope.task,
        "latest_run": latest_run,
    }))
}

async fn titles(ctx: &Engine, scope: Scope) -> Result<HashMap<TaskId, String>, ToolError> {
    Ok(TaskQuery::summaries(ctx.store.db(), Some(scope.project))
        .await
        .map_err(crate::error::EngineError::from)?
        .into_iter()
        .map(|t| (t.id, t.title))
        .collect())
}

pub(crate) async fn create_task(
    ctx: &Engine,
    scope: Scope,
    args: CreateTask,
) -> Result<Value, ToolError> {
    let project = ctx.project(scope.project).await?;
    let approval = match project.workflow.agent_tasks {
        AgentTasks::Deny => {
            return Err(ToolError::new(
                "this project does not let agents create tasks (agent-tasks=deny)",
            ));
        }
        AgentTasks::Propose => Approval::Proposed,
        AgentTasks::Allow => Approval::Approved,
    };
    check_model(args.model.as_deref())?;
    check_short_field("the idempotency key", args.idempotency_key.as_deref())?;
    // A task created by a run of a task an agent created waits for a person whatever the
    // setting: agents' tasks cannot multiply by themselves.
    let approval = match ctx.task_record(scope.task).await?.created_by {
        CreatedBy::Run(_) => Approval::Proposed,
        CreatedBy::Human => approval,
    };
    let runtime = agent_runtime(args.runtime.as_deref(), "create tasks for")?;
    let mut after = Vec::new();
    for reference in &args.after {
        after.push(ctx.find_task(reference, Some(&project)).await?.id);
    }
    let _one_at_a_time = CREATING.lock().await;
    let made = TaskQuery::created_by_run(ctx.store.db(), scope.run)
        .await
        .map_err(crate::error::EngineError::from)?;
    if let Some(key) = args.idempotency_key.as_deref()
        && let Some((id, _)) = made.iter().find(|(_, k)| k.as_deref() == Some(key))
    {
        let view = ctx.task(*id).await?;
        return Ok(created_json(&view, false));
    }
    let limit = project.workflow.agent_task_limit;
    if made.len() >= limit as usize {
        return Err(ToolError::new(format!(
            "this run has created {} tasks, the project's limit (agent-task-limit={limit}); \
             finish with what exists, or ask a person to raise the limit",
            made.len()
        )));
    }
    let view = ctx
        .create_task(NewTask {
            project_id: project.id,
            title: args.title,
            prompt: args.prompt,
            runtime,
            model: args.model,
            command: None,
            after,
            kind: corral_core::TaskKind::Work,
            max_attempts: None,
            created_by: CreatedBy::Run(scope.run),
            approval,
            idempotency_key: args.idempotency_key,
            parent: None,
        })
        .await?;
    Ok(created_json(&view, true))
}

fn created_json(view: &TaskView, created: bool) -> Value {
    let note = match view.task.approval {
        Approval::Proposed => "proposed: it runs once a person approves it",
        Approval::Rejected => "a person rejected it: it will not run",
        Approval::Approved => "it can run",
    };
    json!({
        "id": view.task.id.to_string(),
        "title": view.task.title,
        "status": view.status.as_str(),
        "created": created,
        "note": note,
    })
}

pub(crate) async fn add_dependency(
    ctx: &Engine,
    scope: Scope,
    args: AddDependency,
) -> Result<Value, ToolError> {
    let project = ctx.project(scope.project).await?;
    let task = ctx.find_task(&args.task, Some(&project)).await?;
    let after = ctx.find_task(&args.after, Some(&project)).await?;
    match project.workflow.agent_tasks {
        AgentTasks::Deny => {
            return Err(ToolError::new(
                "this project does not let agents change its tasks (agent-tasks=deny)",
            ));
        }
        // A person's graph changes only with a person's say: an agent rewires the tasks it
        // created.
        AgentTasks::Propose if task.created_by != CreatedBy::Run(scope.run) => {
            return Err(ToolError::new(format!(
                "`{}` was not created by this run; with agent-tasks=propose an agent adds \
                 dependencies only to the tasks it created",
                task.title
            )));
        }
        AgentTasks::Propose | AgentTasks::Allow => {}
    }
    // A subtask runs after other subtasks of its orchestrator only.
    if task.parent.is_some() && after.parent != task.parent {
        return Err(ToolError::new(format!(
            "`{}` is a subtask: it runs after other subtasks of its orchestrator only, and `{}` \
             is not one",
            task.title, after.title
        )));
    }
    let view = ctx.add_dependency(task.id, after.id).await?;
    Ok(json!({
        "task": view.task.id.to_string(),
        "runs_after": view.depends_on.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "status": view.status.as_str(),
    }))
}

pub(crate) async fn report_progress(
    ctx: &Engine,
    scope: Scope,
    args: ReportProgress,
) -> Result<Value, ToolError> {
    let line = args
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    if line.is_empty() {
        return Err(ToolError::new("the progress text is empty"));
    }
    let text: String = line.chars().take(PROGRESS_MAX_CHARS).collect();
    {
        let mut last = LAST_PROGRESS.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        if last
            .get(&scope.run)
            .is_some_and(|at| now.duration_since(*at) < PROGRESS_EVERY)
        {
            return Ok(json!({ "shown": false, "note": "one status line a second at most" }));
        }
        last.insert(scope.run, now);
    }
    ctx.append(scope.run, corral_core::RunEventBody::Progress { text })
        .await?;
    Ok(json!({ "shown": true }))
}
