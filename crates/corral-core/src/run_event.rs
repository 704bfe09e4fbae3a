//! The body of one entry in a run's ordered log. Stored as a kind name plus a JSON payload.

use serde::{Deserialize, Serialize};

use crate::fail::FailKind;
use crate::run_status::RunStatus;

/// Which step of a run produced output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    Prepare,
    Setup,
    Agent,
    Verify,
    Finish,
}

impl StepName {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepName::Prepare => "prepare",
            StepName::Setup => "setup",
            StepName::Agent => "agent",
            StepName::Verify => "verify",
            StepName::Finish => "finish",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunEventBody {
    /// One line a step printed (without its newline). `offset` is the byte position after it
    /// in the step's output file: where following resumes after a restart.
    Output {
        step: StepName,
        stream: OutputStream,
        line: String,
        #[serde(default)]
        offset: Option<u64>,
    },
    /// A step started with this command line.
    StepStarted { step: StepName, argv: Vec<String> },
    /// A step ended with this exit code.
    StepExited { step: StepName, exit_code: i64 },
    /// The run moved between states.
    StateChanged {
        from: RunStatus,
        to: RunStatus,
        /// Why it failed, when it moved to `failed`.
        reason: Option<String>,
        /// The failure's kind (absent in logs written before failures had kinds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fail_kind: Option<FailKind>,
    },
    /// The result of a task this run's task runs after, brought into its checkout before it
    /// started (`merged` false: the checkout held it already).
    UpstreamMerged {
        task_id: crate::ids::TaskId,
        run_id: crate::ids::RunId,
        commit: String,
        merged: bool,
        /// The project branch's commit the checkout started from, before any upstream work
        /// was merged in (absent in logs written before it was recorded). Recorded by Corral:
        /// the checkout's own refs are the sandbox's to rewrite.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project_commit: Option<String>,
    },
    /// Another live run of the same project changed a path this run changed too: a conflict
    /// to expect when both are merged. Each of the two runs gets one per path.
    Overlap {
        run_id: crate::ids::RunId,
        task_id: crate::ids::TaskId,
        path: String,
    },
    /// Something Corral itself wants on the record ("pulling image ...").
    Note { text: String },
    /// A request from the sandbox through Corral's gateway: to a model API or through its
    /// proxy, allowed or blocked.
    Network {
        request: crate::network::NetworkRequest,
    },
    /// A call the agent made to a tool of its run's MCP server.
    ToolCall { call: crate::tool_call::ToolCall },
    /// A short status line the agent reported (`report_progress`).
    Progress { text: String },
    /// Something the coding agent did, parsed from its output (the output lines themselves are
    /// kept as `Output` too).
    Agent {
        event: crate::agent_event::AgentEvent,
    },
    /// A file of the checkout changed (paths are relative to the checkout; a name that is not
    /// UTF-8 is shown with U+FFFD).
    FileChanged {
        path: String,
        change: FileChangeKind,
        /// For a rename: where it came from.
        #[serde(default)]
        from: Option<String>,
        /// Bytes after the change; `None` when removed or not a regular file.
        size: Option<u64>,
        /// For a symbolic link: its target text (the link is never followed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<String>,
    },
    /// One of the project's checks starts (its output follows as the `verify` step's).
    CheckStarted {
        name: String,
        command: String,
        attempt: u32,
    },
    /// One of the project's checks ended.
    CheckEnded { result: crate::check::CheckResult },
    /// The checks failed and the agent goes again: its session resumes with the failures.
    VerifyRetry {
        /// The attempt that starts now (2 for the first retry).
        attempt: u32,
        /// Of how many at most (1 + verify-retries).
        of: u32,
        /// The checks that failed the previous attempt.
        failed: Vec<String>,
        /// What the agent was told.
        message: String,
    },
    /// An orchestrator said its goal is done (`finish`), with its summary.
    OrchestratorFinished { summary: String },
    /// Corral woke a waiting orchestrator with a follow-up turn: why, and what it was told.
    OrchestratorWoken { reason: WakeReason, message: String },
    /// An agent reviewer gave its verdict (`submit_review`), in its own (consult) run's log.
    ReviewSubmitted {
        review: crate::review::SubmittedReview,
    },
    /// A file of the checkout bigger than the project's `max-file-size` was left out of the
    /// run's commit (it stays in the checkout).
    FileLeftOut {
        path: String,
        size: u64,
        /// The project's limit when the result was recorded.
        max_bytes: u64,
    },
}

/// Why Corral woke a waiting orchestrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum WakeReason {
    /// Every subtask it started has ended: their results.
    SubtasksEnded,
    /// A subtask failed, and it asked to hear of failures at once (`wake_on_failure`).
    SubtaskFailed,
    /// A subtask asked a question (`ask_human`): it answers or passes it on.
    Question,
    /// Its subtasks' work does not merge into one branch: the paths in conflict.
    Conflict,
    /// It ended a turn without `finish` and with nothing new: told once to finish.
    Nudge,
}

