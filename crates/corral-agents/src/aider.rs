//! Aider (PyPI `aider-chat`): `aider --message <prompt>` prints plain text, recorded as text
//! events: a banner (`Aider v…`, `Model: …`), the assistant's words (edits as a file name and a
//! fenced block), `Tokens: N sent, M received. Cost: $x message, $y session.`, and `Applied edit
//! to <path>` per edited file. It exits 0 even when the model API fails; the failure is a
//! `litellm.<Kind>Error: …` line. Its conversation is a chat-history file in the run's home; a
//! follow-up restores it (`--restore-chat-history`).

use corral_core::{AgentEvent, Runtime, ToolKind};

use crate::adapter::{Adapter, AgentRequest, StreamParser};

#[derive(Debug, Clone, Copy, Default)]
pub struct Aider;

/// The "session" Aider resumes: its chat-history file in the run's home (copied to a follow-up).
pub const AIDER_SESSION: &str = "chat-history";

impl Aider {
    fn model(request: &AgentRequest) -> Option<String> {
        // Through a base URL it speaks OpenAI's API: litellm wants the `openai/` prefix.
        match (&request.model, &request.base_url) {
            (Some(model), Some(_)) if !model.starts_with("openai/") => {
                Some(format!("openai/{model}"))
            }
            (model, _) => model.clone(),
        }
    }
}

impl Adapter for Aider {
    fn runtime(&self) -> Runtime {
        Runtime::Aider
    }

    fn program(&self) -> &'static str {
        "aider"
    }

    fn command(&self, request: &AgentRequest) -> Vec<String> {
        let state = format!("{}/.aider", request.home);
        let mut argv: Vec<String> = vec!["aider".into()];
        if let Some(model) = Self::model(request) {
            argv.push("--model".into());
            argv.push(model);
        }
        argv.extend(
            [
                "--yes-always",
                "--no-auto-commits",
                "--no-dirty-commits",
                "--no-check-update",
                "--no-show-release-notes",
                "--no-show-model-warnings",
                "--no-analytics",
                "--no-pretty",
                "--no-fancy-input",
                "--no-gitignore",
                "--no-detect-urls",
                "--no-auto-lint",
                "--no-suggest-shell-commands",
            ]
            .map(String::from),
        );
        for (flag, file) in [
            ("--chat-history-file", "chat.md"),
            ("--input-history-file", "input.history"),
            ("--llm-history-file", "llm.history"),
        ] {
            argv.push(flag.into());
            argv.push(format!("{state}/{file}"));
        }
        if request.base_url.is_some() {
            argv.push("--model-metadata-file".into());
            argv.push(format!("{state}/model-metadata.json"));
        }
        if request.resume.is_some() {
            argv.push("--restore-chat-history".into());
        }
        argv.push("--message".into());
        argv.push(request.prompt.clone());
        argv
    }

    fn env(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let mut env = vec![
            ("HOME".to_string(), request.home.clone()),
            (
                "LITELLM_LOCAL_MODEL_COST_MAP".to_string(),
                "True".to_string(),
            ),
            // Its status lines wrap at 80 columns when stdout is not a terminal.
            ("COLUMNS".to_string(), "10000".to_string()),
        ];
        if let Some(url) = &request.base_url {
            env.push(("OPENAI_API_BASE".to_string(), url.clone()));
        }
        env
    }

    fn key_names(&self) -> &'static [&'static str] {
        &["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]
    }

    fn base_url_env(&self) -> &'static str {
        "OPENAI_BASE_URL"
    }

    /// With a base URL, metadata for the model (else it fetches litellm's list from GitHub on
    /// every run).
    fn files(&self, request: &AgentRequest) -> Vec<(String, String)> {
        let (Some(model), Some(_)) = (Self::model(request), &request.base_url) else {
            return Vec::new();
        };
        let metadata = serde_json::json!({
            model: {
                "max_tokens": 8192,
                "max_input_tokens": 128000,
                "max_output_tokens": 8192,
                "input_cost_per_token": 0,
                "output_cost_per_token": 0,
                "litellm_provider": "openai",
                "mode": "chat"
            }
        });
        vec![(
            ".aider/model-metadata.json".to_string(),
            format!("{metadata:#}\n"),
        )]
    }

    fn package(&self) -> crate::AgentPackage {
        crate::AgentPackage::Pip {
            name: "aider-chat",
            version: "0.86.2",
            program: "aider",
        }
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(AiderParser::default())
    }
}

