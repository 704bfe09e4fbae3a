//! Why a run failed: a kind front ends branch on (never the message text), the message in words
//! a user can act on, and for most kinds a fix.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of failure ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FailKind {
    /// The Docker daemon did not answer, or stopped answering while the run was live.
    DockerUnreachable,
    /// Docker answered but the run's container could not be made, or stopped on its own.
    Sandbox,
    /// The run's image could not be pulled or built.
    Image,
    /// The project's repository is not where the project says (moved or deleted).
    RepoMissing,
    /// The checkout could not be made or read (git, or the disk).
    Checkout,
    /// The work of the tasks it runs after does not merge cleanly into its checkout.
    UpstreamConflict,
    /// The result of a task it runs after is gone (its branch deleted, its checkout cleaned up).
    UpstreamMissing,
    /// The disk Corral keeps its data on is full.
    DiskFull,
    /// The agent's API key is not set.
    MissingKey,
    /// The project's setup command exited non-zero.
    SetupFailed,
    /// The agent exited non-zero or reported an error.
    AgentExit,
    /// The agent's program is not in the run's image.
    AgentNotFound,
    /// A custom task's command exited non-zero.
    CommandExit,
    /// One of the project's checks failed (and the agent's attempts, if any, are used up).
    VerifyFailed,
    /// A step printed nothing for longer than the project's inactivity timeout.
    Inactivity,
    /// The sandbox ran out of memory.
    OutOfMemory,
    /// The run's own files (its folder or its checkout) were removed while it ran.
    RunFilesRemoved,
    /// The result could not be committed.
    Result,
    /// The run made no progress for far too long and was failed by clean-up.
    Stuck,
    /// The run used up its token budget (`budget-tokens`).
    TokenBudget,
    /// The task cannot run on the project's network setting (an agent with `network=none`).
    Network,
    /// A bug or an unexpected error; the message and the log say more.
    Internal,
    /// Recorded by a Corral from before failures had kinds.
    Unknown,
}

impl FailKind {
    pub const ALL: [FailKind; 23] = [
        FailKind::DockerUnreachable,
        FailKind::Sandbox,
        FailKind::Image,
        FailKind::RepoMissing,
        FailKind::Checkout,
        FailKind::UpstreamConflict,
        FailKind::UpstreamMissing,
        FailKind::DiskFull,
        FailKind::MissingKey,
        FailKind::SetupFailed,
        FailKind::AgentExit,
        FailKind::AgentNotFound,
        FailKind::CommandExit,
        FailKind::VerifyFailed,
        FailKind::Inactivity,
        FailKind::OutOfMemory,
        FailKind::RunFilesRemoved,
        FailKind::Result,
        FailKind::Stuck,
        FailKind::TokenBudget,
        FailKind::Network,
        FailKind::Internal,
        FailKind::Unknown,
    ];

    /// The stored snake_case name (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            FailKind::DockerUnreachable => "docker_unreachable",
            FailKind::Sandbox => "sandbox",
            FailKind::Image => "image",
            FailKind::RepoMissing => "repo_missing",
            FailKind::Checkout => "checkout",
            FailKind::UpstreamConflict => "upstream_conflict",
            FailKind::UpstreamMissing => "upstream_missing",
            FailKind::DiskFull => "disk_full",
            FailKind::MissingKey => "missing_key",
            FailKind::SetupFailed => "setup_failed",
            FailKind::AgentExit => "agent_exit",
            FailKind::AgentNotFound => "agent_not_found",
            FailKind::CommandExit => "command_exit",
            FailKind::VerifyFailed => "verify_failed",
            FailKind::Inactivity => "inactivity",
            FailKind::OutOfMemory => "out_of_memory",
            FailKind::RunFilesRemoved => "run_files_removed",
            FailKind::Result => "result",
            FailKind::Stuck => "stuck",
            FailKind::TokenBudget => "token_budget",
            FailKind::Network => "network",
            FailKind::Internal => "internal",
            FailKind::Unknown => "unknown",
        }
    }

    /// A stored name back to its kind; a name this build does not know is `Unknown`.
    pub fn parse(name: &str) -> FailKind {
        FailKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or(FailKind::Unknown)
    }

    /// What the user can do about it, when the kind alone says (the message may say more).
    pub fn fix(self) -> Option<&'static str> {
        Some(match self {
            FailKind::DockerUnreachable => {
                "start Docker (`corral doctor` checks it), then run the task again; or set the \
                 project's sandbox to local (not isolated)"
            }
            FailKind::Sandbox => "check Docker with `corral doctor`, then run the task again",
            FailKind::Image => "check the project's agent-image or dockerfile setting",
            FailKind::RepoMissing => {
                "point the project at the repository's new place: `corral project set <project> \
                 path=<folder>`"
            }
            FailKind::UpstreamConflict => {
                "make the upstream tasks' work agree (a follow-up to one of them), or merge them \
                 by hand, then run this task again"
            }
            FailKind::UpstreamMissing => {
                "run the upstream task again, or restore its branch, then run this task again"
            }
            FailKind::DiskFull => "free disk space, e.g. with `corral gc`",
            FailKind::MissingKey => {
                "store the key with `corral key set <name>` or in Settings > API keys"
            }
            FailKind::SetupFailed => "fix the project's setup command (its log is in the run)",
            FailKind::AgentNotFound => {
                "use an image that has the agent's program (the project's agent-image)"
            }
            FailKind::VerifyFailed => {
                "send the agent a follow-up with what to fix, fix it by hand, or review it and merge \
                 anyway (`corral merge <run> --force`)"
            }
            FailKind::Inactivity => "raise the project's inactivity-timeout, or run it again",
            FailKind::OutOfMemory => "raise the project's memory limit (setting memory)",
            FailKind::Stuck => "run the task again; the log up to then is kept",
            FailKind::TokenBudget => {
                "raise the project's budget-tokens (or set it off), then run the task again"
            }
            FailKind::Network => {
                "let the project reach the model API: `corral project set <project> network=allowlist`"
            }
            FailKind::Internal => "see the log in the data dir's logs folder",
            FailKind::Checkout
            | FailKind::AgentExit
            | FailKind::CommandExit
            | FailKind::RunFilesRemoved
            | FailKind::Result
            | FailKind::Unknown => return None,
        })
    }
}

impl fmt::Display for FailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailReason {
    pub kind: FailKind,
    /// In words a user can act on ("the verify command exited with 2").
    pub message: String,
}

impl FailReason {
    pub fn new(kind: FailKind, message: impl Into<String>) -> FailReason {
        FailReason {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in FailKind::ALL {
            assert_eq!(FailKind::parse(kind.as_str()), kind);
            let json = serde_json::to_string(&kind).expect("serialises");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(FailKind::parse("from_the_future"), FailKind::Unknown);
    }
}
