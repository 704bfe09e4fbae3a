//! The adapter trait: what Corral needs to know to run one agent runtime headless.

use corral_core::{AgentEvent, Runtime};

/// How much an agent may do without asking. Projects choose; the default lets it edit files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PermissionMode {
    /// File edits are allowed; commands follow the agent's own rules.
    #[default]
    AcceptEdits,
    /// Everything is allowed (the container is the boundary).
    Bypass,
    /// File edits are allowed; anything else is asked of a person through Corral's
    /// `permission_prompt` tool, where the agent has a headless hook for it (Claude Code's
    /// `--permission-prompt-tool`); an agent without one runs as with `AcceptEdits`.
    Ask,
    /// Reading only (a consult run): Claude Code's plan mode, Codex's read-only sandbox, Gemini
    /// CLI's default approvals (which refuse edits headless), the ACP bridge refusing all but
    /// reads. OpenCode, Aider and Cursor have no such mode (Corral does not consult them where
    /// nothing else keeps them from writing).
    ReadOnly,
}

/// The name of the MCP tool an agent's permission requests go to (`PermissionMode::Ask`).
pub const PERMISSION_TOOL: &str = "permission_prompt";

/// One agent invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentRequest {
    pub prompt: String,
    pub model: Option<String>,
    /// The session to resume with `prompt` as the follow-up message.
    pub resume: Option<String>,
    pub permission: PermissionMode,
    /// Where the agent's model API is, when not the vendor's (tests: a loopback server).
    pub base_url: Option<String>,
    /// The agent's command line, for runtimes that run one the user gives (ACP).
    pub agent_command: Vec<String>,
    /// The agent's own home folder for this run (inside the sandbox).
    pub home: String,
    /// Whether it runs inside an isolated container (the container is then the boundary, and
    /// an agent's own sandbox, which cannot nest in a hardened container, is switched off).
    pub in_container: bool,
    /// Corral's MCP server for the run, which the agent starts as a stdio server.
    pub mcp: Option<McpServer>,
}

/// How an agent starts Corral's MCP server: a command speaking MCP on its stdio (the relay's
/// `mcp` mode, a pipe to the run's server in Corral).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServer {
    pub command: String,
    pub args: Vec<String>,
}

/// The name the agent knows Corral's MCP server by (its tools appear as `corral` tools, e.g.
/// Claude Code's `mcp__corral__create_task`).
pub const MCP_SERVER_NAME: &str = "corral";

impl McpServer {
    /// `{"mcpServers":{"corral":{...}}}`: the JSON shape Claude Code and Gemini CLI read.
    pub fn servers_json(&self) -> serde_json::Value {
        serde_json::json!({
            "mcpServers": {
                MCP_SERVER_NAME: {
                    "type": "stdio",
                    "command": self.command,
                    "args": self.args,
                }
            }
        })
    }
}

/// Turns an agent's output, line by line, into events.
pub trait StreamParser: Send {
    fn line(&mut self, line: &str) -> Vec<AgentEvent>;
    /// The output ended.
    fn finish(&mut self) -> Vec<AgentEvent> {
        Vec::new()
    }
}

pub trait Adapter: Send + Sync {
    fn runtime(&self) -> Runtime;
    /// The agent's own program, as a user would look for it on PATH (its command line may
    /// start with something else, e.g. a shell feeding it the prompt).
    fn program(&self) -> &'static str;
    /// The argument vector of a headless run (never a shell string: the prompt is one argument).
    fn command(&self, request: &AgentRequest) -> Vec<String>;
    /// Environment variables the run needs besides API keys (telemetry and updates off, homes).
    fn env(&self, request: &AgentRequest) -> Vec<(String, String)>;
    /// Names of the API key variables the runtime reads (the first that is set is used).
    fn key_names(&self) -> &'static [&'static str];
    /// The project environment variable that overrides where its model API is.
    fn base_url_env(&self) -> &'static str;
    /// Configuration files to write into the agent's home before it starts (path relative to
    /// the home, contents).
    fn files(&self, _request: &AgentRequest) -> Vec<(String, String)> {
        Vec::new()
    }
    fn parser(&self) -> Box<dyn StreamParser>;
    /// The pinned package Corral installs into the agent image.
    fn package(&self) -> crate::AgentPackage;
}

/// The adapter of a runtime, for those that have one.
pub fn adapter_for(runtime: Runtime) -> Option<Box<dyn Adapter>> {
    match runtime {
        Runtime::ClaudeCode => Some(Box::new(crate::ClaudeCode)),
        Runtime::Codex => Some(Box::new(crate::Codex)),
        Runtime::Gemini => Some(Box::new(crate::Gemini)),
        Runtime::Cursor => Some(Box::new(crate::Cursor)),
        Runtime::Opencode => Some(Box::new(crate::Opencode)),
        Runtime::Aider => Some(Box::new(crate::Aider)),
        Runtime::Acp => Some(Box::new(crate::Acp)),
        _ => None,
    }
}
