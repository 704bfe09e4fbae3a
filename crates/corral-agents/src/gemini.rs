//! Gemini CLI (npm `@google/gemini-cli`): `gemini -p <prompt> --output-format stream-json`, one
//! JSON object per line: `init` (session id), `message` (the user's prompt echoed, then the
//! assistant's text in `delta` chunks), `tool_use` / `tool_result`, `error` (severity error or
//! warning; a `result` still follows), and a final `result` with status and token stats.

use corral_core::{AgentEvent, Runtime, ToolKind};
use serde_json::Value;

use crate::adapter::{Adapter, AgentRequest, PermissionMode, StreamParser};
use crate::json::{json_line, raw, str_at, u64_at, workspace_relative};

#[derive(Debug, Clone, Copy, Default)]
pub struct Gemini;

/// The model when neither task nor project names one: without `-m` the CLI asks a routing
/// model first on every turn.
pub const GEMINI_DEFAULT_MODEL: &str = "gemini-2.5-pro";

/// Its settings: API-key auth (needed for a base URL to be used in headless mode), folder trust
/// off (else yolo is quietly downgraded), no auto-update, usage statistics or telemetry, and no
/// session clean-up (which can delete a session a follow-up resumes).
const SETTINGS: &str = r#"{
  "security": { "auth": { "selectedType": "gemini-api-key" }, "folderTrust": { "enabled": false } },
  "general": {
    "enableAutoUpdate": false,
    "enableAutoUpdateNotification": false,
    "sessionRetention": { "enabled": false }
  },
  "privacy": { "usageStatisticsEnabled": false },
  "telemetry": { "enabled": false }
}
"#;

impl Adapter for Gemini {
    fn runtime(&self) -> Runtime {
        Runtime::Gemini
    }

    fn program(&self) -> &'static str {
        "gemini"
    }

    fn command(&self, request: &AgentRequest) -> Vec<String> {
        let mut argv: Vec<String> = ["gemini", "-p"].map(String::from).to_vec();
        argv.push(request.prompt.clone());
        argv.extend(["--output-format", "stream-json", "--approval-mode"].map(String::from));
        argv.push(
            match request.permission {
                PermissionMode::AcceptEdits | PermissionMode::Ask => "auto_edit",
                PermissionMode::ReadOnly => "default",
                PermissionMode::Bypass => "yolo",
            }
            .into(),
        );
        argv.push("-m".into());
        argv.push(
            request
                .model
                .clone()
                .unwrap_or_else(|| GEMINI_DEFAULT_MODEL.into()),
        );
        if let Some(session) = &request.resume {
            argv.push("--resume".into());
            argv.push(session.clone());
        }
        argv
    }

    fn env(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let mut env = vec![
            ("HOME".to_string(), request.home.clone()),
            // One process: it would otherwise relaunch itself with a bigger heap.
            ("GEMINI_CLI_NO_RELAUNCH".to_string(), "true".to_string()),
            ("GEMINI_CLI_TRUST_WORKSPACE".to_string(), "true".to_string()),
        ];
        if let Some(url) = &request.base_url {
            env.push(("GOOGLE_GEMINI_BASE_URL".to_string(), url.clone()));
        }
        env
    }

    fn key_names(&self) -> &'static [&'static str] {
        &["GEMINI_API_KEY", "GOOGLE_API_KEY"]
    }

    fn base_url_env(&self) -> &'static str {
        "GOOGLE_GEMINI_BASE_URL"
    }

    fn files(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let settings = match &request.mcp {
            None => SETTINGS.to_string(),
            Some(mcp) => {
                let mut settings: serde_json::Value =
                    serde_json::from_str(SETTINGS).unwrap_or_default();
                let mut servers = mcp.servers_json();
                // Trusted: its tool calls need no confirmation nobody is there to give.
                servers["mcpServers"][crate::adapter::MCP_SERVER_NAME]["trust"] = true.into();
                settings["mcpServers"] = servers["mcpServers"].take();
                format!("{settings:#}\n")
            }
        };
        vec![(".gemini/settings.json".to_string(), settings)]
    }

    fn package(&self) -> crate::AgentPackage {
        crate::AgentPackage::Npm {
            name: "@google/gemini-cli",
            version: "0.61.0",
        }
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(GeminiParser::default())
    }
}

