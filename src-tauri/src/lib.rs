//! Corral's desktop shell: owns one `Engine`, exposes its operations as typed commands, forwards
//! its events to the window, and runs the tray and notifications. No business logic here.

mod bindings;
mod commands;
mod desktop;
mod dto;
mod error;
mod events;
mod notify;
mod question_notice;
mod state;
mod tray;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use corral_engine::{Config, Engine, logging};
use tauri::{Manager, WindowEvent};

pub use bindings::export as export_bindings;
pub use error::{ApiError, ErrorKind};

use crate::state::AppState;

/// Whether closing the window hides it to the tray (only when a tray host shows the icon).
static HIDE_ON_CLOSE: AtomicBool = AtomicBool::new(false);

fn data_dir() -> Option<PathBuf> {
    std::env::var_os("CORRAL_DATA_DIR")
        .map(PathBuf::from)
        .or_else(Config::default_data_dir)
}

/// Picks up runs left live by a previous start, then cleans up now and every hour.
fn background(engine: Arc<Engine>) {
    tauri::async_runtime::spawn(async move {
        if let Err(err) = engine.resume_runs().await {
            tracing::warn!(error = %err, "could not pick up live runs");
        }
        // Graph runs go on here while the app is open (one process per data dir schedules).
        engine.start_scheduler();
        // Runs `corral` commands drive show live here too.
        if let Err(err) = engine.relay_other_processes() {
            tracing::warn!(error = %err, "runs of other processes will show only when reloaded");
        }
        loop {
            if let Err(err) = engine.gc(false).await {
                tracing::warn!(error = %err, "cleanup failed");
            }
            tokio::time::sleep(std::time::Duration::from_secs(60 * 60)).await;
        }
    });
}

/// Starts the app; returns when it quits.
pub fn run() -> Result<(), String> {
    let data_dir = data_dir().ok_or("no data dir: HOME is not set; set CORRAL_DATA_DIR")?;
    let _log = logging::init(&data_dir.join("logs"), cfg!(debug_assertions)).ok();
    let specta = bindings::builder();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(specta.invoke_handler())
        .setup(move |app| {
            specta.mount_events(app);
            let handle = app.handle().clone();
            let engine = tauri::async_runtime::block_on(Engine::open(Config::new(data_dir)))
                .map(Arc::new)
                .map_err(ApiError::from);
            match &engine {
                Ok(engine) => {
                    events::forward(handle.clone(), engine);
                    background(engine.clone());
                }
                Err(err) => tracing::error!(error = %err.message, "engine did not start"),
            }
            app.manage(AppState::new(engine));
            let tray = tauri::async_runtime::block_on(tray::install(&handle));
            HIDE_ON_CLOSE.store(tray, Ordering::Relaxed);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && HIDE_ON_CLOSE.load(Ordering::Relaxed)
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .run(tauri::generate_context!())
        .map_err(|e| e.to_string())
}
