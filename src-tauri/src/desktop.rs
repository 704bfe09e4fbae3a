//! What the desktop session offers, asked over the session D-Bus: a notification service, a
//! tray host. `None` means it could not be asked (no `dbus-send`, no session bus).

/// Whether `name` has an owner on the session bus.
pub async fn bus_name_present(name: &str) -> Option<bool> {
    if !cfg!(target_os = "linux") {
        return Some(true);
    }
    let out = tokio::process::Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{name}"),
        ])
        .output()
        .await
        .ok()?;
    if !out.status.success() {
        return Some(false);
    }
    Some(String::from_utf8_lossy(&out.stdout).contains("boolean true"))
}
