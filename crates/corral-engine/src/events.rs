//! `EngineEvent`: everything that changes, broadcast to every front end (window, CLI, tray).

use corral_core::{InputRequest, Project, ProjectId, Run, RunId, TaskId};

use crate::views::TaskView;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    ProjectAdded {
        project: Project,
    },
    ProjectUpdated {
        project: Project,
    },
    ProjectRemoved {
        id: ProjectId,
    },
    TaskCreated {
        task: TaskView,
    },
    TaskUpdated {
        task: TaskView,
    },
    TaskDeleted {
        id: TaskId,
        project_id: ProjectId,
    },
    /// `task` now runs after `after`. Other tasks' statuses may have changed with it.
    DependencyAdded {
        project_id: ProjectId,
        task: TaskId,
        after: TaskId,
    },
    DependencyRemoved {
        project_id: ProjectId,
        task: TaskId,
        after: TaskId,
    },
    /// A run was created or changed (state, container, branch, result).
    RunUpdated {
        run: Run,
    },
    /// The project's graph run started or ended (or was stopped).
    GraphRunChanged {
        project_id: ProjectId,
        running: bool,
    },
    /// What waits on a person changed: an agent asked a question, or one was answered or
    /// cancelled (proposed tasks come and go with `TaskCreated` / `TaskUpdated`).
    InboxChanged {
        request: InputRequest,
    },
    /// Files of a live run's checkout changed; `changed` files now differ from its base.
    FilesChanged {
        run_id: RunId,
        task_id: TaskId,
        project_id: ProjectId,
        changed: usize,
    },
}
