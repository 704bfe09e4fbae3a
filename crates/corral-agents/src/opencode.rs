//! OpenCode (npm `opencode-ai`): `opencode run --format json`, one JSON object per line, each
//! with the session id: `step_start` / `step_finish` (one model call; tokens and cost),
//! `tool_use` (a tool in its final state: completed or error), `text` and `reasoning` (whole
//! parts), `error` (the run failed). There is no closing event: the end of the output is the
//! end of the run. The prompt goes in on standard input: a positional prompt with spaces
//! would reach the model wrapped in quotes.

use corral_core::{AgentEvent, Runtime, ToolKind};
use serde_json::Value;

use crate::adapter::{Adapter, AgentRequest, PermissionMode, StreamParser};
use crate::json::{SessionOnce, json_line, raw, str_at, u64_at, workspace_relative};

#[derive(Debug, Clone, Copy, Default)]
pub struct Opencode;

const VERSION: &str = "1.18.33";

/// Where the prompt is written in the agent's home, read from standard input.
const PROMPT_FILE: &str = ".corral/prompt.txt";

impl Adapter for Opencode {
    fn runtime(&self) -> Runtime {
        Runtime::Opencode
    }

    fn program(&self) -> &'static str {
        "opencode"
    }

    fn command(&self, request: &AgentRequest) -> Vec<String> {
        let mut args: Vec<String> = ["run", "--format", "json", "--title", "Corral run"]
            .map(String::from)
            .to_vec();
        if request.permission == PermissionMode::Bypass {
            args.push("--auto".into());
        }
        if let Some(model) = &request.model {
            args.push("-m".into());
            args.push(match &request.base_url {
                Some(_) => format!("corral/{model}"),
                None => model.clone(),
            });
        }
        if let Some(session) = &request.resume {
            args.push("--session".into());
            args.push(session.clone());
        }
        let mut argv: Vec<String> = vec![
            "sh".into(),
            "-c".into(),
            format!("exec opencode \"$@\" < \"$HOME/{PROMPT_FILE}\""),
            "opencode".into(),
        ];
        argv.extend(args);
        argv
    }

    fn env(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let mut env = vec![("HOME".to_string(), request.home.clone())];
        for flag in [
            "OPENCODE_DISABLE_MODELS_FETCH",
            "OPENCODE_DISABLE_AUTOUPDATE",
            "OPENCODE_DISABLE_LSP_DOWNLOAD",
            "OPENCODE_DISABLE_SHARE",
            "OPENCODE_DISABLE_CLAUDE_CODE",
        ] {
            env.push((flag.to_string(), "1".to_string()));
        }
        env
    }

    /// The provider keys it is given (the first that is set); with a base URL, the
    /// OpenAI-compatible provider Corral configures reads OPENAI_API_KEY.
    fn key_names(&self) -> &'static [&'static str] {
        &["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"]
    }

    fn base_url_env(&self) -> &'static str {
        "OPENAI_BASE_URL"
    }

    /// The prompt; its config (an OpenAI-compatible provider `corral` when a base URL is set);
    /// and a config folder that looks installed, so it does not start a background
    /// `npm install` of its plugin package.
    fn files(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let mut config = serde_json::json!({ "$schema": "https://opencode.ai/config.json" });
        if let Some(url) = &request.base_url {
            let model = request.model.clone().unwrap_or_else(|| "default".into());
            config["provider"] = serde_json::json!({
                "corral": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Corral",
                    "options": { "baseURL": url, "apiKey": "{env:OPENAI_API_KEY}" },
                    "models": { model.clone(): {} }
                }
            });
            config["model"] = format!("corral/{model}").into();
        }
        if let Some(mcp) = &request.mcp {
            let mut command = vec![mcp.command.clone()];
            command.extend(mcp.args.iter().cloned());
            config["mcp"] = serde_json::json!({
                crate::adapter::MCP_SERVER_NAME: {
                    "type": "local",
                    "command": command,
                    "enabled": true,
                }
            });
        }
        let dir = ".config/opencode";
        vec![
            (PROMPT_FILE.to_string(), request.prompt.clone()),
            (format!("{dir}/opencode.json"), format!("{config:#}\n")),
            (format!("{dir}/node_modules/.corral"), String::new()),
            (
                format!("{dir}/package.json"),
                format!("{{\"dependencies\":{{\"@opencode-ai/plugin\":\"{VERSION}\"}}}}\n"),
            ),
            (
                format!("{dir}/package-lock.json"),
                format!(
                    "{{\"lockfileVersion\":3,\"packages\":{{\"\":{{\"dependencies\":\
                     {{\"@opencode-ai/plugin\":\"{VERSION}\"}}}}}}}}\n"
                ),
            ),
        ]
    }

    fn package(&self) -> crate::AgentPackage {
        crate::AgentPackage::Npm {
            name: "opencode-ai",
            version: VERSION,
        }
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(OpencodeParser::default())
    }
}

