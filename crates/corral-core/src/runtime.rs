//! The agent runtimes a task can run with. Adapters live in `corral-agents`; the domain only needs
//! the names, so settings and tasks can be validated.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validate::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    ClaudeCode,
    Codex,
    Gemini,
    Opencode,
    Aider,
    Cursor,
    Acp,
    /// Any command line the user gives, stored as an argument vector.
    Custom,
}

impl Runtime {
    pub const ALL: [Runtime; 8] = [
        Runtime::ClaudeCode,
        Runtime::Codex,
        Runtime::Gemini,
        Runtime::Opencode,
        Runtime::Aider,
        Runtime::Cursor,
        Runtime::Acp,
        Runtime::Custom,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Runtime::ClaudeCode => "claude-code",
            Runtime::Codex => "codex",
            Runtime::Gemini => "gemini",
            Runtime::Opencode => "opencode",
            Runtime::Aider => "aider",
            Runtime::Cursor => "cursor",
            Runtime::Acp => "acp",
            Runtime::Custom => "custom",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Runtime {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Runtime::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| ValidationError::UnknownRuntime {
                given: s.to_string(),
                valid: Runtime::ALL
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_round_trips_through_its_name() {
        for r in Runtime::ALL {
            assert_eq!(r.as_str().parse::<Runtime>().expect("parses"), r);
            let json = serde_json::to_string(&r).expect("serialises");
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }

    #[test]
    fn unknown_runtime_lists_the_valid_ones() {
        let err = "gpt".parse::<Runtime>().expect_err("unknown");
        assert!(err.to_string().contains("claude-code, codex"), "{err}");
    }
}
