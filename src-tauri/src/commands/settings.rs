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

/// One API key variable an agent runtime reads and whether Corral has a value for it. The
/// value itself never crosses into the UI.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct ApiKeyDto {
    pub name: String,
    pub runtimes: Vec<crate::dto::RuntimeDto>,
    /// `keychain`, `environment`, or null when there is none.
    pub source: Option<String>,
}

#[tauri::command]
#[specta::specta]
pub async fn list_api_keys(state: State<'_, AppState>) -> ApiResult<Vec<ApiKeyDto>> {
    let engine = state.engine()?;
    guarded(async move {
        Ok(engine
            .api_keys()
            .await?
            .into_iter()
            .map(|k| ApiKeyDto {
                name: k.name,
                runtimes: k.runtimes.into_iter().map(Into::into).collect(),
                source: k.source.map(|s| s.as_str().to_string()),
            })
            .collect())
    })
    .await
}

/// Stores a key in the OS keychain.
#[tauri::command]
#[specta::specta]
pub async fn set_api_key(state: State<'_, AppState>, name: String, value: String) -> ApiResult<()> {
    let engine = state.engine()?;
    guarded(async move { Ok(engine.set_api_key(&name, &value).await?) }).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_api_key(state: State<'_, AppState>, name: String) -> ApiResult<()> {
    let engine = state.engine()?;
    guarded(async move { Ok(engine.delete_api_key(&name).await?) }).await
}
