//! App settings and the test notification.

use tauri::{AppHandle, State};

use crate::dto::{SettingsDto, ThemeDto};
use crate::error::ApiResult;
use crate::notify;
use crate::state::{AppState, guarded};

#[tauri::command]
#[specta::specta]
pub async fn get_settings(state: State<'_, AppState>) -> ApiResult<SettingsDto> {
    let engine = state.engine()?;
    guarded(async move {
        let settings = engine.settings().await?;
        Ok(SettingsDto {
            theme: ThemeDto::parse(
                settings
                    .get("theme")
                    .map(String::as_str)
                    .unwrap_or("system"),
            ),
            data_dir: engine.config().data_dir.display().to_string(),
        })
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn set_theme(state: State<'_, AppState>, theme: ThemeDto) -> ApiResult<()> {
    let engine = state.engine()?;
    guarded(async move { Ok(engine.set_setting("theme", theme.as_str()).await?) }).await
}

/// Sends a notification so the user can see that notifications reach them. Returns whether a
/// notification service answered (without one, nothing is shown; the app keeps working).
#[tauri::command]
#[specta::specta]
pub async fn send_test_notification(app: AppHandle) -> ApiResult<bool> {
    Ok(notify::send(
        &app,
        "Corral",
        "Notifications work: you will hear about finished runs here.",
    )
    .await)
}
