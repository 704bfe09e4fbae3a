//! Cursor CLI (`cursor-agent`, installed by the vendor's own script; it talks only to Cursor's
//! service, so no test here runs it): `cursor-agent -p --output-format stream-json --force
//! <prompt>`, one JSON object per line as its documentation describes: `system/init` (session
//! id), `user` (the prompt echoed), `assistant` (one complete message between tool calls),
//! `tool_call` `started` / `completed` (`readToolCall`, `writeToolCall`, or a `function` with a
//! name), and a terminal `result`.

use corral_core::{AgentEvent, Runtime, ToolKind};
use serde_json::Value;

use crate::adapter::{Adapter, AgentRequest, StreamParser};
use crate::json::{SessionOnce, json_line, raw, str_at, text_of, workspace_relative};

#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor;

impl Adapter for Cursor {
    fn runtime(&self) -> Runtime {
        Runtime::Cursor
    }

    fn program(&self) -> &'static str {
        "cursor-agent"
    }

    fn command(&self, request: &AgentRequest) -> Vec<String> {
        // Without --force it only proposes changes in print mode and writes nothing, so both
        // permission settings pass it.
        let mut argv: Vec<String> = ["cursor-agent", "-p", "--output-format", "stream-json"]
            .map(String::from)
            .to_vec();
        argv.push("--force".into());
        if let Some(model) = &request.model {
            argv.push("--model".into());
            argv.push(model.clone());
        }
        if let Some(session) = &request.resume {
            argv.push("--resume".into());
            argv.push(session.clone());
        }
        argv.push(request.prompt.clone());
        argv
    }

    fn env(&self, request: &AgentRequest) -> Vec<(String, String)> {
        vec![("HOME".to_string(), request.home.clone())]
    }

    fn key_names(&self) -> &'static [&'static str] {
        &["CURSOR_API_KEY"]
    }

    /// Cursor's CLI has no base-URL override; the variable is named for symmetry and unused.
    fn base_url_env(&self) -> &'static str {
        "CURSOR_BASE_URL"
    }

    fn package(&self) -> crate::AgentPackage {
        crate::AgentPackage::Script {
            url: "https://cursor.com/install",
            program: "cursor-agent",
        }
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CursorParser::default())
    }
}

/// Parses `cursor-agent --output-format stream-json`.
#[derive(Debug, Default)]
pub struct CursorParser {
    session: SessionOnce,
}

/// The one entry of a `tool_call` object: its kind key and body.
fn tool_entry(call: &Value) -> Option<(&str, &Value)> {
    call.as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| (k.as_str(), v))
}

fn tool_kind(key: &str, name: &str) -> ToolKind {
    match key {
        "writeToolCall" | "editToolCall" | "deleteToolCall" => ToolKind::FileEdit,
        "readToolCall" => ToolKind::Read,
        "shellToolCall" => ToolKind::Command,
        "grepToolCall" | "globToolCall" | "lsToolCall" => ToolKind::Search,
        "mcpToolCall" => ToolKind::Mcp,
        _ if name.starts_with("mcp") => ToolKind::Mcp,
        _ => ToolKind::Other,
    }
}

impl StreamParser for CursorParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let value = match json_line(line) {
            Ok(value) => value,
            Err(instead) => return instead,
        };
        let mut out = Vec::new();
        self.session.see(&value, "session_id", &mut out);
        match (str_at(&value, "type"), str_at(&value, "subtype")) {
            (Some("system"), _) | (Some("user"), _) => {}
            (Some("assistant"), _) => {
                let text = text_of(
                    value
                        .get("message")
                        .and_then(|m| m.get("content"))
                        .unwrap_or(&Value::Null),
                );
                if text.is_empty() {
                    out.extend(raw(line));
                } else {
                    out.push(AgentEvent::AssistantText { text });
                }
            }
            (Some("tool_call"), Some(phase @ ("started" | "completed"))) => {
                let id = str_at(&value, "call_id").unwrap_or_default().to_string();
                let Some((key, body)) = value.get("tool_call").and_then(tool_entry) else {
                    out.extend(raw(line));
                    return out;
                };
                let name = match key {
                    "function" => str_at(body, "name").unwrap_or("function"),
                    other => other.strip_suffix("ToolCall").unwrap_or(other),
                }
                .to_string();
                let kind = tool_kind(key, &name);
                let args = body
                    .get("args")
                    .or_else(|| body.get("arguments"))
                    .cloned()
                    .unwrap_or(Value::Null);
                if phase == "started" {
                    out.push(AgentEvent::ToolCall {
                        id,
                        name,
                        input: args,
                        kind,
                    });
                } else {
                    let result = body.get("result").cloned().unwrap_or(Value::Null);
                    let ok = result.get("success").is_some();
                    if ok
                        && kind == ToolKind::FileEdit
                        && let Some(path) = str_at(&args, "path")
                    {
                        out.push(AgentEvent::FileEdit {
                            path: workspace_relative(path),
                        });
                    }
                    let output = match result.get("success").and_then(|s| s.get("content")) {
                        Some(content) => text_of(content),
                        None => result.to_string(),
                    };
                    out.push(AgentEvent::ToolResult { id, ok, output });
                }
            }
            (Some("result"), _) => {
                let ok = value.get("is_error").and_then(Value::as_bool) != Some(true)
                    && str_at(&value, "subtype").is_none_or(|s| s == "success");
                if !ok {
                    out.push(AgentEvent::Error {
                        message: str_at(&value, "result")
                            .unwrap_or("the agent reported an error")
                            .into(),
                    });
                }
                out.push(AgentEvent::Finished {
                    ok,
                    summary: str_at(&value, "result").map(str::to_string),
                });
            }
            _ => {
                if out.is_empty() {
                    out.extend(raw(line));
                }
            }
        }
        out
    }
}
