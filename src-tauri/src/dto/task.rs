//! Tasks: cards on the board, the full task, new tasks and edits.

use corral_core::{CreatedBy, Task, TaskStatus, TaskSummary};
use corral_engine::{Overlap, TaskView};

use super::RuntimeDto;
use serde::{Deserialize, Serialize};
use specta::Type;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatusDto {
    /// An agent created it; it waits for a person's approval.
    Proposed,
    /// An agent created it and a person rejected it.
    Rejected,
    Backlog,
    Ready,
    Blocked,
    Running,
    NeedsInput,
    Review,
    Done,
    Failed,
    Cancelled,
}

impl From<TaskStatus> for TaskStatusDto {
    fn from(s: TaskStatus) -> Self {
        match s {
            TaskStatus::Proposed => TaskStatusDto::Proposed,
            TaskStatus::Rejected => TaskStatusDto::Rejected,
            TaskStatus::Backlog => TaskStatusDto::Backlog,
            TaskStatus::Ready => TaskStatusDto::Ready,
            TaskStatus::Blocked => TaskStatusDto::Blocked,
            TaskStatus::Running => TaskStatusDto::Running,
            TaskStatus::NeedsInput => TaskStatusDto::NeedsInput,
            TaskStatus::Review => TaskStatusDto::Review,
            TaskStatus::Done => TaskStatusDto::Done,
            TaskStatus::Failed => TaskStatusDto::Failed,
            TaskStatus::Cancelled => TaskStatusDto::Cancelled,
        }
    }
}

/// A task as the board shows it: no prompt.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct TaskCardDto {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub runtime: Option<RuntimeDto>,
    pub model: Option<String>,
    pub status: TaskStatusDto,
    pub depends_on: Vec<String>,
    pub dependents: Vec<String>,
    /// Tasks it runs after with newer work than its latest run started from.
    pub stale_after: Vec<String>,
    /// Paths its latest run changed that another live run changed too.
    pub overlaps: Vec<OverlapDto>,
    /// The run whose agent created it; `None` when a person did.
    pub created_by_run: Option<String>,
    /// The latest status line its latest run's agent reported.
    pub progress: Option<String>,
    /// Its latest run's checks, as badges.
    pub checks: Vec<CheckBadgeDto>,
    /// An orchestrate task's subtasks that succeeded, and all of them (0 and 0: none).
    pub subtasks_done: u32,
    pub subtasks_total: u32,
    pub kind: TaskKindDto,
    /// The orchestrate task it is a subtask of.
    pub parent: Option<String>,
}

fn badges(checks: &[corral_core::CheckResult]) -> Vec<CheckBadgeDto> {
    checks
        .iter()
        .map(|c| CheckBadgeDto {
            name: c.name.clone(),
            outcome: c.outcome,
            how: c.how(),
        })
        .collect()
}

/// One check of a task's latest run, as its card shows it.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct CheckBadgeDto {
    pub name: String,
    pub outcome: corral_core::CheckOutcome,
    /// "exited with 2", "passed", ...
    pub how: String,
}

fn created_by_run(by: CreatedBy) -> Option<String> {
    match by {
        CreatedBy::Human => None,
        CreatedBy::Run(run) => Some(run.to_string()),
    }
}

/// A path another run (of `task_id`) changed while both runs were live.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct OverlapDto {
    pub run_id: String,
    pub task_id: String,
    pub path: String,
}

fn overlaps(v: &[Overlap]) -> Vec<OverlapDto> {
    v.iter()
        .map(|o| OverlapDto {
            run_id: o.run.to_string(),
            task_id: o.task.to_string(),
            path: o.path.clone(),
        })
        .collect()
}

impl From<&TaskView<TaskSummary>> for TaskCardDto {
    fn from(v: &TaskView<TaskSummary>) -> Self {
        TaskCardDto {
            id: v.task.id.to_string(),
            project_id: v.task.project_id.to_string(),
            title: v.task.title.clone(),
            runtime: v.task.runtime.map(Into::into),
            model: v.task.model.clone(),
            status: v.status.into(),
            depends_on: v.depends_on.iter().map(ToString::to_string).collect(),
            dependents: v.dependents.iter().map(ToString::to_string).collect(),
            stale_after: v.stale_after.iter().map(ToString::to_string).collect(),
            overlaps: overlaps(&v.overlaps),
            created_by_run: created_by_run(v.task.created_by),
            progress: v.progress.clone(),
            checks: badges(&v.checks),
            subtasks_done: v.subtask_progress.map_or(0, |p| p.0),
            subtasks_total: v.subtask_progress.map_or(0, |p| p.1),
            kind: v.task.kind.into(),
            parent: v.task.parent.map(|p| p.to_string()),
        }
    }
}

