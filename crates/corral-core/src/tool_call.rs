//! A call an agent made to one of the tools of its run's MCP server, as the run's log keeps it:
//! which tool, its arguments summarised, and what came back.

use serde::{Deserialize, Serialize};

/// The longest arguments or result text kept in the log; longer ones are cut (the whole of a
/// created task is in the task itself).
pub const TOOL_CALL_SUMMARY_CHARS: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The tool's name as the agent called it (it may name no tool of ours).
    pub tool: String,
    /// The arguments as compact JSON, cut to `TOOL_CALL_SUMMARY_CHARS`.
    pub arguments: String,
    pub outcome: ToolOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ToolOutcome {
    /// The tool did what was asked; `summary` says what came back.
    Ok { summary: String },
    /// The agent was given this error (a bad argument, a refusal, a limit).
    Error { message: String },
}

impl ToolOutcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, ToolOutcome::Ok { .. })
    }
}

/// `text` cut to at most `TOOL_CALL_SUMMARY_CHARS` characters, marked with an ellipsis when cut.
pub fn summarise(text: &str) -> String {
    let mut chars = text.char_indices();
    match chars.nth(TOOL_CALL_SUMMARY_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_cut_on_a_character_boundary() {
        assert_eq!(summarise("short"), "short");
        let long = "é".repeat(TOOL_CALL_SUMMARY_CHARS + 10);
        let cut = summarise(&long);
        assert_eq!(cut.chars().count(), TOOL_CALL_SUMMARY_CHARS + 1);
        assert!(cut.ends_with('…'));
        let exact = "a".repeat(TOOL_CALL_SUMMARY_CHARS);
        assert_eq!(summarise(&exact), exact);
    }
}