fn tool_kind(name: &str) -> ToolKind {
    match name {
        "write" | "edit" | "patch" | "multiedit" => ToolKind::FileEdit,
        "bash" => ToolKind::Command,
        "read" | "webfetch" | "list" => ToolKind::Read,
        "glob" | "grep" | "websearch" => ToolKind::Search,
        n if n.contains('_') && !n.starts_with("todo") => ToolKind::Mcp,
        _ => ToolKind::Other,
    }
}

/// Parses `opencode run --format json`.
#[derive(Debug, Default)]
pub struct OpencodeParser {
    session: SessionOnce,
    anything: bool,
    failed: bool,
}

impl StreamParser for OpencodeParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let value = match json_line(line) {
            Ok(value) => value,
            Err(instead) => return instead,
        };
        let mut out = Vec::new();
        self.session.see(&value, "sessionID", &mut out);
        let part = value.get("part").cloned().unwrap_or(Value::Null);
        match str_at(&value, "type") {
            Some("step_start") => {}
            Some("text") => out.push(AgentEvent::AssistantText {
                text: str_at(&part, "text").unwrap_or_default().into(),
            }),
            Some("reasoning") => out.push(AgentEvent::Thinking {
                text: str_at(&part, "text").unwrap_or_default().into(),
            }),
            Some("tool_use") => {
                let name = str_at(&part, "tool").unwrap_or("tool").to_string();
                let id = str_at(&part, "callID").unwrap_or_default().to_string();
                let state = part.get("state").cloned().unwrap_or(Value::Null);
                let input = state.get("input").cloned().unwrap_or(Value::Null);
                let kind = tool_kind(&name);
                let ok = str_at(&state, "status") == Some("completed");
                let edited = (kind == ToolKind::FileEdit && ok)
                    .then(|| str_at(&input, "filePath"))
                    .flatten()
                    .map(workspace_relative);
                out.push(AgentEvent::ToolCall {
                    id: id.clone(),
                    name,
                    input,
                    kind,
                });
                if let Some(path) = edited {
                    out.push(AgentEvent::FileEdit { path });
                }
                out.push(AgentEvent::ToolResult {
                    id,
                    ok,
                    output: str_at(&state, "output")
                        .or_else(|| str_at(&state, "error"))
                        .unwrap_or_default()
                        .into(),
                });
            }
            Some("step_finish") => {
                let tokens = part.get("tokens").cloned().unwrap_or(Value::Null);
                out.push(AgentEvent::Usage {
                    input_tokens: u64_at(&tokens, "input"),
                    output_tokens: u64_at(&tokens, "output"),
                    cost_micro_usd: part
                        .get("cost")
                        .and_then(Value::as_f64)
                        .filter(|c| c.is_finite() && *c > 0.0)
                        .map(|c| crate::whole(c * 1_000_000.0)),
                });
            }
            Some("error") => {
                self.failed = true;
                let error = value.get("error").cloned().unwrap_or(Value::Null);
                let message = error
                    .get("data")
                    .and_then(|d| str_at(d, "message"))
                    .or_else(|| str_at(&error, "name"))
                    .unwrap_or("the agent reported an error");
                out.push(AgentEvent::Error {
                    message: message.into(),
                });
                out.push(AgentEvent::Finished {
                    ok: false,
                    summary: None,
                });
            }
            _ => {
                if out.is_empty() {
                    out.extend(raw(line));
                }
            }
        }
        self.anything = true;
        out
    }

    /// It prints no closing event: a run that reported no error finished well.
    fn finish(&mut self) -> Vec<AgentEvent> {
        if self.anything && !self.failed {
            vec![AgentEvent::Finished {
                ok: true,
                summary: None,
            }]
        } else {
            Vec::new()
        }
    }
}
