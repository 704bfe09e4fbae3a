//! Engine events forwarded to the window as one typed tauri-specta event.

use std::sync::Arc;

use corral_core::RunState;
use corral_engine::{Engine, EngineEvent};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::AppHandle;
use tauri_specta::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::dto::{ProjectDto, TaskDto};
use crate::notify;

#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
#[serde(tag = "type")]
pub enum CorralEvent {
    ProjectAdded {
        project: ProjectDto,
    },
    ProjectUpdated {
        project: ProjectDto,
    },
    ProjectRemoved {
        id: String,
    },
    TaskCreated {
        task: TaskDto,
    },
    TaskUpdated {
        task: TaskDto,
    },
    TaskDeleted {
        id: String,
        project_id: String,
    },
    /// Dependencies changed: statuses of other tasks of the project may have changed too.
    DependenciesChanged {
        project_id: String,
    },
    /// A run of this task changed; its status on the board may have changed with it.
    RunChanged {
        project_id: String,
        task_id: String,
        run_id: String,
        /// The run as it is now: views update from it without reloading.
        run: crate::dto::RunDto,
    },
    /// The project's graph run (Run all) started, or ended or was stopped.
    GraphRunChanged {
        project_id: String,
        running: bool,
    },
    /// Files of a live run's checkout changed; `changed` files now differ from its base.
    FilesChanged {
        project_id: String,
        task_id: String,
        run_id: String,
        changed: u32,
    },
    /// The user picked a run in the tray menu: show it.
    OpenRun {
        run_id: String,
    },
    /// Events were missed (the window was too slow); re-read everything.
    Resync,
}

fn convert(event: EngineEvent) -> CorralEvent {
    match event {
        EngineEvent::ProjectAdded { project } => CorralEvent::ProjectAdded {
            project: (&project).into(),
        },
        EngineEvent::ProjectUpdated { project } => CorralEvent::ProjectUpdated {
            project: (&project).into(),
        },
        EngineEvent::ProjectRemoved { id } => CorralEvent::ProjectRemoved { id: id.to_string() },
        EngineEvent::TaskCreated { task } => CorralEvent::TaskCreated {
            task: (&task).into(),
        },
        EngineEvent::TaskUpdated { task } => CorralEvent::TaskUpdated {
            task: (&task).into(),
        },
        EngineEvent::TaskDeleted { id, project_id } => CorralEvent::TaskDeleted {
            id: id.to_string(),
            project_id: project_id.to_string(),
        },
        EngineEvent::RunUpdated { run } => CorralEvent::RunChanged {
            project_id: run.project_id.to_string(),
            task_id: run.task_id.to_string(),
            run_id: run.id.to_string(),
            run: (&run).into(),
        },
        EngineEvent::FilesChanged {
            run_id,
            task_id,
            project_id,
            changed,
        } => CorralEvent::FilesChanged {
            project_id: project_id.to_string(),
            task_id: task_id.to_string(),
            run_id: run_id.to_string(),
            changed: u32::try_from(changed).unwrap_or(u32::MAX),
        },
        EngineEvent::GraphRunChanged {
            project_id,
            running,
        } => CorralEvent::GraphRunChanged {
            project_id: project_id.to_string(),
            running,
        },
        EngineEvent::DependencyAdded { project_id, .. }
        | EngineEvent::DependencyRemoved { project_id, .. } => CorralEvent::DependenciesChanged {
            project_id: project_id.to_string(),
        },
    }
}

/// A system notification when a run ends: succeeded, failed (with the reason), interrupted.
async fn notify_run_end(app: &AppHandle, event: &EngineEvent) {
    let EngineEvent::RunUpdated { run } = event else {
        return;
    };
    let body = match &run.state {
        RunState::Succeeded => format!("Run {} succeeded", run.attempt),
        RunState::Failed { reason } => format!("Run {} failed: {reason}", run.attempt),
        RunState::Interrupted => format!("Run {} was interrupted", run.attempt),
        _ => return,
    };
    notify::send(app, "Corral", &body).await;
}

/// Forwards every engine event to the window until the engine's bus closes.
pub fn forward(app: AppHandle, engine: &Arc<Engine>) {
    let mut events = engine.subscribe();
    let engine = engine.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => {
                    if let EngineEvent::RunUpdated { .. } = &event
                        && let Ok(live) = engine.live_runs().await
                    {
                        crate::tray::show_runs(&app, &live);
                    }
                    notify_run_end(&app, &event).await;
                    convert(event)
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "window missed engine events; asking it to resync");
                    CorralEvent::Resync
                }
                Err(RecvError::Closed) => return,
            };
            if let Err(err) = event.emit(&app) {
                tracing::warn!(error = %err, "could not emit an event to the window");
            }
        }
    });
}
