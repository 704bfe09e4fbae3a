//! The JSON shapes of a run (`run show --json`, `runs --json`, `run --json`).

use corral_core::{FailKind, Run, RunStatus};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct RunJson {
    id: String,
    task_id: String,
    project_id: String,
    attempt: u32,
    state: RunStatus,
    /// The failure's message (kept for scripts written before `failure`).
    reason: Option<String>,
    /// Why it failed: `kind` to branch on, the message, the kind's fix.
    failure: Option<FailureJson>,
    branch: Option<String>,
    base_commit: Option<String>,
    result_commit: Option<String>,
    exit_code: Option<i64>,
    merged_commit: Option<String>,
    checkout_path: Option<String>,
    container_id: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    /// `docker` or `local` (not isolated), once the run has a sandbox.
    sandbox: Option<&'static str>,
    agent_session_id: Option<String>,
    /// The run this one follows up, and the message it sent.
    follow_up_of: Option<String>,
    follow_up_message: Option<String>,
    /// The run whose agent this one answered (`ask_agent`): it is that run's child.
    consult_of: Option<String>,
    /// Paths another run of the project, live at the same time, changed too.
    overlaps: Vec<OverlapJson>,
    /// The verification attempt the run is on (or ended on), from 1.
    verify_attempt: u32,
    /// The checks' results of that attempt, in the order they ran.
    checks: Vec<corral_core::CheckResult>,
}

#[derive(Debug, Serialize)]
pub struct OverlapJson {
    pub run_id: String,
    pub task_id: String,
    pub path: String,
}

#[derive(Debug, Serialize)]
struct FailureJson {
    kind: FailKind,
    message: String,
    fix: Option<&'static str>,
}

impl RunJson {
    pub fn new(r: &Run) -> Self {
        RunJson {
            id: r.id.to_string(),
            task_id: r.task_id.to_string(),
            project_id: r.project_id.to_string(),
            attempt: r.attempt,
            state: r.state.status(),
            reason: r.state.failure().map(|f| f.message.clone()),
            failure: r.state.failure().map(|f| FailureJson {
                kind: f.kind,
                message: f.message.clone(),
                fix: f.kind.fix(),
            }),
            branch: r.branch.clone(),
            base_commit: r.base_commit.clone(),
            result_commit: r.result_commit.clone(),
            exit_code: r.exit_code,
            merged_commit: r.merged_commit.clone(),
            checkout_path: r.checkout_path.clone(),
            container_id: r.container_id.clone(),
            sandbox: r.sandbox_kind().map(|k| k.as_str()),
            agent_session_id: r.agent_session_id.clone(),
            follow_up_of: r.follow_up.as_ref().map(|f| f.of.to_string()),
            follow_up_message: r.follow_up.as_ref().map(|f| f.message.clone()),
            consult_of: r.consult.as_ref().map(|c| c.of.to_string()),
            created_at: r.created_at.0,
            started_at: r.started_at.map(|t| t.0),
            finished_at: r.finished_at.map(|t| t.0),
            overlaps: Vec::new(),
            verify_attempt: r.verify_attempt,
            checks: r.checks.clone(),
        }
    }

    /// With the run's overlaps (`Engine::run_overlaps`).
    pub fn with_overlaps(mut self, overlaps: &[corral_engine::Overlap]) -> Self {
        self.overlaps = overlaps
            .iter()
            .map(|o| OverlapJson {
                run_id: o.run.to_string(),
                task_id: o.task.to_string(),
                path: o.path.clone(),
            })
            .collect();
        self
    }
}

/// `run show --json`: the run, the files its commit left out, the upstream work it started from.
#[derive(Debug, Serialize)]
pub struct RunShowJson<'a> {
    #[serde(flatten)]
    pub run: RunJson,
    pub left_out: Vec<LeftOutJson<'a>>,
    pub upstream: Vec<UpstreamJson>,
    /// What it asked of the network through Corral's gateway.
    pub network: corral_core::NetworkSummary,
    /// The runs of the agents it consulted (`ask_agent`), oldest first.
    pub consults: Vec<RunJson>,
    /// Review comments on its result, and those it was sent in (a follow-up).
    pub review_comments: Vec<CommentJson>,
}

/// A review comment on a line of a run's result.
#[derive(Debug, Serialize)]
pub struct CommentJson {
    pub path: String,
    pub line: u32,
    pub code: String,
    pub text: String,
    pub author: corral_core::review::ReviewAuthor,
    /// The run whose result it is on, and the follow-up it was sent in.
    pub on_run: String,
    pub sent_in: Option<String>,
    /// The follow-up's result changed its line.
    pub outdated: bool,
}

impl CommentJson {
    pub fn new(c: &corral_engine::ShownComment) -> Self {
        CommentJson {
            path: c.comment.path.clone(),
            line: c.comment.line,
            code: c.comment.code.clone(),
            text: c.comment.text.clone(),
            author: c.comment.author.clone(),
            on_run: c.on_run.to_string(),
            sent_in: c.sent_in.map(|r| r.to_string()),
            outdated: c.outdated,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LeftOutJson<'a> {
    pub path: &'a str,
    pub size: u64,
    pub max_bytes: u64,
}

/// An upstream task's result the run's checkout started from.
#[derive(Debug, Serialize)]
pub struct UpstreamJson {
    pub task_id: String,
    pub run_id: String,
    pub commit: String,
    /// False when the checkout held it already.
    pub merged: bool,
}
