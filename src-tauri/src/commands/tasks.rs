//! Task and dependency commands.

use corral_core::{ProjectId, TaskId};
use corral_engine::{NewTask, TaskUpdate};
use tauri::State;

use super::parse_id;
use crate::dto::{NewTaskDto, OrchestrationDto, TaskCardDto, TaskDto, TaskEditDto};
use crate::error::ApiResult;
use crate::state::{AppState, guarded};

/// The board: every task of a project, without prompts.
#[tauri::command]
#[specta::specta]
pub async fn list_tasks(
    state: State<'_, AppState>,
    project_id: String,
) -> ApiResult<Vec<TaskCardDto>> {
    let engine = state.engine()?;
    let project: ProjectId = parse_id("project", &project_id)?;
    guarded(async move {
        engine.project(project).await?;
        Ok(engine
            .list_task_summaries(Some(project))
            .await?
            .iter()
            .map(TaskCardDto::from)
            .collect())
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn get_task(state: State<'_, AppState>, id: String) -> ApiResult<TaskDto> {
    let engine = state.engine()?;
    let id: TaskId = parse_id("task", &id)?;
    guarded(async move { Ok(TaskDto::from(&engine.task(id).await?)) }).await
}

/// An orchestrate task's page: its newest run, tokens used and budget, its conversation.
#[tauri::command]
#[specta::specta]
pub async fn get_orchestration(
    state: State<'_, AppState>,
    id: String,
) -> ApiResult<OrchestrationDto> {
    let engine = state.engine()?;
    let id: TaskId = parse_id("task", &id)?;
    guarded(async move { Ok(OrchestrationDto::from(&engine.orchestration(id).await?)) }).await
}

#[tauri::command]
#[specta::specta]
pub async fn create_task(state: State<'_, AppState>, task: NewTaskDto) -> ApiResult<TaskDto> {
    let engine = state.engine()?;
    let project_id: ProjectId = parse_id("project", &task.project_id)?;
    let after = task
        .after
        .iter()
        .map(|a| parse_id("task", a))
        .collect::<Result<Vec<TaskId>, _>>()?;
    guarded(async move {
        let new = NewTask {
            project_id,
            title: task.title,
            prompt: task.prompt,
            runtime: task.runtime.map(Into::into),
            model: task.model,
            command: task.command,
            after,
            kind: task.kind.into(),
            ..Default::default()
        };
        Ok(TaskDto::from(&engine.create_task(new).await?))
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn update_task(
    state: State<'_, AppState>,
    id: String,
    edit: TaskEditDto,
) -> ApiResult<TaskDto> {
    let engine = state.engine()?;
    let id: TaskId = parse_id("task", &id)?;
    guarded(async move {
        let update = TaskUpdate {
            title: Some(edit.title),
            prompt: Some(edit.prompt),
            runtime: Some(edit.runtime.map(Into::into)),
            model: Some(edit.model),
            command: Some(edit.command),
            ..Default::default()
        };
        Ok(TaskDto::from(&engine.update_task(id, update).await?))
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_task(state: State<'_, AppState>, id: String) -> ApiResult<()> {
    let engine = state.engine()?;
    let id: TaskId = parse_id("task", &id)?;
    guarded(async move {
        engine.delete_task(id).await?;
        Ok(())
    })
    .await
}

/// Makes `task_id` run after `after_id`; a cycle is refused with the tasks that would form it.
#[tauri::command]
#[specta::specta]
pub async fn add_dependency(
    state: State<'_, AppState>,
    task_id: String,
    after_id: String,
) -> ApiResult<TaskDto> {
    let engine = state.engine()?;
    let task: TaskId = parse_id("task", &task_id)?;
    let after: TaskId = parse_id("task", &after_id)?;
    guarded(async move { Ok(TaskDto::from(&engine.add_dependency(task, after).await?)) }).await
}

#[tauri::command]
#[specta::specta]
pub async fn remove_dependency(
    state: State<'_, AppState>,
    task_id: String,
    after_id: String,
) -> ApiResult<TaskDto> {
    let engine = state.engine()?;
    let task: TaskId = parse_id("task", &task_id)?;
    let after: TaskId = parse_id("task", &after_id)?;
    guarded(async move { Ok(TaskDto::from(&engine.remove_dependency(task, after).await?)) }).await
}
