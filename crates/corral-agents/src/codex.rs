//! Codex CLI (npm `@openai/codex`): `codex exec [resume <thread>] --json ...`, one JSON event per line:
//! `thread.started` (the session), `item.started` / `item.completed` with items of type
//! `agent_message`, `reasoning`, `command_execution`, `file_change`, `mcp_tool_call`, `web_search`,
//! `error`; `turn.completed` with usage; `turn.failed` and `error`.

use corral_core::{AgentEvent, Runtime, ToolKind};
use serde_json::Value;

use crate::adapter::{Adapter, AgentRequest, PermissionMode, StreamParser};
use crate::json::{json_line, raw, str_at, u64_at, workspace_relative};

#[derive(Debug, Clone, Copy, Default)]
pub struct Codex;

impl Adapter for Codex {
    fn runtime(&self) -> Runtime {
        Runtime::Codex
    }

    fn program(&self) -> &'static str {
        "codex"
    }

    fn command(&self, request: &AgentRequest) -> Vec<String> {
        let mut argv: Vec<String> = ["codex", "exec"].map(String::from).to_vec();
        if let Some(session) = &request.resume {
            argv.push("resume".into());
            argv.push(session.clone());
        }
        argv.extend(["--json", "--skip-git-repo-check"].map(String::from));
        match (request.permission, request.in_container) {
            (PermissionMode::Bypass, _) => {
                argv.push("--dangerously-bypass-approvals-and-sandbox".into())
            }
            // Its bubblewrap sandbox cannot make namespaces in a hardened container; the
            // container is the boundary. (A config value: `exec resume` takes no --sandbox.)
            (PermissionMode::AcceptEdits | PermissionMode::Ask, true) => {
                argv.extend(["-c", "sandbox_mode=\"danger-full-access\""].map(String::from))
            }
            (PermissionMode::AcceptEdits | PermissionMode::Ask, false) => {
                argv.extend(["-c", "sandbox_mode=\"workspace-write\""].map(String::from))
            }
            // In a container the mount is read-only already (and bubblewrap cannot nest).
            (PermissionMode::ReadOnly, true) => {
                argv.extend(["-c", "sandbox_mode=\"danger-full-access\""].map(String::from))
            }
            (PermissionMode::ReadOnly, false) => {
                argv.extend(["-c", "sandbox_mode=\"read-only\""].map(String::from))
            }
        }
        if let Some(model) = &request.model {
            argv.push("--model".into());
            argv.push(model.clone());
        }
        argv.push(request.prompt.clone());
        argv
    }

    fn env(&self, request: &AgentRequest) -> Vec<(String, String)> {
        // CODEX_HOME must not be under TMPDIR (it refuses); its config.toml (written by the
        // engine) turns analytics off and, with a base URL, names a custom model provider.
        vec![
            ("HOME".to_string(), request.home.clone()),
            ("CODEX_HOME".to_string(), format!("{}/.codex", request.home)),
        ]
    }

    fn key_names(&self) -> &'static [&'static str] {
        &["OPENAI_API_KEY", "CODEX_API_KEY"]
    }

    fn base_url_env(&self) -> &'static str {
        "OPENAI_BASE_URL"
    }

    /// `config.toml`: analytics off, and a custom model provider when a base URL is set (Codex
    /// ignores OPENAI_BASE_URL itself).
    fn files(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let mut config = String::new();
        if let Some(url) = &request.base_url {
            let url = url.replace('\\', "\\\\").replace('"', "\\\"");
            config.push_str(&format!(
                "model_provider = \"corral\"\n\n[model_providers.corral]\nname = \"corral\"\n\
                 base_url = \"{url}\"\nwire_api = \"responses\"\nenv_key = \"OPENAI_API_KEY\"\n\n"
            ));
        }
        config.push_str("[analytics]\nenabled = false\n");
        // Corral's tools are approved: Codex runs headless (approval policy never), and would
        // otherwise refuse each call for want of someone to approve it.
        if let Some(mcp) = &request.mcp {
            let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
            let args: Vec<String> = mcp.args.iter().map(|a| quoted(a)).collect();
            config.push_str(&format!(
                "\n[mcp_servers.{}]\ncommand = {}\nargs = [{}]\nstartup_timeout_sec = 20\n\
                 tool_timeout_sec = 120\ndefault_tools_approval_mode = \"approve\"\n",
                crate::adapter::MCP_SERVER_NAME,
                quoted(&mcp.command),
                args.join(", ")
            ));
        }
        vec![(".codex/config.toml".to_string(), config)]
    }

    fn package(&self) -> crate::AgentPackage {
        crate::AgentPackage::Npm {
            name: "@openai/codex",
            version: "0.169.0",
        }
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CodexParser)
    }
}

