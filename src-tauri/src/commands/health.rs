//! The doctor checks.

use tauri::State;

use crate::dto::CheckDto;
use crate::error::ApiResult;
use crate::state::{AppState, guarded};

#[tauri::command]
#[specta::specta]
pub async fn doctor(state: State<'_, AppState>) -> ApiResult<Vec<CheckDto>> {
    let engine = state.engine()?;
    guarded(async move { Ok(engine.doctor().await.iter().map(CheckDto::from).collect()) }).await
}
