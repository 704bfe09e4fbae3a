//! Any agent that speaks the Agent Client Protocol, given as a command line (`gemini --acp`,
//! `opencode acp`). ACP is a conversation over the agent's stdin and stdout, so the client runs
//! next to the agent, inside the run's sandbox: a small Node.js bridge (`acp_bridge.mjs`,
//! written into the agent's home) initialises the agent, opens or loads the session, sends the
//! prompt, answers permission requests as the project allows, and prints every `session/update`
//! and its own `corral_acp` lines as JSON lines. The step stays durable like any agent's: its
//! output is in files, its end is an exit status. This module parses those lines.

use corral_core::{AgentEvent, Runtime, ToolKind};
use serde_json::Value;

use crate::adapter::{Adapter, AgentRequest, PermissionMode, StreamParser};
use crate::json::{json_line, raw, str_at, workspace_relative};

const BRIDGE: &str = include_str!("acp_bridge.mjs");
const BRIDGE_FILE: &str = ".corral/acp_bridge.mjs";
const PROMPT_FILE: &str = ".corral/prompt.txt";

#[derive(Debug, Clone, Copy, Default)]
pub struct Acp;

/// The adapter of a known agent run in ACP mode (by its program's name), whose settings and
/// package Corral then provides too.
pub fn acp_inner(agent_command: &[String]) -> Option<Box<dyn Adapter>> {
    let program = agent_command.first()?;
    let name = std::path::Path::new(program).file_name()?.to_str()?;
    corral_core::Runtime::ALL
        .into_iter()
        .filter(|r| *r != Runtime::Acp)
        .filter_map(crate::adapter_for)
        .find(|a| a.program() == name)
}

impl Adapter for Acp {
    fn runtime(&self) -> Runtime {
        Runtime::Acp
    }

    fn program(&self) -> &'static str {
        "node"
    }

    fn command(&self, request: &AgentRequest) -> Vec<String> {
        let mut argv = vec![
            "node".to_string(),
            format!("{}/{BRIDGE_FILE}", request.home),
            "--prompt-file".to_string(),
            format!("{}/{PROMPT_FILE}", request.home),
            "--permission".to_string(),
            match request.permission {
                PermissionMode::AcceptEdits => "edits",
                PermissionMode::Bypass => "bypass",
                // Asked of a person through Corral's permission tool (with its MCP server).
                PermissionMode::Ask if request.mcp.is_some() => "ask",
                PermissionMode::Ask => "edits",
                PermissionMode::ReadOnly => "readonly",
            }
            .to_string(),
        ];
        if let Some(session) = &request.resume {
            argv.push("--resume".into());
            argv.push(session.clone());
        }
        if let Some(mcp) = &request.mcp {
            // ACP's stdio server shape, given to the agent in `session/new`.
            argv.push("--mcp".into());
            argv.push(
                serde_json::json!({
                    "name": crate::adapter::MCP_SERVER_NAME,
                    "command": mcp.command,
                    "args": mcp.args,
                    "env": [],
                })
                .to_string(),
            );
        }
        argv.push("--".into());
        argv.extend(request.agent_command.iter().cloned());
        argv
    }

    fn env(&self, request: &AgentRequest) -> Vec<(String, String)> {
        match acp_inner(&request.agent_command) {
            Some(inner) => inner.env(request),
            None => vec![("HOME".to_string(), request.home.clone())],
        }
    }

    /// The keys ACP agents commonly read; the first that is set is given to the agent.
    fn key_names(&self) -> &'static [&'static str] {
        &[
            "GEMINI_API_KEY",
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "GOOGLE_API_KEY",
        ]
    }

    /// ACP agents read their own variables (from the project's env); this one is unused.
    fn base_url_env(&self) -> &'static str {
        "ACP_BASE_URL"
    }

    fn files(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let mut files = vec![
            (BRIDGE_FILE.to_string(), BRIDGE.to_string()),
            (PROMPT_FILE.to_string(), request.prompt.clone()),
        ];
        if let Some(inner) = acp_inner(&request.agent_command) {
            // Corral's server reaches the agent through `session/new`, not its own settings.
            let without_mcp = AgentRequest {
                mcp: None,
                ..request.clone()
            };
            files.extend(inner.files(&without_mcp));
        }
        files
    }

    /// Never used for the image: the agent's own package is (see `acp_inner`), or the base
    /// image must hold it.
    fn package(&self) -> crate::AgentPackage {
        crate::AgentPackage::Npm {
            name: "corral-acp-none",
            version: "0",
        }
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(AcpParser::default())
    }
}

fn tool_kind(kind: Option<&str>) -> ToolKind {
    match kind {
        Some("edit" | "delete" | "move") => ToolKind::FileEdit,
        Some("execute") => ToolKind::Command,
        Some("read" | "fetch") => ToolKind::Read,
        Some("search") => ToolKind::Search,
        _ => ToolKind::Other,
    }
}

