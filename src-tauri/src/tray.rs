//! The tray icon and its menu: counts of live runs and those needing input, and each live run
//! by name (picking one opens it in the window). Closing the window hides it here. Without a tray host (e.g. under Xvfb) creation fails, which is logged and ignored.

use corral_core::Run;
use tauri::Wry;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};

use tauri_specta::Event;

use crate::desktop;
use crate::events::CorralEvent;

pub fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// How many live runs the menu lists by name; the rest are counted.
const LISTED_RUNS: usize = 8;
const TITLE_CHARS: usize = 40;

/// The texts of the two count lines: live runs, and what waits on the user (questions,
/// proposed tasks).
pub fn slot_texts(live: usize, need_you: usize) -> (String, String) {
    let running = match live {
        0 => "No runs running".to_string(),
        1 => "1 run running".to_string(),
        n => format!("{n} runs running"),
    };
    let input = match need_you {
        0 => "Nothing needs you".to_string(),
        n => format!("{n} need you"),
    };
    (running, input)
}

/// One menu line per live run (menu id `run:<id>`), at most `LISTED_RUNS`, then how many more.
pub fn run_lines(runs: &[(Run, String)]) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = runs
        .iter()
        .take(LISTED_RUNS)
        .map(|(run, title)| {
            let mut short: String = title.chars().take(TITLE_CHARS).collect();
            if title.chars().count() > TITLE_CHARS {
                short.push('…');
            }
            (
                format!("run:{}", run.id),
                format!("{short} · {}", run.state.name()),
            )
        })
        .collect();
    if runs.len() > LISTED_RUNS {
        lines.push((
            "more".to_string(),
            format!("and {} more", runs.len() - LISTED_RUNS),
        ));
    }
    lines
}

fn menu(app: &AppHandle, runs: &[(Run, String)], need_you: usize) -> tauri::Result<Menu<Wry>> {
    let (running_text, input_text) = slot_texts(runs.len(), need_you);
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::with_id(
        app,
        "show",
        "Show Corral",
        true,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        "running",
        running_text,
        false,
        None::<&str>,
    )?)?;
    for (id, text) in run_lines(runs) {
        let enabled = id != "more";
        menu.append(&MenuItem::with_id(app, id, text, enabled, None::<&str>)?)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "inbox",
        input_text,
        need_you > 0,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        "quit",
        "Quit Corral",
        true,
        None::<&str>,
    )?)?;
    Ok(menu)
}

/// Rebuilds the tray menu for the live runs and what waits on the user (a no-op without a
/// tray).
pub fn show_runs(app: &AppHandle, runs: &[(Run, String)], need_you: usize) {
    let Some(tray) = app.tray_by_id("main") else {
        return;
    };
    match menu(app, runs, need_you) {
        Ok(menu) => {
            let _ = tray.set_menu(Some(menu));
        }
        Err(err) => tracing::warn!(error = %err, "could not update the tray menu"),
    }
}

fn build(app: &AppHandle) -> tauri::Result<()> {
    let icon = Image::from_bytes(include_bytes!("../../icons/tray.png"))?;
    TrayIconBuilder::with_id("main")
        .icon(icon)
        .tooltip("Corral")
        .menu(&menu(app, &[], 0)?)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => show_main_window(app),
            "quit" => app.exit(0),
            "inbox" => {
                show_main_window(app);
                if let Err(err) = CorralEvent::OpenInbox.emit(app) {
                    tracing::warn!(error = %err, "could not open the inbox from the tray");
                }
            }
            id => {
                if let Some(run_id) = id.strip_prefix("run:") {
                    show_main_window(app);
                    let open = CorralEvent::OpenRun {
                        run_id: run_id.to_string(),
                    };
                    if let Err(err) = open.emit(app) {
                        tracing::warn!(error = %err, "could not open the run from the tray");
                    }
                }
            }
        })
        .build(app)?;
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
    use super::{run_lines, slot_texts};
    use corral_core::{ProjectId, Run, RunState, TaskId, Timestamp};

    fn run(state: RunState) -> Run {
        Run {
            state,
            ..Run::queued(TaskId::new(), ProjectId::new(), 1, Timestamp(0))
        }
    }

    #[test]
    fn live_runs_are_listed_by_title_and_state_then_counted() {
        let runs: Vec<(Run, String)> = (0..10)
            .map(|i| (run(RunState::Running), format!("Task {i}")))
            .collect();
        let lines = run_lines(&runs);
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[0].0, format!("run:{}", runs[0].0.id));
        assert_eq!(lines[0].1, "Task 0 · running");
        assert_eq!(lines[8], ("more".to_string(), "and 2 more".to_string()));
        let long = vec![(run(RunState::Verifying), "x".repeat(60))];
        assert_eq!(
            run_lines(&long)[0].1,
            format!("{}… · verifying", "x".repeat(40))
        );
    }

    #[test]
    fn slot_texts_count_runs() {
        assert_eq!(
            slot_texts(0, 0),
            ("No runs running".into(), "Nothing needs you".into())
        );
        assert_eq!(
            slot_texts(1, 1),
            ("1 run running".into(), "1 need you".into())
        );
        assert_eq!(
            slot_texts(3, 2),
            ("3 runs running".into(), "2 need you".into())
        );
    }
}
