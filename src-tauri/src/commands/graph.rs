//! Graph run commands: Run all, Stop, and where the graph run stands.

use corral_core::{ProjectId, Timestamp};
use corral_engine::Engine;
use tauri::State;

use super::parse_id;
use crate::dto::GraphRunDto;
use crate::error::ApiResult;
use crate::state::{AppState, guarded};

async fn graph_run_dto(
    engine: &Engine,
    project: ProjectId,
) -> corral_engine::EngineResult<GraphRunDto> {
    let workflow = engine.project(project).await?.workflow;
    let since = engine.graph_running_since(project).await?;
    // Without a graph run, the step an always-on graph (auto-run) would take.
    let step = engine
        .graph_step(project, since.unwrap_or(Timestamp(i64::MIN)))
        .await?;
    Ok(GraphRunDto {
        project_id: project.to_string(),
        running: since.is_some(),
        auto_run: workflow.auto_run,
        awaiting_merge: step
            .awaiting_merge
            .iter()
            .map(ToString::to_string)
            .collect(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn graph_run(state: State<'_, AppState>, project_id: String) -> ApiResult<GraphRunDto> {
    let engine = state.engine()?;
    let project: ProjectId = parse_id("project", &project_id)?;
    guarded(async move { Ok(graph_run_dto(&engine, project).await?) }).await
}

/// Run all: every task not yet finished runs, each once the tasks it runs after are.
#[tauri::command]
#[specta::specta]
pub async fn run_graph(state: State<'_, AppState>, project_id: String) -> ApiResult<GraphRunDto> {
    let engine = state.engine()?;
    let project: ProjectId = parse_id("project", &project_id)?;
    guarded(async move {
        engine.run_graph(project).await?;
        Ok(graph_run_dto(&engine, project).await?)
    })
    .await
}

/// Stop: nothing new starts; live runs go on.
#[tauri::command]
#[specta::specta]
pub async fn stop_graph(state: State<'_, AppState>, project_id: String) -> ApiResult<GraphRunDto> {
    let engine = state.engine()?;
    let project: ProjectId = parse_id("project", &project_id)?;
    guarded(async move {
        engine.stop_graph(project).await?;
        Ok(graph_run_dto(&engine, project).await?)
    })
    .await
}
