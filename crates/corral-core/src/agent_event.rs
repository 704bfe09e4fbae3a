//! What a coding agent did, normalised across runtimes: each adapter's parser turns the agent's
//! own output into these.

use serde::{Deserialize, Serialize};

/// What kind of thing a tool call does, for icons and filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    FileEdit,
    Command,
    Read,
    Search,
    Mcp,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AgentEvent {
    /// The agent's session id (what a follow-up resumes).
    SessionStarted {
        session_id: String,
    },
    AssistantText {
        text: String,
    },
    Thinking {
        text: String,
    },
    ToolCall {
        id: String,
        name: String,
        /// The tool's input as the agent gave it (JSON).
        input: serde_json::Value,
        kind: ToolKind,
    },
    ToolResult {
        id: String,
        ok: bool,
        output: String,
    },
    /// The agent wrote this file (relative to the checkout when it was inside it).
    FileEdit {
        path: String,
    },
    Usage {
        input_tokens: u64,
        output_tokens: u64,
        /// In millionths of a US dollar, when the agent reports a cost.
        cost_micro_usd: Option<u64>,
    },
    Error {
        message: String,
    },
    Finished {
        ok: bool,
        summary: Option<String>,
    },
    /// A line the parser did not understand, kept as it was.
    Raw {
        line: String,
    },
}
