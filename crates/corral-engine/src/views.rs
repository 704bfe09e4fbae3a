//! Read models: what front ends are given to show, derived from the stored records.

use corral_core::{Task, TaskId, TaskStatus};

/// A task (in full, or a `TaskSummary` in lists) with what is derived from the graph and its runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView<T = Task> {
    pub task: T,
    pub status: TaskStatus,
    /// Tasks this one runs after.
    pub depends_on: Vec<TaskId>,
    /// Tasks that run after this one.
    pub dependents: Vec<TaskId>,
}