/// Parses `codex exec --json`.
#[derive(Debug, Default)]
pub struct CodexParser;

fn item_events(item: &Value, completed: bool, out: &mut Vec<AgentEvent>) {
    let id = str_at(item, "id").unwrap_or_default().to_string();
    match str_at(item, "type") {
        Some("agent_message") if completed => {
            if let Some(text) = str_at(item, "text") {
                out.push(AgentEvent::AssistantText { text: text.into() });
            }
        }
        Some("reasoning") if completed => {
            if let Some(text) = str_at(item, "text") {
                out.push(AgentEvent::Thinking { text: text.into() });
            }
        }
        Some("command_execution") => {
            if completed {
                out.push(AgentEvent::ToolResult {
                    id,
                    ok: item.get("exit_code").and_then(Value::as_i64) == Some(0)
                        && str_at(item, "status") != Some("failed"),
                    output: str_at(item, "aggregated_output").unwrap_or_default().into(),
                });
            } else {
                out.push(AgentEvent::ToolCall {
                    id,
                    name: "command".into(),
                    input: serde_json::json!({ "command": item.get("command") }),
                    kind: ToolKind::Command,
                });
            }
        }
        Some("file_change") if completed => {
            let changes = item
                .get("changes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            out.push(AgentEvent::ToolCall {
                id: id.clone(),
                name: "file_change".into(),
                input: Value::Array(changes.clone()),
                kind: ToolKind::FileEdit,
            });
            for change in &changes {
                if let Some(path) = str_at(change, "path") {
                    out.push(AgentEvent::FileEdit {
                        path: workspace_relative(path),
                    });
                }
            }
            out.push(AgentEvent::ToolResult {
                id,
                ok: str_at(item, "status") != Some("failed"),
                output: String::new(),
            });
        }
        Some("mcp_tool_call") => {
            if completed {
                out.push(AgentEvent::ToolResult {
                    id,
                    ok: str_at(item, "status") != Some("failed"),
                    output: item.get("result").map(Value::to_string).unwrap_or_default(),
                });
            } else {
                out.push(AgentEvent::ToolCall {
                    id,
                    name: format!(
                        "{}/{}",
                        str_at(item, "server").unwrap_or("mcp"),
                        str_at(item, "tool").unwrap_or("tool")
                    ),
                    input: item.get("arguments").cloned().unwrap_or(Value::Null),
                    kind: ToolKind::Mcp,
                });
            }
        }
        Some("web_search") if !completed => out.push(AgentEvent::ToolCall {
            id,
            name: "web_search".into(),
            input: serde_json::json!({ "query": item.get("query") }),
            kind: ToolKind::Search,
        }),
        Some("error") if completed => out.push(AgentEvent::Error {
            message: str_at(item, "message").unwrap_or("error").into(),
        }),
        _ => {}
    }
}

impl StreamParser for CodexParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let value = match json_line(line) {
            Ok(value) => value,
            Err(instead) => return instead,
        };
        let mut out = Vec::new();
        match str_at(&value, "type") {
            Some("thread.started") => {
                if let Some(id) = str_at(&value, "thread_id") {
                    out.push(AgentEvent::SessionStarted {
                        session_id: id.into(),
                    });
                }
            }
            Some("turn.started") => {}
            Some("item.started") | Some("item.updated") => {
                if let Some(item) = value.get("item") {
                    item_events(item, false, &mut out);
                }
            }
            Some("item.completed") => {
                if let Some(item) = value.get("item") {
                    item_events(item, true, &mut out);
                }
            }
            Some("turn.completed") => {
                let usage = value.get("usage").cloned().unwrap_or(Value::Null);
                out.push(AgentEvent::Usage {
                    input_tokens: u64_at(&usage, "input_tokens"),
                    output_tokens: u64_at(&usage, "output_tokens"),
                    cost_micro_usd: None,
                });
                out.push(AgentEvent::Finished {
                    ok: true,
                    summary: None,
                });
            }
            Some("turn.failed") => {
                let message = value
                    .get("error")
                    .and_then(|e| str_at(e, "message"))
                    .unwrap_or("the turn failed")
                    .to_string();
                out.push(AgentEvent::Error { message });
                out.push(AgentEvent::Finished {
                    ok: false,
                    summary: None,
                });
            }
            Some("error") => out.push(AgentEvent::Error {
                message: str_at(&value, "message").unwrap_or("error").into(),
            }),
            _ => return raw(line),
        }
        out
    }
}
