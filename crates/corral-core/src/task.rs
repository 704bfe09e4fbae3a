//! A task: a prompt (or command line) to run, with dependencies on other tasks of its project.
//! Its status is never stored; it is derived from its latest run and its place in the graph.

use serde::{Deserialize, Serialize};

use crate::graph::{NodeProgress, Readiness};
use crate::ids::{ProjectId, RunId, TaskId};
use crate::run::RunState;
use crate::runtime::Runtime;
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub project_id: ProjectId,
    pub title: String,
    pub prompt: String,
    /// Overrides the project's default runtime when set.
    pub runtime: Option<Runtime>,
    /// Overrides the project's default model when set.
    pub model: Option<String>,
    /// The argument vector for the `custom` runtime.
    pub command: Option<Vec<String>>,
    pub kind: TaskKind,
    /// The orchestrating task this is a subtask of.
    pub parent: Option<TaskId>,
    pub created_by: CreatedBy,
    pub approval: Approval,
    pub max_attempts: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Whether a task may run. A task an agent created with `agent-tasks=propose` waits for a
/// person to approve it; a rejected one never runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    #[default]
    Approved,
    Proposed,
    Rejected,
}

impl Approval {
    pub fn as_str(&self) -> &'static str {
        match self {
            Approval::Approved => "approved",
            Approval::Proposed => "proposed",
            Approval::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Approval> {
        match s {
            "approved" => Some(Approval::Approved),
            "proposed" => Some(Approval::Proposed),
            "rejected" => Some(Approval::Rejected),
            _ => None,
        }
    }
}

/// What lists show of a task: everything but the prompt and command line, which can be large
/// (up to 1 MiB each) and are loaded only for the task being looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSummary {
    pub id: TaskId,
    pub project_id: ProjectId,
    pub title: String,
    pub runtime: Option<Runtime>,
    pub model: Option<String>,
    pub kind: TaskKind,
    pub created_by: CreatedBy,
    pub approval: Approval,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The orchestrate task it is a subtask of.
    pub parent: Option<TaskId>,
}

