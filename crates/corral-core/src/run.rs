//! A run is one attempt at a task. Its state changes only through `RunState::apply`, the single
//! transition function; anything else is a typed error.
//!
//! ```text
//! queued -> preparing -> running -> (waiting_input <-> running) -> verifying -> succeeded | failed
//!                                    verifying -> running  (retry with the failure as follow-up)
//! any live state -> failed | cancelled | interrupted
//! ```

use std::fmt;

pub use crate::fail::{FailKind, FailReason};
use crate::ids::{ProjectId, RunId, TaskId};
pub use crate::run_status::RunStatus;
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Queued,
    Preparing,
    Running,
    WaitingInput,
    Verifying,
    Succeeded,
    Failed {
        reason: FailReason,
    },
    Cancelled,
    /// The app died or Docker lost the container while the run was live.
    Interrupted,
}

/// What happened to a run; the input of the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Start making the checkout and container.
    Prepare,
    /// The agent (or task command) starts.
    Start,
    /// The agent asked a human something.
    AskInput,
    /// A human answered.
    Answer,
    /// The agent finished; the verify command starts.
    Verify,
    /// Verification failed with attempts left: the agent goes again with the failure.
    RetryAgent,
    Succeed,
    Fail {
        reason: FailReason,
    },
    Cancel,
    Interrupt,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a run cannot go from {from} on {transition}")]
pub struct TransitionError {
    pub from: String,
    pub transition: &'static str,
}

impl Transition {
    pub fn name(&self) -> &'static str {
        match self {
            Transition::Prepare => "prepare",
            Transition::Start => "start",
            Transition::AskInput => "ask_input",
            Transition::Answer => "answer",
            Transition::Verify => "verify",
            Transition::RetryAgent => "retry_agent",
            Transition::Succeed => "succeed",
            Transition::Fail { .. } => "fail",
            Transition::Cancel => "cancel",
            Transition::Interrupt => "interrupt",
        }
    }
}

impl RunState {
    /// The one transition function.
    pub fn apply(&self, transition: &Transition) -> Result<RunState, TransitionError> {
        use RunState as S;
        use Transition as T;
        let next = match (self, transition) {
            // Any live state can fail, be cancelled or be interrupted.
            (s, T::Fail { reason }) if s.is_live() => S::Failed {
                reason: reason.clone(),
            },
            (s, T::Cancel) if s.is_live() => S::Cancelled,
            (s, T::Interrupt) if s.is_live() => S::Interrupted,
            (S::Queued, T::Prepare) => S::Preparing,
            (S::Preparing, T::Start) => S::Running,
            (S::Running, T::AskInput) => S::WaitingInput,
            (S::WaitingInput, T::Answer) => S::Running,
            (S::Running, T::Verify) => S::Verifying,
            // A run without a verify command succeeds straight from running.
            (S::Running, T::Succeed) | (S::Verifying, T::Succeed) => S::Succeeded,
            (S::Verifying, T::RetryAgent) => S::Running,
            _ => {
                return Err(TransitionError {
                    from: self.to_string(),
                    transition: transition.name(),
                });
            }
        };
        Ok(next)
    }

    /// Not finished: the run still owns a checkout and maybe a container.
    pub fn is_live(&self) -> bool {
        !self.is_terminal()
    }

    pub fn is_terminal(&self) -> bool {
        self.status().is_terminal()
    }

    /// The state without its failure reason: what is stored, shown and sent to front ends.
    pub fn status(&self) -> RunStatus {
        match self {
            RunState::Queued => RunStatus::Queued,
            RunState::Preparing => RunStatus::Preparing,
            RunState::Running => RunStatus::Running,
            RunState::WaitingInput => RunStatus::WaitingInput,
            RunState::Verifying => RunStatus::Verifying,
            RunState::Succeeded => RunStatus::Succeeded,
            RunState::Failed { .. } => RunStatus::Failed,
            RunState::Cancelled => RunStatus::Cancelled,
            RunState::Interrupted => RunStatus::Interrupted,
        }
    }

