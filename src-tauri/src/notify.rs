//! System notifications, behind one function. Without a notification service (a bare X server,
//! CI) nothing is shown and a warning is logged; the app keeps working.

use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

use crate::desktop;

/// Shows a notification. Returns false when it is known that no notification service will show
/// it (the reason is logged).
pub async fn send(app: &AppHandle, title: &str, body: &str) -> bool {
    if desktop::bus_name_present("org.freedesktop.Notifications").await == Some(false) {
        tracing::warn!(
            title,
            "no notification service on the session bus; notification not shown"
        );
        return false;
    }
    match app.notification().builder().title(title).body(body).show() {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(title, error = %err, "notification failed");
            false
        }
    }
}
