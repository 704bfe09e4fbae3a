//! The inbox: what waits on the user, answering agents' questions, deciding proposed tasks.

use corral_core::{RequestId, TaskId};
use corral_engine::AnsweredFrom;
use tauri::State;

use super::parse_id;
use crate::dto::{AnswerWrap, InboxItemDto, QuestionAnswerDto, TaskDto};
use crate::error::ApiResult;
use crate::state::{AppState, guarded};

/// Everything waiting on the user, across projects: questions first, then proposed tasks.
#[tauri::command]
#[specta::specta]
pub async fn inbox(state: State<'_, AppState>) -> ApiResult<Vec<InboxItemDto>> {
    let engine = state.engine()?;
    guarded(async move {
        Ok(engine
            .inbox()
            .await?
            .iter()
            .map(InboxItemDto::from)
            .collect())
    })
    .await
}

/// Answers an agent's question (one answer per question); the agent goes on with it.
#[tauri::command]
#[specta::specta]
pub async fn answer_question(
    state: State<'_, AppState>,
    id: String,
    answers: Vec<QuestionAnswerDto>,
) -> ApiResult<()> {
    let engine = state.engine()?;
    let id: RequestId = parse_id("question", &id)?;
    guarded(async move {
        let AnswerWrap(answer) = answers.into();
        engine
            .answer_question(id, answer, AnsweredFrom::App)
            .await?;
        Ok(())
    })
    .await
}

/// Lets a task an agent proposed run.
#[tauri::command]
#[specta::specta]
pub async fn approve_task(state: State<'_, AppState>, id: String) -> ApiResult<TaskDto> {
    let engine = state.engine()?;
    let id: TaskId = parse_id("task", &id)?;
    guarded(async move { Ok(TaskDto::from(&engine.approve_task(id).await?)) }).await
}

/// Refuses a task an agent proposed: it stays on record and never runs.
#[tauri::command]
#[specta::specta]
pub async fn reject_task(state: State<'_, AppState>, id: String) -> ApiResult<TaskDto> {
    let engine = state.engine()?;
    let id: TaskId = parse_id("task", &id)?;
    guarded(async move { Ok(TaskDto::from(&engine.reject_task(id).await?)) }).await
}
