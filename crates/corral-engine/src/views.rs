//! Read models: what front ends are given to show, derived from the stored records.

use corral_core::{RunId, Task, TaskId, TaskStatus};

/// A task (in full, or a `TaskSummary` in lists) with what is derived from the graph and its runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView<T = Task> {
    pub task: T,
    pub status: TaskStatus,
    /// Tasks this one runs after.
    pub depends_on: Vec<TaskId>,
    /// Tasks that run after this one.
    pub dependents: Vec<TaskId>,
    /// Tasks it runs after (directly or further up) that have a newer succeeded run than the
    /// one its latest run started from: that run lacks their newer work until it runs again.
    pub stale_after: Vec<TaskId>,
    /// Paths its latest run changed that another run of the project, live at the same time,
    /// changed too: a conflict to expect when both are merged.
    pub overlaps: Vec<Overlap>,
    /// The latest status line its latest run's agent reported (`report_progress`).
    pub progress: Option<String>,
    /// Its latest run's check results (of its latest verification attempt).
    pub checks: Vec<corral_core::CheckResult>,
    /// An orchestrate task's subtasks: (succeeded, in all); in listings only.
    pub subtask_progress: Option<(u32, u32)>,
}

/// A path two runs of a project changed while both were live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The other run and its task.
    pub run: RunId,
    pub task: TaskId,
    pub path: String,
}