impl WakeReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            WakeReason::SubtasksEnded => "subtasks_ended",
            WakeReason::SubtaskFailed => "subtask_failed",
            WakeReason::Question => "question",
            WakeReason::Conflict => "conflict",
            WakeReason::Nudge => "nudge",
        }
    }
}

/// What happened to a file of a run's checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeKind {
    Created,
    Modified,
    Removed,
    Renamed,
}

impl FileChangeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            FileChangeKind::Created => "created",
            FileChangeKind::Modified => "modified",
            FileChangeKind::Removed => "removed",
            FileChangeKind::Renamed => "renamed",
        }
    }
}

impl RunEventBody {
    /// The kind name stored beside the payload, for filtering without parsing JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            RunEventBody::Output { .. } => "output",
            RunEventBody::StepStarted { .. } => "step_started",
            RunEventBody::StepExited { .. } => "step_exited",
            RunEventBody::StateChanged { .. } => "state_changed",
            RunEventBody::UpstreamMerged { .. } => "upstream_merged",
            RunEventBody::Overlap { .. } => "overlap",
            RunEventBody::Note { .. } => "note",
            RunEventBody::Network { .. } => "network",
            RunEventBody::FileChanged { .. } => "file_changed",
            RunEventBody::FileLeftOut { .. } => "file_left_out",
            RunEventBody::CheckStarted { .. } => "check_started",
            RunEventBody::CheckEnded { .. } => "check_ended",
            RunEventBody::VerifyRetry { .. } => "verify_retry",
            RunEventBody::ReviewSubmitted { .. } => "review_submitted",
            RunEventBody::OrchestratorFinished { .. } => "orchestrator_finished",
            RunEventBody::OrchestratorWoken { .. } => "orchestrator_woken",
            RunEventBody::Agent { .. } => "agent",
            RunEventBody::ToolCall { .. } => "tool_call",
            RunEventBody::Progress { .. } => "progress",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_matches_the_serde_tag() {
        let bodies = [
            RunEventBody::Output {
                step: StepName::Agent,
                stream: OutputStream::Stderr,
                line: "x".into(),
                offset: Some(2),
            },
            RunEventBody::StepStarted {
                step: StepName::Verify,
                argv: vec!["make".into()],
            },
            RunEventBody::StepExited {
                step: StepName::Verify,
                exit_code: 2,
            },
            RunEventBody::StateChanged {
                from: RunStatus::Queued,
                to: RunStatus::Preparing,
                reason: None,
                fail_kind: None,
            },
            RunEventBody::StateChanged {
                from: RunStatus::Running,
                to: RunStatus::Failed,
                reason: Some("the agent exited with 1".into()),
                fail_kind: Some(FailKind::AgentExit),
            },
            RunEventBody::Note { text: "hi".into() },
            RunEventBody::ToolCall {
                call: crate::tool_call::ToolCall {
                    tool: "create_task".into(),
                    arguments: r#"{"title":"x"}"#.into(),
                    outcome: crate::tool_call::ToolOutcome::Error {
                        message: "no".into(),
                    },
                },
            },
            RunEventBody::Progress {
                text: "half way".into(),
            },
            RunEventBody::FileChanged {
                path: "src/a b.rs".into(),
                change: FileChangeKind::Renamed,
                from: Some("src/old.rs".into()),
                size: Some(12),
                link: None,
            },
        ];
        for body in bodies {
            let json: serde_json::Value = serde_json::to_value(&body).expect("serialises");
            assert_eq!(json["kind"], body.kind());
            let back: RunEventBody = serde_json::from_value(json).expect("deserialises");
            assert_eq!(back, body);
        }
    }

    #[test]
    fn a_state_change_logged_before_failures_had_kinds_still_reads() {
        let old = r#"{"kind":"state_changed","from":"running","to":"failed","reason":"boom"}"#;
        let body: RunEventBody = serde_json::from_str(old).expect("deserialises");
        assert_eq!(
            body,
            RunEventBody::StateChanged {
                from: RunStatus::Running,
                to: RunStatus::Failed,
                reason: Some("boom".into()),
                fail_kind: None,
            }
        );
    }
}

/// One stored entry of a run's log. `seq` is gap-free per run, starting at 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvent {
    pub run_id: crate::ids::RunId,
    pub seq: i64,
    pub at: crate::time::Timestamp,
    pub body: RunEventBody,
}
