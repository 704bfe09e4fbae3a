//! Claude Code (npm `@anthropic-ai/claude-code`): `claude -p <prompt> --output-format
//! stream-json --verbose`, one JSON object per line: `system/init` (session id), `assistant`
//! messages (text, thinking, tool_use parts), `user` messages (tool_result parts), and a final
//! `result` with usage and cost.

use corral_core::{AgentEvent, Runtime, ToolKind};
use serde_json::Value;

use crate::adapter::{Adapter, AgentRequest, PermissionMode, StreamParser};
use crate::json::{SessionOnce, json_line, raw, str_at, text_of, u64_at, workspace_relative};

#[derive(Debug, Clone, Copy, Default)]
pub struct ClaudeCode;

impl Adapter for ClaudeCode {
    fn runtime(&self) -> Runtime {
        Runtime::ClaudeCode
    }

    fn program(&self) -> &'static str {
        "claude"
    }

    fn command(&self, request: &AgentRequest) -> Vec<String> {
        let mut argv: Vec<String> = ["claude", "-p"].map(String::from).to_vec();
        argv.push(request.prompt.clone());
        argv.extend(["--output-format", "stream-json", "--verbose"].map(String::from));
        argv.push("--permission-mode".into());
        argv.push(
            match request.permission {
                PermissionMode::AcceptEdits | PermissionMode::Ask => "acceptEdits",
                PermissionMode::Bypass => "bypassPermissions",
                PermissionMode::ReadOnly => "plan",
            }
            .into(),
        );
        if let Some(model) = &request.model {
            argv.push("--model".into());
            argv.push(model.clone());
        }
        if let Some(session) = &request.resume {
            argv.push("--resume".into());
            argv.push(session.clone());
        }
        if let Some(mcp) = &request.mcp {
            // Only Corral's server, whatever the user's or the repository's configuration
            // says; its questions go through Corral's ask_human (the built-in one invents an
            // answer when nobody is there to ask).
            argv.push("--mcp-config".into());
            argv.push(mcp.servers_json().to_string());
            argv.push("--strict-mcp-config".into());
            argv.push("--allowedTools".into());
            argv.push(format!("mcp__{}", crate::adapter::MCP_SERVER_NAME));
            argv.push("--disallowedTools".into());
            argv.push("AskUserQuestion".into());
            if request.permission == PermissionMode::Ask {
                // What it may not do alone is asked of a person through Corral.
                argv.push("--permission-prompt-tool".into());
                argv.push(format!(
                    "mcp__{}__{}",
                    crate::adapter::MCP_SERVER_NAME,
                    crate::adapter::PERMISSION_TOOL
                ));
            }
        }
        argv
    }

    fn env(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let mut env = vec![
            ("HOME".to_string(), request.home.clone()),
            (
                "CLAUDE_CONFIG_DIR".to_string(),
                format!("{}/.claude", request.home),
            ),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".to_string(),
                "1".to_string(),
            ),
            ("DISABLE_AUTOUPDATER".to_string(), "1".to_string()),
            ("DISABLE_TELEMETRY".to_string(), "1".to_string()),
            ("CLAUDE_CODE_MAX_RETRIES".to_string(), "1".to_string()),
            // It refuses bypass modes as root unless told it is sandboxed (it is: a container).
            ("IS_SANDBOX".to_string(), "1".to_string()),
        ];
        if let Some(url) = &request.base_url {
            env.push(("ANTHROPIC_BASE_URL".to_string(), url.clone()));
        }
        if request.mcp.is_some() {
            // Corral's few tools are offered outright, not deferred behind a tool search.
            env.push(("ENABLE_TOOL_SEARCH".to_string(), "false".to_string()));
        }
        env
    }

    fn key_names(&self) -> &'static [&'static str] {
        &["ANTHROPIC_API_KEY"]
    }

    fn base_url_env(&self) -> &'static str {
        "ANTHROPIC_BASE_URL"
    }

    fn package(&self) -> crate::AgentPackage {
        crate::AgentPackage::Npm {
            name: "@anthropic-ai/claude-code",
            version: "2.1.332",
        }
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(ClaudeParser::default())
    }
}

