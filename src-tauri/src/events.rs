//! Engine events forwarded to the window as one typed tauri-specta event.

use std::sync::Arc;

use corral_core::RunState;
use corral_engine::{AnsweredFrom, Engine, EngineEvent};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::AppHandle;
use tauri_specta::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::dto::{ProjectDto, TaskDto};
use crate::notify;
use crate::question_notice::{self, NoticeAction};

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
    /// What waits on the user changed (a question asked, answered or cancelled; a task
    /// proposed or decided): `count` things wait now.
    InboxChanged {
        count: u32,
    },
    /// The user picked "N need you" in the tray menu: show the inbox.
    OpenInbox,
    /// The user clicked a question's notification: show it in the inbox.
    OpenQuestion {
        request_id: String,
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
        EngineEvent::InboxChanged { .. } => CorralEvent::InboxChanged { count: 0 },
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
    // A consult run's end is its asker's business (its log says so).
    if run.consult.is_some() {
        return;
    }
    let body = match &run.state {
        RunState::Succeeded => format!("Run {} succeeded", run.attempt),
        RunState::Failed { reason } => format!("Run {} failed: {reason}", run.attempt),
        RunState::Interrupted => format!("Run {} was interrupted", run.attempt),
        _ => return,
    };
    notify::send(app, "Corral", &body).await;
}

/// A system notification when an agent asks the user something.
async fn notify_question(app: &AppHandle, engine: &Arc<Engine>, event: &EngineEvent) {
    let EngineEvent::InboxChanged { request } = event else {
        return;
    };
    // A subtask's question goes to its orchestrator first: the person hears of it once it is
    // passed on (that publishes it again, unrouted).
    if request.state != corral_core::RequestState::Pending || request.routed_to.is_some() {
        return;
    }
    let title = match engine.task(request.task_id).await {
        Ok(task) => format!("{} asks", task.task.title),
        Err(_) => "An agent asks".to_string(),
    };
    // The notification waits for a click or a button: off the loop that forwards events.
    let (app, engine, request) = (app.clone(), engine.clone(), request.clone());
    tauri::async_runtime::spawn(async move {
        let actions = question_notice::actions(&request.ask);
        let Some(key) =
            notify::send_with_actions(&app, &title, request.ask.headline(), actions).await
        else {
            return;
        };
        match question_notice::action(&request.ask, &key) {
            Some(NoticeAction::Open) => {
                crate::tray::show_main_window(&app);
                let open = CorralEvent::OpenQuestion {
                    request_id: request.id.to_string(),
                };
                if let Err(err) = open.emit(&app) {
                    tracing::warn!(error = %err, "could not open the question from its notification");
                }
            }
            Some(NoticeAction::Answer(answer)) => {
                if let Err(err) = engine
                    .answer_question(request.id, answer, AnsweredFrom::Notification)
                    .await
                {
                    // Answered elsewhere meanwhile, say: the window shows how it stands.
                    tracing::warn!(error = %err, "the answer from the notification was refused");
                }
            }
            None => tracing::warn!(key, "a notification action Corral did not offer"),
        }
    });
}

/// Whether the event may change what waits on the user (the tray's count, the inbox).
fn touches_inbox(event: &EngineEvent) -> bool {
    matches!(
        event,
        EngineEvent::InboxChanged { .. }
            | EngineEvent::TaskCreated { .. }
            | EngineEvent::TaskUpdated { .. }
            | EngineEvent::TaskDeleted { .. }
            | EngineEvent::RunUpdated { .. }
    )
}

/// Forwards every engine event to the window until the engine's bus closes.
pub fn forward(app: AppHandle, engine: &Arc<Engine>) {
    let mut events = engine.subscribe();
    let engine = engine.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => {
                    let need_you = if touches_inbox(&event) {
                        engine.inbox_count().await.ok()
                    } else {
                        None
                    };
                    if let Some(need_you) = need_you
                        && let Ok(live) = engine.live_runs().await
                    {
                        crate::tray::show_runs(&app, &live, need_you);
                    }
                    notify_run_end(&app, &event).await;
                    notify_question(&app, &engine, &event).await;
                    match (convert(event), need_you) {
                        (CorralEvent::InboxChanged { .. }, Some(count)) => {
                            CorralEvent::InboxChanged {
                                count: u32::try_from(count).unwrap_or(u32::MAX),
                            }
                        }
                        (converted, _) => converted,
                    }
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
