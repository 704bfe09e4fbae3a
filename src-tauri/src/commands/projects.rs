//! Project commands.

use corral_core::ProjectId;
use corral_engine::ProjectUpdate;
use tauri::State;

use super::parse_id;
use crate::dto::{ProjectDto, WorkflowDto};
use crate::error::ApiResult;
use crate::state::{AppState, guarded};

#[tauri::command]
#[specta::specta]
pub async fn list_projects(state: State<'_, AppState>) -> ApiResult<Vec<ProjectDto>> {
    let engine = state.engine()?;
    guarded(async move {
        Ok(engine
            .list_projects()
            .await?
            .iter()
            .map(ProjectDto::from)
            .collect())
    })
    .await
}

/// Adds a project from a local repository path or a git URL.
#[tauri::command]
#[specta::specta]
pub async fn add_project(
    state: State<'_, AppState>,
    source: String,
    name: Option<String>,
) -> ApiResult<ProjectDto> {
    let engine = state.engine()?;
    guarded(async move {
        let name = name.filter(|n| !n.trim().is_empty());
        Ok(ProjectDto::from(
            &engine.add_project(&source, name.as_deref()).await?,
        ))
    })
    .await
}

/// Renames a project and replaces its workflow settings.
#[tauri::command]
#[specta::specta]
pub async fn update_project(
    state: State<'_, AppState>,
    id: String,
    name: String,
    workflow: WorkflowDto,
) -> ApiResult<ProjectDto> {
    let engine = state.engine()?;
    let id: ProjectId = parse_id("project", &id)?;
    guarded(async move {
        let update = ProjectUpdate {
            name: Some(name),
            workflow: Some(workflow.into_workflow()),
            path: None,
        };
        Ok(ProjectDto::from(&engine.update_project(id, update).await?))
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn remove_project(state: State<'_, AppState>, id: String) -> ApiResult<()> {
    let engine = state.engine()?;
    let id: ProjectId = parse_id("project", &id)?;
    guarded(async move {
        engine.remove_project(id).await?;
        Ok(())
    })
    .await
}