/// Parses the bridge's lines. Message and thought chunks are joined until something else
/// comes; a tool call is announced once (by its first sighting: a `tool_call` update or a
/// permission request) and answered by its completed or failed update.
#[derive(Debug, Default)]
pub struct AcpParser {
    text: String,
    thought: String,
    announced: Vec<String>,
    answered: Vec<String>,
}

impl AcpParser {
    fn flush(&mut self, out: &mut Vec<AgentEvent>) {
        if !self.thought.is_empty() {
            out.push(AgentEvent::Thinking {
                text: std::mem::take(&mut self.thought),
            });
        }
        if !self.text.is_empty() {
            out.push(AgentEvent::AssistantText {
                text: std::mem::take(&mut self.text),
            });
        }
    }

    fn announce(&mut self, call: &Value, out: &mut Vec<AgentEvent>) {
        let Some(id) = str_at(call, "toolCallId") else {
            return;
        };
        if self.announced.iter().any(|a| a == id) {
            return;
        }
        self.announced.push(id.to_string());
        out.push(AgentEvent::ToolCall {
            id: id.into(),
            name: str_at(call, "title").unwrap_or("tool").into(),
            input: call
                .get("rawInput")
                .cloned()
                .or_else(|| call.get("locations").cloned())
                .unwrap_or(Value::Null),
            kind: tool_kind(str_at(call, "kind")),
        });
    }

    fn settle(&mut self, call: &Value, out: &mut Vec<AgentEvent>) {
        let Some(id) = str_at(call, "toolCallId") else {
            return;
        };
        let status = str_at(call, "status");
        if !matches!(status, Some("completed" | "failed")) || self.answered.iter().any(|a| a == id)
        {
            return;
        }
        self.answered.push(id.to_string());
        let ok = status == Some("completed");
        let content = call
            .get("content")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if ok && tool_kind(str_at(call, "kind")) == ToolKind::FileEdit {
            let paths: Vec<&str> = content
                .iter()
                .filter(|c| str_at(c, "type") == Some("diff"))
                .filter_map(|c| str_at(c, "path"))
                .chain(
                    call.get("locations")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|l| str_at(l, "path")),
                )
                .collect();
            let mut seen: Vec<&str> = Vec::new();
            for path in paths {
                if !seen.contains(&path) {
                    seen.push(path);
                    out.push(AgentEvent::FileEdit {
                        path: workspace_relative(path),
                    });
                }
            }
        }
        let output = content
            .iter()
            .filter_map(|c| c.get("content").and_then(|inner| str_at(inner, "text")))
            .collect::<Vec<_>>()
            .join("\n");
        out.push(AgentEvent::ToolResult {
            id: id.into(),
            ok,
            output: if output.is_empty() {
                call.get("rawOutput")
                    .map(Value::to_string)
                    .unwrap_or_default()
            } else {
                output
            },
        });
    }
}

impl StreamParser for AcpParser {
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
        if let Some(update) = value.get("params").and_then(|p| p.get("update")) {
            match str_at(update, "sessionUpdate") {
                Some("agent_message_chunk") => {
                    let text = update.get("content").and_then(|c| str_at(c, "text"));
                    self.text.push_str(text.unwrap_or_default());
                    return out;
                }
                Some("agent_thought_chunk") => {
                    let text = update.get("content").and_then(|c| str_at(c, "text"));
                    self.thought.push_str(text.unwrap_or_default());
                    return out;
                }
                Some("tool_call") => {
                    self.flush(&mut out);
                    self.announce(update, &mut out);
                    self.settle(update, &mut out);
                }
                Some("tool_call_update") => {
                    self.flush(&mut out);
                    self.announce(update, &mut out);
                    self.settle(update, &mut out);
                }
                // The prompt echoed, the agent's command list, plans, modes: kept as they were.
                _ => {
                    self.flush(&mut out);
                    out.extend(raw(line));
                }
            }
            return out;
        }
        self.flush(&mut out);
        match str_at(&value, "corral_acp") {
            Some("session") => match str_at(&value, "sessionId") {
                Some(id) => out.push(AgentEvent::SessionStarted {
                    session_id: id.into(),
                }),
                None => out.extend(raw(line)),
            },
            Some("permission") => {
                if let Some(call) = value.get("toolCall") {
                    self.announce(call, &mut out);
                }
                out.extend(raw(line));
            }
            Some("done") => {
                let reason = str_at(&value, "stopReason").unwrap_or("end_turn");
                let ok = matches!(reason, "end_turn" | "max_tokens" | "max_turn_requests");
                if !ok {
                    out.push(AgentEvent::Error {
                        message: format!("the agent stopped: {reason}"),
                    });
                }
                out.push(AgentEvent::Finished { ok, summary: None });
            }
            Some("error") => {
                out.push(AgentEvent::Error {
                    message: str_at(&value, "message")
                        .unwrap_or("the ACP bridge failed")
                        .into(),
                });
                out.push(AgentEvent::Finished {
                    ok: false,
                    summary: None,
                });
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