impl From<&Task> for TaskSummary {
    fn from(t: &Task) -> Self {
        TaskSummary {
            id: t.id,
            project_id: t.project_id,
            title: t.title.clone(),
            runtime: t.runtime,
            model: t.model.clone(),
            kind: t.kind,
            created_by: t.created_by,
            approval: t.approval,
            created_at: t.created_at,
            updated_at: t.updated_at,
            parent: t.parent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    #[default]
    Work,
    /// An agent that splits its goal into subtasks and waits for them.
    Orchestrate,
}

impl TaskKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskKind::Work => "work",
            TaskKind::Orchestrate => "orchestrate",
        }
    }

    pub fn parse(s: &str) -> Option<TaskKind> {
        match s {
            "work" => Some(TaskKind::Work),
            "orchestrate" => Some(TaskKind::Orchestrate),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreatedBy {
    #[default]
    Human,
    /// Created by an agent through Corral's MCP server during this run.
    Run(RunId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Created by an agent; waits for a person to approve it before it can run.
    Proposed,
    /// Created by an agent and rejected by a person: it never runs.
    Rejected,
    /// Not started; waiting for dependencies to finish.
    Backlog,
    /// Not started; every dependency succeeded.
    Ready,
    /// Not started; an upstream task failed or was cancelled.
    Blocked,
    Running,
    NeedsInput,
    /// The latest run succeeded; its result awaits review and merge.
    Review,
    Done,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 11] = [
        TaskStatus::Proposed,
        TaskStatus::Rejected,
        TaskStatus::Backlog,
        TaskStatus::Ready,
        TaskStatus::Blocked,
        TaskStatus::Running,
        TaskStatus::NeedsInput,
        TaskStatus::Review,
        TaskStatus::Done,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Proposed => "proposed",
            TaskStatus::Rejected => "rejected",
            TaskStatus::Backlog => "backlog",
            TaskStatus::Ready => "ready",
            TaskStatus::Blocked => "blocked",
            TaskStatus::Running => "running",
            TaskStatus::NeedsInput => "needs_input",
            TaskStatus::Review => "review",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// A task's status: waiting for (or refused) a person's approval while it never ran,
    /// otherwise as `derive` says.
    pub fn of(
        approval: Approval,
        latest_run: Option<&RunState>,
        merged: bool,
        readiness: Option<Readiness>,
    ) -> TaskStatus {
        match (approval, latest_run) {
            (Approval::Proposed, None) => TaskStatus::Proposed,
            (Approval::Rejected, None) => TaskStatus::Rejected,
            _ => TaskStatus::derive(latest_run, merged, readiness),
        }
    }

    /// A task's status from its latest run (and whether its result was merged), or (never run)
    /// from its readiness in the graph.
    pub fn derive(
        latest_run: Option<&RunState>,
        merged: bool,
        readiness: Option<Readiness>,
    ) -> TaskStatus {
        match latest_run {
            Some(RunState::Succeeded) if merged => TaskStatus::Done,
            Some(RunState::Queued | RunState::Preparing | RunState::Running)
            | Some(RunState::Verifying) => TaskStatus::Running,
            Some(RunState::WaitingInput) => TaskStatus::NeedsInput,
            Some(RunState::Succeeded) => TaskStatus::Review,
            Some(RunState::Failed { .. } | RunState::Interrupted) => TaskStatus::Failed,
            Some(RunState::Cancelled) => TaskStatus::Cancelled,
            None => match readiness {
                Some(Readiness::Ready) | None => TaskStatus::Ready,
                Some(Readiness::Waiting) => TaskStatus::Backlog,
                Some(Readiness::Blocked) => TaskStatus::Blocked,
            },
        }
    }
}

/// What the graph needs to know of a task's latest run.
pub fn node_progress(latest_run: Option<&RunState>) -> NodeProgress {
    match latest_run {
        None => NodeProgress::Open,
        Some(RunState::Succeeded) => NodeProgress::Succeeded,
        Some(RunState::Failed { .. } | RunState::Interrupted) => NodeProgress::Failed,
        Some(RunState::Cancelled) => NodeProgress::Cancelled,
        Some(_) => NodeProgress::Active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_from_runs_and_readiness() {
        assert_eq!(
            TaskStatus::derive(None, false, Some(Readiness::Ready)),
            TaskStatus::Ready
        );
        assert_eq!(
            TaskStatus::derive(None, false, Some(Readiness::Waiting)),
            TaskStatus::Backlog
        );
        assert_eq!(
            TaskStatus::derive(None, false, Some(Readiness::Blocked)),
            TaskStatus::Blocked
        );
        assert_eq!(
            TaskStatus::derive(Some(&RunState::Verifying), false, None),
            TaskStatus::Running
        );
        assert_eq!(
            TaskStatus::derive(Some(&RunState::WaitingInput), false, None),
            TaskStatus::NeedsInput
        );
        assert_eq!(
            TaskStatus::derive(Some(&RunState::Succeeded), false, None),
            TaskStatus::Review
        );
        assert_eq!(
            TaskStatus::derive(Some(&RunState::Interrupted), false, None),
            TaskStatus::Failed
        );
        assert_eq!(
            TaskStatus::derive(Some(&RunState::Cancelled), false, None),
            TaskStatus::Cancelled
        );
    }

    #[test]
    fn a_proposed_or_rejected_task_says_so_until_it_runs() {
        let ready = Some(Readiness::Ready);
        assert_eq!(
            TaskStatus::of(Approval::Proposed, None, false, ready),
            TaskStatus::Proposed
        );
        assert_eq!(
            TaskStatus::of(Approval::Rejected, None, false, ready),
            TaskStatus::Rejected
        );
        assert_eq!(
            TaskStatus::of(Approval::Approved, None, false, ready),
            TaskStatus::Ready
        );
        assert_eq!(
            TaskStatus::of(Approval::Proposed, Some(&RunState::Running), false, ready),
            TaskStatus::Running
        );
        for a in [Approval::Approved, Approval::Proposed, Approval::Rejected] {
            assert_eq!(Approval::parse(a.as_str()), Some(a));
        }
    }

    #[test]
    fn progress_matches_status() {
        assert_eq!(node_progress(None), NodeProgress::Open);
        assert_eq!(
            node_progress(Some(&RunState::Running)),
            NodeProgress::Active
        );
        assert_eq!(
            node_progress(Some(&RunState::Succeeded)),
            NodeProgress::Succeeded
        );
        assert_eq!(
            node_progress(Some(&RunState::Failed {
                reason: crate::FailReason::new(crate::FailKind::Internal, "x")
            })),
            NodeProgress::Failed
        );
    }
}