    /// The state's name as stored and shown (`waiting_input`); the failure reason is separate.
    pub fn name(&self) -> &'static str {
        self.status().as_str()
    }

    /// Why the run failed, when it did.
    pub fn failure(&self) -> Option<&FailReason> {
        match self {
            RunState::Failed { reason } => Some(reason),
            _ => None,
        }
    }

    /// Rebuilds a state from its stored name, failure kind and message. A failure recorded
    /// before failures had kinds is `FailKind::Unknown`.
    pub fn from_parts(name: &str, kind: Option<&str>, message: Option<&str>) -> Option<RunState> {
        Some(match RunStatus::parse(name)? {
            RunStatus::Queued => RunState::Queued,
            RunStatus::Preparing => RunState::Preparing,
            RunStatus::Running => RunState::Running,
            RunStatus::WaitingInput => RunState::WaitingInput,
            RunStatus::Verifying => RunState::Verifying,
            RunStatus::Succeeded => RunState::Succeeded,
            RunStatus::Failed => RunState::Failed {
                reason: FailReason::new(
                    kind.map(FailKind::parse).unwrap_or(FailKind::Unknown),
                    message.unwrap_or("unknown"),
                ),
            },
            RunStatus::Cancelled => RunState::Cancelled,
            RunStatus::Interrupted => RunState::Interrupted,
        })
    }

    /// Names of the states that are live, for queries (from `RunStatus`, the one list).
    pub fn live_names() -> Vec<&'static str> {
        RunStatus::ALL
            .into_iter()
            .filter(|s| s.is_live())
            .map(RunStatus::as_str)
            .collect()
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunState::Failed { reason } => write!(f, "failed ({reason})"),
            other => f.write_str(other.name()),
        }
    }
}

/// One attempt at a task, with everything needed to find its checkout, container and session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: RunId,
    pub task_id: TaskId,
    pub project_id: ProjectId,
    pub attempt: u32,
    pub state: RunState,
    pub container_id: Option<String>,
    pub checkout_path: Option<String>,
    pub branch: Option<String>,
    pub base_commit: Option<String>,
    pub result_commit: Option<String>,
    pub exit_code: Option<i64>,
    pub agent_session_id: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The commit the result was merged into the project branch as.
    pub merged_commit: Option<String>,
    /// Set when this run continues a finished run: same checkout, branch and agent session.
    pub follow_up: Option<FollowUp>,
    /// Set when this run answers another run's agent (`ask_agent`): a child of that run.
    pub consult: Option<crate::consult::Consult>,
    /// Which verification attempt the run is on, from 1: each failed round of checks that
    /// sends the agent back to fix its work starts the next.
    pub verify_attempt: u32,
    /// The checks' results of the latest attempt, in the order they ran (every attempt's are
    /// in the run's log).
    pub checks: Vec<crate::check::CheckResult>,
    /// When a person set the run aside (its checks had failed): it no longer waits on them.
    pub dismissed_at: Option<Timestamp>,
}

/// A message sent to a finished run's agent, resuming its session in a new run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    /// The run whose checkout, branch and session this one continues.
    pub of: RunId,
    pub message: String,
}

/// How the local sandbox's handles start (Docker's are container ids: hex digits only).
pub const LOCAL_SANDBOX_HANDLE_PREFIX: &str = "local:";

impl Run {
    /// A new run, queued, with nothing made for it yet.
    pub fn queued(task_id: TaskId, project_id: ProjectId, attempt: u32, now: Timestamp) -> Run {
        Run {
            id: RunId::new(),
            task_id,
            project_id,
            attempt,
            state: RunState::Queued,
            container_id: None,
            checkout_path: None,
            branch: None,
            base_commit: None,
            result_commit: None,
            exit_code: None,
            agent_session_id: None,
            input_tokens: 0,
            output_tokens: 0,
            created_at: now,
            started_at: None,
            finished_at: None,
            merged_commit: None,
            follow_up: None,
            consult: None,
            verify_attempt: 1,
            checks: Vec::new(),
            dismissed_at: None,
        }
    }

