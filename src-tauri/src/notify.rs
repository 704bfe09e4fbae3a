//! System notifications. Without a notification service (a bare X server, CI) nothing is shown
//! and a warning is logged; the app keeps working. A notification with actions (a question's)
//! reports the one invoked, where the platform's service offers actions (Linux).

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

/// How long a notification with actions stays (and its waiting thread with it) at most.
const ACTIONS_TIMEOUT_MS: u32 = 30 * 60 * 1000;

/// Shows a notification with `actions` (key, label; the key `default` is a click on the
/// notification itself) and waits, off the async runtime, for one to be invoked. Returns its key;
/// `None` when the notification was closed, could not be shown, or (not Linux) actions are not
/// offered, in which case it is shown without them.
pub async fn send_with_actions(
    app: &AppHandle,
    title: &str,
    body: &str,
    actions: Vec<(String, String)>,
) -> Option<String> {
    if desktop::bus_name_present("org.freedesktop.Notifications").await == Some(false) {
        tracing::warn!(
            title,
            "no notification service on the session bus; notification not shown"
        );
        return None;
    }
    #[cfg(target_os = "linux")]
    {
        let _ = app;
        let (title, body) = (title.to_string(), markup_escaped(body));
        // A thread of its own, not the runtime's blocking pool: it may wait for a long time.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("notification".into())
            .spawn(move || {
                let _ = tx.send(invoked_action(&title, &body, &actions));
            });
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "no thread for a notification");
            return None;
        }
        rx.await.ok().flatten()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = actions;
        send(app, title, body).await;
        None
    }
}

/// Text for a notification body, which services may read as markup: what an agent wrote stays
/// text.
#[cfg(target_os = "linux")]
fn markup_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Shows the notification and blocks until an action is invoked or it is closed.
#[cfg(target_os = "linux")]
pub(crate) fn invoked_action(
    title: &str,
    body: &str,
    actions: &[(String, String)],
) -> Option<String> {
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("Corral")
        .summary(title)
        .body(body)
        .timeout(notify_rust::Timeout::Milliseconds(ACTIONS_TIMEOUT_MS));
    for (key, label) in actions {
        notification.action(key, label);
    }
    let handle = match notification.show() {
        Ok(handle) => handle,
        Err(err) => {
            tracing::warn!(title, error = %err, "notification failed");
            return None;
        }
    };
    let mut invoked = None;
    handle.wait_for_action(|key| invoked = Some(key.to_string()));
    invoked.filter(|key| key != "__closed")
}
