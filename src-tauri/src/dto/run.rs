//! Runs: the run, why it failed, its checks (its log entries are in `run_event`).

use corral_core::{CheckOutcome, CheckResult, FailKind, FailReason, Run, RunStatus};

use serde::{Deserialize, Serialize};
use specta::Type;

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct RunDto {
    pub id: String,
    pub task_id: String,
    pub project_id: String,
    pub attempt: u32,
    pub state: RunStatus,
    /// Why it failed, when it did.
    pub failure: Option<FailureDto>,
    pub branch: Option<String>,
    pub base_commit: Option<String>,
    pub result_commit: Option<String>,
    pub exit_code: Option<i32>,
    /// Set once the result was merged into the project branch.
    pub merged_commit: Option<String>,
    pub created_at: f64,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    /// Where its steps ran, once it has a sandbox; `local` is NOT isolated.
    pub sandbox: Option<crate::dto::SandboxDto>,
    /// The agent's session, once its agent started (a follow-up resumes it).
    pub agent_session_id: Option<String>,
    /// The run this one follows up, and the message it sent the agent.
    pub follow_up_of: Option<String>,
    pub follow_up_message: Option<String>,
    /// The run whose agent this one answered (`ask_agent`): it is shown under that run.
    pub consult_of: Option<String>,
    /// The agent consulted, when the asker named one (the task's otherwise).
    pub consult_runtime: Option<crate::dto::RuntimeDto>,
    /// The verification attempt it is on (or ended on), from 1.
    pub verify_attempt: u32,
    /// That attempt's check results, in the order they ran.
    pub checks: Vec<CheckResultDto>,
}

/// What one of the project's checks did in one attempt.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct CheckResultDto {
    pub name: String,
    pub command: String,
    pub attempt: u32,
    pub outcome: CheckOutcome,
    /// None when it was stopped (timed out).
    pub exit_code: Option<i32>,
    pub duration_ms: f64,
    /// The end of its output, as the agent was told it.
    pub tail: String,
    /// "exited with 2", "passed", "ran past verify-timeout and was stopped".
    pub how: String,
}

impl From<&CheckResult> for CheckResultDto {
    fn from(c: &CheckResult) -> Self {
        CheckResultDto {
            name: c.name.clone(),
            command: c.command.clone(),
            attempt: c.attempt,
            outcome: c.outcome,
            exit_code: c.exit_code.and_then(|e| i32::try_from(e).ok()),
            duration_ms: c.duration_ms as f64,
            tail: c.tail.clone(),
            how: c.how(),
        }
    }
}

/// Why a run failed: a kind the UI branches on, the message, and the kind's fix when it has one.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct FailureDto {
    pub kind: FailKind,
    pub message: String,
    pub fix: Option<String>,
}

impl From<&FailReason> for FailureDto {
    fn from(f: &FailReason) -> Self {
        FailureDto {
            kind: f.kind,
            message: f.message.clone(),
            fix: f.kind.fix().map(str::to_string),
        }
    }
}

impl From<&Run> for RunDto {
    fn from(r: &Run) -> Self {
        RunDto {
            id: r.id.to_string(),
            task_id: r.task_id.to_string(),
            project_id: r.project_id.to_string(),
            attempt: r.attempt,
            state: r.state.status(),
            failure: r.state.failure().map(FailureDto::from),
            branch: r.branch.clone(),
            base_commit: r.base_commit.clone(),
            result_commit: r.result_commit.clone(),
            exit_code: r.exit_code.and_then(|c| i32::try_from(c).ok()),
            merged_commit: r.merged_commit.clone(),
            created_at: r.created_at.0 as f64,
            started_at: r.started_at.map(|t| t.0 as f64),
            finished_at: r.finished_at.map(|t| t.0 as f64),
            sandbox: r.sandbox_kind().map(Into::into),
            agent_session_id: r.agent_session_id.clone(),
            follow_up_of: r.follow_up.as_ref().map(|f| f.of.to_string()),
            follow_up_message: r.follow_up.as_ref().map(|f| f.message.clone()),
            consult_of: r.consult.as_ref().map(|c| c.of.to_string()),
            consult_runtime: r.consult.as_ref().and_then(|c| c.runtime).map(Into::into),
            verify_attempt: r.verify_attempt,
            checks: r.checks.iter().map(CheckResultDto::from).collect(),
        }
    }
}