    /// Which sandbox the run's steps ran in, once it has one.
    pub fn sandbox_kind(&self) -> Option<crate::project::SandboxKind> {
        self.container_id.as_deref().map(|handle| {
            if handle.starts_with(LOCAL_SANDBOX_HANDLE_PREFIX) {
                crate::project::SandboxKind::Local
            } else {
                crate::project::SandboxKind::Docker
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_states() -> Vec<RunState> {
        vec![
            RunState::Queued,
            RunState::Preparing,
            RunState::Running,
            RunState::WaitingInput,
            RunState::Verifying,
            RunState::Succeeded,
            RunState::Failed {
                reason: FailReason::new(FailKind::Internal, "x"),
            },
            RunState::Cancelled,
            RunState::Interrupted,
        ]
    }

    fn all_transitions() -> Vec<Transition> {
        vec![
            Transition::Prepare,
            Transition::Start,
            Transition::AskInput,
            Transition::Answer,
            Transition::Verify,
            Transition::RetryAgent,
            Transition::Succeed,
            Transition::Fail {
                reason: FailReason::new(FailKind::Internal, "boom"),
            },
            Transition::Cancel,
            Transition::Interrupt,
        ]
    }

    /// The whole table written out independently of `apply`, so a change to one is caught by
    /// the other. `None` means the transition is illegal.
    fn expected(state: &RunState, t: &Transition) -> Option<RunState> {
        use RunState as S;
        use Transition as T;
        let failed = || S::Failed {
            reason: FailReason::new(FailKind::Internal, "boom"),
        };
        match state {
            S::Queued => match t {
                T::Prepare => Some(S::Preparing),
                T::Fail { .. } => Some(failed()),
                T::Cancel => Some(S::Cancelled),
                T::Interrupt => Some(S::Interrupted),
                T::Start | T::AskInput | T::Answer | T::Verify | T::RetryAgent | T::Succeed => None,
            },
            S::Preparing => match t {
                T::Start => Some(S::Running),
                T::Fail { .. } => Some(failed()),
                T::Cancel => Some(S::Cancelled),
                T::Interrupt => Some(S::Interrupted),
                T::Prepare | T::AskInput | T::Answer | T::Verify | T::RetryAgent | T::Succeed => {
                    None
                }
            },
            S::Running => match t {
                T::AskInput => Some(S::WaitingInput),
                T::Verify => Some(S::Verifying),
                T::Succeed => Some(S::Succeeded),
                T::Fail { .. } => Some(failed()),
                T::Cancel => Some(S::Cancelled),
                T::Interrupt => Some(S::Interrupted),
                T::Prepare | T::Start | T::Answer | T::RetryAgent => None,
            },
            S::WaitingInput => match t {
                T::Answer => Some(S::Running),
                T::Fail { .. } => Some(failed()),
                T::Cancel => Some(S::Cancelled),
                T::Interrupt => Some(S::Interrupted),
                T::Prepare | T::Start | T::AskInput | T::Verify | T::RetryAgent | T::Succeed => {
                    None
                }
            },
            S::Verifying => match t {
                T::Succeed => Some(S::Succeeded),
                T::RetryAgent => Some(S::Running),
                T::Fail { .. } => Some(failed()),
                T::Cancel => Some(S::Cancelled),
                T::Interrupt => Some(S::Interrupted),
                T::Prepare | T::Start | T::AskInput | T::Answer | T::Verify => None,
            },
            S::Succeeded | S::Failed { .. } | S::Cancelled | S::Interrupted => None,
        }
    }

    #[test]
    fn every_state_and_transition_pair_matches_the_table() {
        let mut checked = 0;
        for state in all_states() {
            for t in all_transitions() {
                let got = state.apply(&t);
                match expected(&state, &t) {
                    Some(next) => assert_eq!(got, Ok(next), "{state} on {}", t.name()),
                    None => {
                        let err = got.expect_err("illegal transition must be refused");
                        assert_eq!(err.from, state.to_string());
                        assert_eq!(err.transition, t.name());
                    }
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 90);
    }

    #[test]
    fn the_happy_path_with_a_question_and_a_retry() {
        let mut s = RunState::Queued;
        for t in [
            Transition::Prepare,
            Transition::Start,
            Transition::AskInput,
            Transition::Answer,
            Transition::Verify,
            Transition::RetryAgent,
            Transition::Verify,
            Transition::Succeed,
        ] {
            s = s.apply(&t).expect("legal");
        }
        assert_eq!(s, RunState::Succeeded);
        assert!(s.is_terminal());
    }

    #[test]
    fn names_round_trip_and_live_names_are_the_live_states() {
        for state in all_states() {
            let failure = state.failure();
            assert_eq!(
                RunState::from_parts(
                    state.name(),
                    failure.map(|f| f.kind.as_str()),
                    failure.map(|f| f.message.as_str())
                ),
                Some(state.clone())
            );
            assert_eq!(
                RunState::live_names().contains(&state.name()),
                state.is_live()
            );
        }
        assert_eq!(RunState::from_parts("exploded", None, None), None);
        // A failure stored before failures had kinds.
        assert_eq!(
            RunState::from_parts("failed", None, Some("the agent exited with 1")),
            Some(RunState::Failed {
                reason: FailReason::new(FailKind::Unknown, "the agent exited with 1")
            })
        );
    }

    #[test]
    fn error_message_names_state_and_transition() {
        let err = RunState::Succeeded
            .apply(&Transition::Start)
            .expect_err("illegal");
        assert_eq!(err.to_string(), "a run cannot go from succeeded on start");
    }
}
