//! The tray icon and its menu. Later issues fill the run slots; closing the window hides it
//! here. Without a tray host (e.g. under Xvfb) creation fails, which is logged and ignored.

use tauri::Wry;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};

use crate::desktop;

pub fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// The menu entries that show run counts.
struct RunSlots {
    running: MenuItem<Wry>,
    needs_input: MenuItem<Wry>,
}

/// The texts of the two run slots.
pub fn slot_texts(live: usize, waiting: usize) -> (String, String) {
    let running = match live {
        0 => "No runs running".to_string(),
        1 => "1 run running".to_string(),
        n => format!("{n} runs running"),
    };
    let input = match waiting {
        0 => "Nothing needs you".to_string(),
        1 => "1 run needs input".to_string(),
        n => format!("{n} runs need input"),
    };
    (running, input)
}

/// Updates the tray's run slots (a no-op without a tray).
pub fn show_counts(app: &AppHandle, live: usize, waiting: usize) {
    if let Some(slots) = app.try_state::<RunSlots>() {
        let (running, input) = slot_texts(live, waiting);
        let _ = slots.running.set_text(running);
        let _ = slots.needs_input.set_text(input);
    }
}

fn build(app: &AppHandle) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show Corral", true, None::<&str>)?;
    let running = MenuItem::with_id(app, "running", "No runs running", false, None::<&str>)?;
    let input = MenuItem::with_id(app, "needs_input", "Nothing needs you", false, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Corral", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(
        app,
        &[&show, &separator, &running, &input, &separator, &quit],
    )?;
    let icon = Image::from_bytes(include_bytes!("../../icons/tray.png"))?;
    TrayIconBuilder::with_id("main")
        .icon(icon)
        .tooltip("Corral")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => show_main_window(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .build(app)?;
    app.manage(RunSlots {
        running,
        needs_input: input,
    });
    Ok(())
}

/// Creates the tray icon. Returns whether a tray host will show it: only then may closing the
/// window hide it (otherwise the app would be left with no way back).
pub async fn install(app: &AppHandle) -> bool {
    let host = desktop::bus_name_present("org.kde.StatusNotifierWatcher").await;
    if host == Some(false) {
        tracing::warn!("no tray host on the session bus; closing the window quits Corral");
        return false;
    }
    match build(app) {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(error = %err, "no tray icon; closing the window quits Corral");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slot_texts;

    #[test]
    fn slot_texts_count_runs() {
        assert_eq!(
            slot_texts(0, 0),
            ("No runs running".into(), "Nothing needs you".into())
        );
        assert_eq!(
            slot_texts(1, 1),
            ("1 run running".into(), "1 run needs input".into())
        );
        assert_eq!(
            slot_texts(3, 2),
            ("3 runs running".into(), "2 runs need input".into())
        );
    }
}
