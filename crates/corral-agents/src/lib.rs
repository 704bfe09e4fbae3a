//! Agent adapters: for each runtime, the headless command line with structured output, the
//! environment it needs, and a streaming parser from its output to `AgentEvent`s. A parser never
//! fails: what it does not understand becomes `AgentEvent::Raw`.

mod acp;
mod adapter;
mod aider;
mod claude;
mod codex;
mod cursor;
mod gemini;
mod image;
mod json;
mod opencode;

pub use acp::{Acp, acp_inner};
pub use adapter::{
    Adapter, AgentRequest, MCP_SERVER_NAME, McpServer, PERMISSION_TOOL, PermissionMode,
    StreamParser, adapter_for,
};
pub use aider::{AIDER_SESSION, Aider};
pub use claude::ClaudeCode;
pub use codex::Codex;
pub use cursor::Cursor;
pub use gemini::{GEMINI_DEFAULT_MODEL, Gemini};
pub use image::{AGENT_PREFIX, AgentImage, AgentPackage, DEFAULT_BASE_IMAGE, agent_image};
pub use opencode::Opencode;

/// A non-negative amount from an agent's JSON (tokens in thousands, a cost in dollars) as a
/// whole number: rounded, and saturating (a negative or absurd value becomes 0 or u64::MAX).
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn whole(amount: f64) -> u64 {
    amount.round() as u64
}