/// A task in full, for its detail view and edit form.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct TaskDto {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub prompt: String,
    pub runtime: Option<RuntimeDto>,
    pub model: Option<String>,
    pub command: Option<Vec<String>>,
    pub max_attempts: u32,
    pub status: TaskStatusDto,
    pub depends_on: Vec<String>,
    pub dependents: Vec<String>,
    /// Tasks it runs after with newer work than its latest run started from.
    pub stale_after: Vec<String>,
    /// Paths its latest run changed that another live run changed too.
    pub overlaps: Vec<OverlapDto>,
    /// The run whose agent created it; `None` when a person did.
    pub created_by_run: Option<String>,
    /// The latest status line its latest run's agent reported.
    pub progress: Option<String>,
    /// Its latest run's checks, as badges.
    pub checks: Vec<CheckBadgeDto>,
    pub kind: TaskKindDto,
    /// The orchestrate task it is a subtask of.
    pub parent: Option<String>,
    pub created_at: f64,
    pub updated_at: f64,
}

impl From<&TaskView<Task>> for TaskDto {
    fn from(v: &TaskView<Task>) -> Self {
        let t = &v.task;
        TaskDto {
            id: t.id.to_string(),
            project_id: t.project_id.to_string(),
            title: t.title.clone(),
            prompt: t.prompt.clone(),
            runtime: t.runtime.map(Into::into),
            model: t.model.clone(),
            command: t.command.clone(),
            max_attempts: t.max_attempts,
            status: v.status.into(),
            depends_on: v.depends_on.iter().map(ToString::to_string).collect(),
            dependents: v.dependents.iter().map(ToString::to_string).collect(),
            stale_after: v.stale_after.iter().map(ToString::to_string).collect(),
            overlaps: overlaps(&v.overlaps),
            created_by_run: created_by_run(t.created_by),
            progress: v.progress.clone(),
            checks: badges(&v.checks),
            kind: t.kind.into(),
            parent: t.parent.map(|p| p.to_string()),
            created_at: t.created_at.0 as f64,
            updated_at: t.updated_at.0 as f64,
        }
    }
}

/// What the create-task dialog sends.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct NewTaskDto {
    pub project_id: String,
    pub title: String,
    pub prompt: String,
    pub runtime: Option<RuntimeDto>,
    pub model: Option<String>,
    /// The argument vector of a `custom` task (giving one makes the task `custom`).
    pub command: Option<Vec<String>>,
    /// Ids of tasks the new task runs after.
    pub after: Vec<String>,
    /// `orchestrate`: its agent splits the prompt's goal into subtasks.
    pub kind: TaskKindDto,
}

/// What a task is: work, or an orchestrator that splits its goal into subtasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum TaskKindDto {
    Work,
    Orchestrate,
}

impl From<corral_core::TaskKind> for TaskKindDto {
    fn from(k: corral_core::TaskKind) -> Self {
        match k {
            corral_core::TaskKind::Work => TaskKindDto::Work,
            corral_core::TaskKind::Orchestrate => TaskKindDto::Orchestrate,
        }
    }
}

impl From<TaskKindDto> for corral_core::TaskKind {
    fn from(k: TaskKindDto) -> Self {
        match k {
            TaskKindDto::Work => corral_core::TaskKind::Work,
            TaskKindDto::Orchestrate => corral_core::TaskKind::Orchestrate,
        }
    }
}

/// What the edit dialog sends: every editable field, always (no optional-by-accident fields).
/// `runtime` and `model` are `null` for "the project's default".
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct TaskEditDto {
    pub title: String,
    pub prompt: String,
    pub runtime: Option<RuntimeDto>,
    pub model: Option<String>,
    /// The argument vector of a `custom` task; `null` for an agent task.
    pub command: Option<Vec<String>>,
}

/// Where a project's graph run stands, for the graph view's toolbar.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct GraphRunDto {
    pub project_id: String,
    /// A graph run (Run all) is in progress.
    pub running: bool,
    /// The project keeps its graph running (`auto-run=on`).
    pub auto_run: bool,
    /// Tasks that succeeded and wait to be merged before the tasks after them start
    /// (`chain-on=merge`).
    pub awaiting_merge: Vec<String>,
}