fn tool_kind(name: &str) -> ToolKind {
    match name {
        "write_file" | "replace" => ToolKind::FileEdit,
        "run_shell_command" | "list_background_processes" | "read_background_output" => {
            ToolKind::Command
        }
        "read_file" | "read_many_files" | "web_fetch" | "list_directory" => ToolKind::Read,
        "glob" | "grep_search" | "search_file_content" | "google_web_search" => ToolKind::Search,
        _ => ToolKind::Other,
    }
}

/// Parses `gemini --output-format stream-json`. Assistant text arrives in small chunks; they
/// are joined into one `AssistantText` when anything else comes (or the output ends).
#[derive(Debug, Default)]
pub struct GeminiParser {
    text: String,
}

impl GeminiParser {
    fn flush(&mut self, out: &mut Vec<AgentEvent>) {
        if !self.text.is_empty() {
            out.push(AgentEvent::AssistantText {
                text: std::mem::take(&mut self.text),
            });
        }
    }
}

impl StreamParser for GeminiParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let value = match json_line(line) {
            Ok(value) => value,
            Err(instead) => {
                let mut out = Vec::new();
                self.flush(&mut out);
                out.extend(instead);
                return out;
            }
        };
        let mut out = Vec::new();
        let kind = str_at(&value, "type");
        if kind == Some("message") && str_at(&value, "role") == Some("assistant") {
            let chunk = str_at(&value, "content").unwrap_or_default();
            if value.get("delta").and_then(Value::as_bool) == Some(true) {
                self.text.push_str(chunk);
            } else {
                self.flush(&mut out);
                out.push(AgentEvent::AssistantText { text: chunk.into() });
            }
            return out;
        }
        self.flush(&mut out);
        match kind {
            Some("init") => match str_at(&value, "session_id") {
                Some(id) => out.push(AgentEvent::SessionStarted {
                    session_id: id.into(),
                }),
                None => out.extend(raw(line)),
            },
            // The user's own prompt, echoed.
            Some("message") => {}
            Some("tool_use") => {
                let name = str_at(&value, "tool_name").unwrap_or("tool").to_string();
                let input = value.get("parameters").cloned().unwrap_or(Value::Null);
                let kind = tool_kind(&name);
                let edited = (kind == ToolKind::FileEdit)
                    .then(|| str_at(&input, "file_path"))
                    .flatten()
                    .map(workspace_relative);
                out.push(AgentEvent::ToolCall {
                    id: str_at(&value, "tool_id").unwrap_or_default().into(),
                    name,
                    input,
                    kind,
                });
                if let Some(path) = edited {
                    out.push(AgentEvent::FileEdit { path });
                }
            }
            Some("tool_result") => {
                let error = value.get("error").and_then(|e| str_at(e, "message"));
                out.push(AgentEvent::ToolResult {
                    id: str_at(&value, "tool_id").unwrap_or_default().into(),
                    ok: str_at(&value, "status") == Some("success"),
                    output: str_at(&value, "output")
                        .or(error)
                        .unwrap_or_default()
                        .into(),
                });
            }
            Some("error") if str_at(&value, "severity") != Some("warning") => {
                out.push(AgentEvent::Error {
                    message: str_at(&value, "message").unwrap_or("error").into(),
                });
            }
            Some("result") => {
                let stats = value.get("stats").cloned().unwrap_or(Value::Null);
                out.push(AgentEvent::Usage {
                    input_tokens: u64_at(&stats, "input_tokens"),
                    output_tokens: u64_at(&stats, "output_tokens"),
                    cost_micro_usd: None,
                });
                let ok = str_at(&value, "status") == Some("success");
                if !ok {
                    out.push(AgentEvent::Error {
                        message: value
                            .get("error")
                            .and_then(|e| str_at(e, "message"))
                            .unwrap_or("the agent reported an error")
                            .into(),
                    });
                }
                out.push(AgentEvent::Finished { ok, summary: None });
            }
            _ => out.extend(raw(line)),
        }
        out
    }

    fn finish(&mut self) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        self.flush(&mut out);
        out
    }
}
