//! Small helpers for reading agents' JSON without ever panicking.

use corral_core::AgentEvent;
use serde_json::Value;

/// A line kept as it was, for one the parser does not understand.
pub fn raw(line: &str) -> Vec<AgentEvent> {
    vec![AgentEvent::Raw {
        line: line.to_string(),
    }]
}

/// One line of a JSON-lines stream: its value, or what to emit instead (nothing for a blank
/// line, the line itself when it is not JSON).
pub fn json_line(line: &str) -> Result<Value, Vec<AgentEvent>> {
    if line.trim().is_empty() {
        return Err(Vec::new());
    }
    serde_json::from_str(line).map_err(|_| raw(line))
}

pub fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub fn u64_at(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Text of a tool result's content: a string, or the text parts of a list.
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| str_at(p, "text"))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A path as the agent gave it, relative to the checkout when it points inside it.
pub fn workspace_relative(path: &str) -> String {
    path.strip_prefix("/workspace/").unwrap_or(path).to_string()
}

/// Announces the session once, from the first line that carries its id under `key` (agents
/// that repeat the id on every line).
#[derive(Debug, Default)]
pub struct SessionOnce {
    seen: bool,
}

impl SessionOnce {
    pub fn see(&mut self, value: &Value, key: &str, out: &mut Vec<AgentEvent>) {
        if !self.seen
            && let Some(session) = str_at(value, key)
        {
            self.seen = true;
            out.push(AgentEvent::SessionStarted {
                session_id: session.into(),
            });
        }
    }
}