fn tool_kind(name: &str) -> ToolKind {
    match name {
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => ToolKind::FileEdit,
        "Bash" | "BashOutput" | "KillShell" => ToolKind::Command,
        "Read" | "NotebookRead" | "WebFetch" => ToolKind::Read,
        "Grep" | "Glob" | "LS" | "WebSearch" => ToolKind::Search,
        n if n.starts_with("mcp__") => ToolKind::Mcp,
        _ => ToolKind::Other,
    }
}

/// Parses Claude Code's stream-json.
#[derive(Debug, Default)]
pub struct ClaudeParser {
    session: SessionOnce,
}

impl ClaudeParser {
    fn assistant(&mut self, message: &Value, out: &mut Vec<AgentEvent>) {
        let Some(parts) = message.get("content").and_then(Value::as_array) else {
            return;
        };
        for part in parts {
            match str_at(part, "type") {
                Some("text") => {
                    if let Some(text) = str_at(part, "text") {
                        out.push(AgentEvent::AssistantText { text: text.into() });
                    }
                }
                Some("thinking") => {
                    if let Some(text) = str_at(part, "thinking") {
                        out.push(AgentEvent::Thinking { text: text.into() });
                    }
                }
                Some("tool_use") => {
                    let name = str_at(part, "name").unwrap_or("tool").to_string();
                    let input = part.get("input").cloned().unwrap_or(Value::Null);
                    let kind = tool_kind(&name);
                    let edited = (kind == ToolKind::FileEdit)
                        .then(|| {
                            str_at(&input, "file_path").or_else(|| str_at(&input, "notebook_path"))
                        })
                        .flatten()
                        .map(workspace_relative);
                    out.push(AgentEvent::ToolCall {
                        id: str_at(part, "id").unwrap_or_default().into(),
                        name,
                        input,
                        kind,
                    });
                    if let Some(path) = edited {
                        out.push(AgentEvent::FileEdit { path });
                    }
                }
                _ => {}
            }
        }
    }

    fn user(message: &Value, out: &mut Vec<AgentEvent>) {
        let Some(parts) = message.get("content").and_then(Value::as_array) else {
            return;
        };
        for part in parts {
            if str_at(part, "type") == Some("tool_result") {
                out.push(AgentEvent::ToolResult {
                    id: str_at(part, "tool_use_id").unwrap_or_default().into(),
                    ok: !part
                        .get("is_error")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    output: text_of(part.get("content").unwrap_or(&Value::Null)),
                });
            }
        }
    }
}

impl StreamParser for ClaudeParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let value = match json_line(line) {
            Ok(value) => value,
            Err(instead) => return instead,
        };
        let mut out = Vec::new();
        self.session.see(&value, "session_id", &mut out);
        match str_at(&value, "type") {
            Some("system") => {}
            Some(kind @ ("assistant" | "user")) => {
                let before = out.len();
                if let Some(message) = value.get("message") {
                    if kind == "assistant" {
                        self.assistant(message, &mut out);
                    } else {
                        Self::user(message, &mut out);
                    }
                }
                if out.len() == before {
                    // Nothing in it this parser knows: keep the line itself.
                    out.push(AgentEvent::Raw {
                        line: line.to_string(),
                    });
                }
            }
            Some("result") => {
                let usage = value.get("usage").cloned().unwrap_or(Value::Null);
                out.push(AgentEvent::Usage {
                    input_tokens: u64_at(&usage, "input_tokens")
                        + u64_at(&usage, "cache_creation_input_tokens")
                        + u64_at(&usage, "cache_read_input_tokens"),
                    output_tokens: u64_at(&usage, "output_tokens"),
                    cost_micro_usd: value
                        .get("total_cost_usd")
                        .and_then(Value::as_f64)
                        .filter(|c| c.is_finite() && *c >= 0.0)
                        .map(|c| crate::whole(c * 1_000_000.0)),
                });
                let ok = !value
                    .get("is_error")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    && str_at(&value, "subtype").is_none_or(|s| s == "success");
                if !ok {
                    out.push(AgentEvent::Error {
                        message: str_at(&value, "result")
                            .or_else(|| str_at(&value, "subtype"))
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
                    return raw(line);
                }
            }
        }
        out
    }
}
