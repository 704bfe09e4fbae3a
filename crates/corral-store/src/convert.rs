//! Row <-> domain conversions. A row that does not convert is reported as corrupt, naming the
//! table and the problem, instead of panicking.

use corral_core::{
    Approval, CreatedBy, FollowUp, Project, ProjectId, RepoSource, Run, RunId, RunState, Runtime,
    Task, TaskId, TaskKind, TaskSummary, Timestamp, Workflow,
};

use crate::entity::{projects, runs, tasks};
use crate::error::{StoreError, StoreResult};

pub(crate) fn id<T: std::str::FromStr>(what: &'static str, s: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| StoreError::corrupt(what, e))
}

pub(crate) fn opt_id<T: std::str::FromStr>(
    what: &'static str,
    s: Option<&str>,
) -> StoreResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    s.map(|s| id(what, s)).transpose()
}

pub(crate) fn to_json<T: serde::Serialize>(what: &'static str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt(what, e))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    s: &str,
) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(what, e))
}

pub(crate) fn project_from_row(row: projects::Model) -> StoreResult<Project> {
    Ok(Project {
        id: id::<ProjectId>("project id", &row.id)?,
        name: row.name,
        source: from_json::<RepoSource>("project source", &row.source_json)?,
        default_branch: row.default_branch,
        workflow: from_json::<Workflow>("project workflow", &row.workflow_json)?,
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

pub(crate) fn project_to_row(p: &Project) -> StoreResult<projects::Model> {
    Ok(projects::Model {
        id: p.id.to_string(),
        name: p.name.clone(),
        source_json: to_json("project source", &p.source)?,
        default_branch: p.default_branch.clone(),
        workflow_json: to_json("project workflow", &p.workflow)?,
        created_at: p.created_at.0,
        updated_at: p.updated_at.0,
    })
}

pub(crate) fn task_from_row(row: tasks::Model) -> StoreResult<Task> {
    Ok(Task {
        id: id::<TaskId>("task id", &row.id)?,
        project_id: id::<ProjectId>("task project id", &row.project_id)?,
        title: row.title,
        prompt: row.prompt,
        runtime: row
            .runtime
            .as_deref()
            .map(|r| {
                r.parse::<Runtime>()
                    .map_err(|e| StoreError::corrupt("task runtime", e))
            })
            .transpose()?,
        model: row.model,
        command: row
            .command_json
            .as_deref()
            .map(|c| from_json("task command", c))
            .transpose()?,
        kind: TaskKind::parse(&row.kind)
            .ok_or_else(|| StoreError::corrupt("task kind", &row.kind))?,
        parent: opt_id::<TaskId>("task parent id", row.parent_id.as_deref())?,
        created_by: match opt_id::<RunId>("task creator run id", row.created_by_run.as_deref())? {
            Some(run) => CreatedBy::Run(run),
            None => CreatedBy::Human,
        },
        approval: Approval::parse(&row.approval)
            .ok_or_else(|| StoreError::corrupt("task approval", &row.approval))?,
        max_attempts: u32::try_from(row.max_attempts)
            .map_err(|e| StoreError::corrupt("task max attempts", e))?,
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

pub(crate) type SummaryRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<String>,
);

pub(crate) fn summary_from_row(row: SummaryRow) -> StoreResult<TaskSummary> {
    let (
        task_id,
        project_id,
        title,
        runtime,
        model,
        kind,
        created_by_run,
        approval,
        created_at,
        updated_at,
        parent_id,
    ) = row;
    Ok(TaskSummary {
        id: id::<TaskId>("task id", &task_id)?,
        project_id: id::<ProjectId>("task project id", &project_id)?,
        title,
        runtime: runtime
            .as_deref()
            .map(|r| {
                r.parse::<Runtime>()
                    .map_err(|e| StoreError::corrupt("task runtime", e))
            })
            .transpose()?,
        model,
        kind: TaskKind::parse(&kind).ok_or_else(|| StoreError::corrupt("task kind", &kind))?,
        created_by: match opt_id::<RunId>("task creator run id", created_by_run.as_deref())? {
            Some(run) => CreatedBy::Run(run),
            None => CreatedBy::Human,
        },
        approval: Approval::parse(&approval)
            .ok_or_else(|| StoreError::corrupt("task approval", &approval))?,
        created_at: Timestamp(created_at),
        updated_at: Timestamp(updated_at),
        parent: opt_id::<TaskId>("task parent id", parent_id.as_deref())?,
    })
}

pub(crate) fn task_to_row(t: &Task) -> StoreResult<tasks::Model> {
    Ok(tasks::Model {
        id: t.id.to_string(),
        project_id: t.project_id.to_string(),
        title: t.title.clone(),
        prompt: t.prompt.clone(),
        runtime: t.runtime.map(|r| r.as_str().to_string()),
        model: t.model.clone(),
        command_json: t
            .command
            .as_ref()
            .map(|c| to_json("task command", c))
            .transpose()?,
        kind: t.kind.as_str().to_string(),
        parent_id: t.parent.map(|p| p.to_string()),
        created_by_run: match t.created_by {
            CreatedBy::Human => None,
            CreatedBy::Run(run) => Some(run.to_string()),
        },
        approval: t.approval.as_str().to_string(),
        idempotency_key: None,
        max_attempts: i32::try_from(t.max_attempts)
            .map_err(|e| StoreError::corrupt("task max attempts", e))?,
        created_at: t.created_at.0,
        updated_at: t.updated_at.0,
    })
}

pub(crate) fn run_state(
    state: &str,
    fail_kind: Option<&str>,
    reason: Option<&str>,
) -> StoreResult<RunState> {
    RunState::from_parts(state, fail_kind, reason)
        .ok_or_else(|| StoreError::corrupt("run state", state))
}

pub(crate) fn run_from_row(row: runs::Model) -> StoreResult<Run> {
    Ok(Run {
        id: id::<RunId>("run id", &row.id)?,
        task_id: id::<TaskId>("run task id", &row.task_id)?,
        project_id: id::<ProjectId>("run project id", &row.project_id)?,
        attempt: u32::try_from(row.attempt).map_err(|e| StoreError::corrupt("run attempt", e))?,
        state: run_state(
            &row.state,
            row.fail_kind.as_deref(),
            row.fail_reason.as_deref(),
        )?,
        container_id: row.container_id,
        checkout_path: row.checkout_path,
        branch: row.branch,
        base_commit: row.base_commit,
        result_commit: row.result_commit,
        exit_code: row.exit_code,
        agent_session_id: row.agent_session_id,
        input_tokens: row.input_tokens,
        output_tokens: row.output_tokens,
        created_at: Timestamp(row.created_at),
        started_at: row.started_at.map(Timestamp),
        finished_at: row.finished_at.map(Timestamp),
        merged_commit: row.merged_commit,
        follow_up: match (row.follow_up_of, row.follow_up_message) {
            (Some(of), Some(message)) => Some(FollowUp {
                of: id::<RunId>("follow-up run id", &of)?,
                message,
            }),
            _ => None,
        },
        consult: row
            .consult_json
            .as_deref()
            .map(|json| from_json("consult", json))
            .transpose()?,
        verify_attempt: u32::try_from(row.verify_attempt)
            .map_err(|e| StoreError::corrupt("run verify attempt", e))?,
        checks: row
            .checks_json
            .as_deref()
            .map(|json| from_json("run checks", json))
            .transpose()?
            .unwrap_or_default(),
        dismissed_at: row.dismissed_at.map(Timestamp),
    })
}

pub(crate) fn run_to_row(r: &Run) -> StoreResult<runs::Model> {
    Ok(runs::Model {
        id: r.id.to_string(),
        task_id: r.task_id.to_string(),
        project_id: r.project_id.to_string(),
        attempt: i32::try_from(r.attempt).map_err(|e| StoreError::corrupt("run attempt", e))?,
        state: r.state.name().to_string(),
        fail_reason: r.state.failure().map(|f| f.message.clone()),
        fail_kind: r.state.failure().map(|f| f.kind.as_str().to_string()),
        container_id: r.container_id.clone(),
        checkout_path: r.checkout_path.clone(),
        branch: r.branch.clone(),
        base_commit: r.base_commit.clone(),
        result_commit: r.result_commit.clone(),
        exit_code: r.exit_code,
        agent_session_id: r.agent_session_id.clone(),
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        created_at: r.created_at.0,
        started_at: r.started_at.map(|t| t.0),
        finished_at: r.finished_at.map(|t| t.0),
        merged_commit: r.merged_commit.clone(),
        follow_up_of: r.follow_up.as_ref().map(|f| f.of.to_string()),
        follow_up_message: r.follow_up.as_ref().map(|f| f.message.clone()),
        consult_of: r.consult.as_ref().map(|c| c.of.to_string()),
        consult_json: r
            .consult
            .as_ref()
            .map(|c| to_json("consult", c))
            .transpose()?,
        verify_attempt: i32::try_from(r.verify_attempt)
            .map_err(|e| StoreError::corrupt("run verify attempt", e))?,
        checks_json: (!r.checks.is_empty())
            .then(|| to_json("run checks", &r.checks))
            .transpose()?,
        dismissed_at: r.dismissed_at.map(|t| t.0),
    })
}