/// Parses Aider's plain text: consecutive lines of the assistant become one text event.
#[derive(Debug, Default)]
pub struct AiderParser {
    text: Vec<String>,
    started: bool,
    failed: bool,
    edits: usize,
}

const BANNER: [&str; 7] = [
    "Aider v",
    "Model: ",
    "Main model: ",
    "Weak model: ",
    "Git repo: ",
    "Repo-map: ",
    "Restored previous conversation history.",
];

/// `594`, `1.2k`, `12k` -> tokens.
fn count(text: &str) -> u64 {
    let text = text.trim();
    match text.strip_suffix('k') {
        Some(k) => k
            .parse::<f64>()
            .map(|n| crate::whole(n * 1000.0))
            .unwrap_or(0),
        None => text.parse().unwrap_or(0),
    }
}

/// `Tokens: 594 sent, 1.2k cache hit, 18 received. Cost: $0.00063 message, $0.001 session.`
fn usage(line: &str) -> Option<AgentEvent> {
    let rest = line.strip_prefix("Tokens: ")?;
    let (counts, cost) = rest.split_once(". Cost: $").unwrap_or((rest, ""));
    let mut sent = 0;
    let mut received = 0;
    for part in counts.trim_end_matches('.').split(", ") {
        if let Some(n) = part.strip_suffix(" sent") {
            sent = count(n);
        } else if let Some(n) = part.strip_suffix(" received") {
            received = count(n);
        }
    }
    let cost = cost
        .split_whitespace()
        .next()
        .and_then(|c| c.parse::<f64>().ok())
        .filter(|c| c.is_finite() && *c > 0.0)
        .map(|c| crate::whole(c * 1_000_000.0));
    Some(AgentEvent::Usage {
        input_tokens: sent,
        output_tokens: received,
        cost_micro_usd: cost,
    })
}

impl AiderParser {
    fn flush(&mut self, out: &mut Vec<AgentEvent>) {
        let text = self.text.join("\n");
        self.text.clear();
        let text = text.trim_matches('\n');
        if !text.trim().is_empty() {
            out.push(AgentEvent::AssistantText { text: text.into() });
        }
    }
}

impl StreamParser for AiderParser {
    fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        if line.starts_with("Aider v") && !self.started {
            self.started = true;
            out.push(AgentEvent::SessionStarted {
                session_id: AIDER_SESSION.into(),
            });
        }
        if BANNER.iter().any(|b| line.starts_with(b)) {
            self.flush(&mut out);
            out.push(AgentEvent::Raw {
                line: line.to_string(),
            });
        } else if let Some(path) = line.strip_prefix("Applied edit to ") {
            // The file's name echoed just before (a confirmation it answered) is not text.
            if self.text.last().is_some_and(|l| l.trim() == path.trim()) {
                self.text.pop();
            }
            self.flush(&mut out);
            self.edits += 1;
            let id = format!("edit-{}", self.edits);
            out.push(AgentEvent::ToolCall {
                id: id.clone(),
                name: "edit".into(),
                input: serde_json::json!({ "path": path }),
                kind: ToolKind::FileEdit,
            });
            out.push(AgentEvent::FileEdit { path: path.into() });
            out.push(AgentEvent::ToolResult {
                id,
                ok: true,
                output: line.to_string(),
            });
        } else if let Some(event) = usage(line) {
            self.flush(&mut out);
            out.push(event);
        } else if line.starts_with("litellm.") && line.contains("Error") {
            self.flush(&mut out);
            self.failed = true;
            out.push(AgentEvent::Error {
                message: line.to_string(),
            });
        } else if line.starts_with("Retrying in ") || line.starts_with("Update git ") {
            self.flush(&mut out);
            out.push(AgentEvent::Raw {
                line: line.to_string(),
            });
        } else {
            self.text.push(line.to_string());
        }
        out
    }

    fn finish(&mut self) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        self.flush(&mut out);
        if self.started {
            out.push(AgentEvent::Finished {
                ok: !self.failed,
                summary: None,
            });
        }
        out
    }
}
