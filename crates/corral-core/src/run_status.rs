//! `RunStatus`: a run's state without its data, the one list of states front ends see.

use serde::{Deserialize, Serialize};

/// Where a run is. Terminal statuses never change again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Preparing,
    Running,
    WaitingInput,
    Verifying,
    Succeeded,
    Failed,
    Cancelled,
    /// The app died or Docker lost the container while the run was live.
    Interrupted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 9] = [
        RunStatus::Queued,
        RunStatus::Preparing,
        RunStatus::Running,
        RunStatus::WaitingInput,
        RunStatus::Verifying,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Cancelled,
        RunStatus::Interrupted,
    ];

    /// The one list of terminal statuses (the UI's `isTerminal` mirrors it).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded
                | RunStatus::Failed
                | RunStatus::Cancelled
                | RunStatus::Interrupted
        )
    }

    pub fn is_live(self) -> bool {
        !self.is_terminal()
    }

    /// The name as stored and shown (`waiting_input`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Preparing => "preparing",
            RunStatus::Running => "running",
            RunStatus::WaitingInput => "waiting_input",
            RunStatus::Verifying => "verifying",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(name: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for status in RunStatus::ALL {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).expect("serialises");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(RunStatus::parse("exploded"), None);
    }
}
