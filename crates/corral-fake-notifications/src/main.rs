//! A notification service for end-to-end tests (`org.freedesktop.Notifications` on the session
//! bus): each notification it is asked to show is printed as a JSON line on stdout (id, title,
//! body, actions as key/label pairs); a line `invoke <id> <action key>` on stdin makes it report
//! that action as invoked, as a click would. It prints `ready` once it owns its bus name.
#![allow(clippy::print_stdout)] // its stdout is the test's record of what was shown

use std::collections::HashMap;
use std::io::{BufRead, Write};

use zbus::OwnedVariant;
use zbus::object_server::SignalEmitter;

const PATH: &str = "/org/freedesktop/Notifications";

struct Service {
    last_id: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Service {
    #[allow(clippy::too_many_arguments)] // the notification spec's signature
    fn notify(
        &mut self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        self.last_id += 1;
        let pairs: Vec<[&String; 2]> = actions
            .chunks(2)
            .filter_map(|pair| match pair {
                [key, label] => Some([key, label]),
                _ => None,
            })
            .collect();
        let line = serde_json::json!({
            "id": self.last_id,
            "app": app_name,
            "title": summary,
            "body": body,
            "actions": pairs,
        });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        self.last_id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "corral-fake-notifications".into(),
            "corral".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn notification_closed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;
}

fn main() -> zbus::Result<()> {
    let connection = zbus::block_on(
        zbus::connection::Builder::session()
            .name("org.freedesktop.Notifications")
            .serve_at(PATH, Service { last_id: 0 })
            .build(),
    )?;
    println!("ready");
    let _ = std::io::stdout().flush();
    let emitter = SignalEmitter::new(&connection, PATH)?;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        if let (Some("invoke"), Some(id), Some(key)) = (words.next(), words.next(), words.next())
            && let Ok(id) = id.parse::<u32>()
        {
            zbus::block_on(Service::action_invoked(&emitter, id, key))?;
            // A notification is closed once its action was invoked.
            zbus::block_on(Service::notification_closed(&emitter, id, 2))?;
        }
    }
    Ok(())
}
