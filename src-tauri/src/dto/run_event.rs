//! A run's log entries, and what an agent did.

use corral_core::{
    AgentEvent, BlockRule, FailKind, NetworkDoor, OutputStream, RunEvent, RunEventBody, RunStatus,
    ToolKind,
};

use super::CheckResultDto;
use super::network::BlockRuleDto;
use serde::{Deserialize, Serialize};
use specta::Type;

/// What a coding agent did (see `corral_core::AgentEvent`). Tool input is JSON text.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AgentEventDto {
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
        input: String,
        /// file_edit, command, read, search, mcp, other
        kind: String,
    },
    ToolResult {
        id: String,
        ok: bool,
        output: String,
    },
    FileEdit {
        path: String,
    },
    Usage {
        input_tokens: f64,
        output_tokens: f64,
        cost_usd: Option<f64>,
    },
    Error {
        message: String,
    },
    Finished {
        ok: bool,
        summary: Option<String>,
    },
    Raw {
        line: String,
    },
}

impl From<AgentEvent> for AgentEventDto {
    fn from(e: AgentEvent) -> Self {
        match e {
            AgentEvent::SessionStarted { session_id } => {
                AgentEventDto::SessionStarted { session_id }
            }
            AgentEvent::AssistantText { text } => AgentEventDto::AssistantText { text },
            AgentEvent::Thinking { text } => AgentEventDto::Thinking { text },
            AgentEvent::ToolCall {
                id,
                name,
                input,
                kind,
            } => AgentEventDto::ToolCall {
                id,
                name,
                input: input.to_string(),
                kind: match kind {
                    ToolKind::FileEdit => "file_edit",
                    ToolKind::Command => "command",
                    ToolKind::Read => "read",
                    ToolKind::Search => "search",
                    ToolKind::Mcp => "mcp",
                    ToolKind::Other => "other",
                }
                .to_string(),
            },
            AgentEvent::ToolResult { id, ok, output } => {
                AgentEventDto::ToolResult { id, ok, output }
            }
            AgentEvent::FileEdit { path } => AgentEventDto::FileEdit { path },
            AgentEvent::Usage {
                input_tokens,
                output_tokens,
                cost_micro_usd,
            } => AgentEventDto::Usage {
                input_tokens: input_tokens as f64,
                output_tokens: output_tokens as f64,
                cost_usd: cost_micro_usd.map(|c| c as f64 / 1_000_000.0),
            },
            AgentEvent::Error { message } => AgentEventDto::Error { message },
            AgentEvent::Finished { ok, summary } => AgentEventDto::Finished { ok, summary },
            AgentEvent::Raw { line } => AgentEventDto::Raw { line },
        }
    }
}

/// One entry of a run's log.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunEventDto {
    Output {
        seq: u32,
        at: f64,
        step: String,
        stderr: bool,
        line: String,
    },
    StepStarted {
        seq: u32,
        at: f64,
        step: String,
        argv: Vec<String>,
    },
    StepExited {
        seq: u32,
        at: f64,
        step: String,
        exit_code: i32,
    },
    StateChanged {
        seq: u32,
        at: f64,
        from: RunStatus,
        to: RunStatus,
        reason: Option<String>,
        fail_kind: Option<FailKind>,
    },
    /// An upstream task's result brought into this run's checkout before it started
    /// (`merged` false: it was there already).
    UpstreamMerged {
        seq: u32,
        at: f64,
        task_id: String,
        run_id: String,
        commit: String,
        merged: bool,
    },
    /// Another live run of the project (of `task_id`) changed `path` too.
    Overlap {
        seq: u32,
        at: f64,
        run_id: String,
        task_id: String,
        path: String,
    },
    Note {
        seq: u32,
        at: f64,
        text: String,
    },
    /// Something the coding agent did.
    Agent {
        seq: u32,
        at: f64,
        event: AgentEventDto,
    },
    FileChanged {
        seq: u32,
        at: f64,
        path: String,
        /// created, modified, removed, renamed
        change: String,
        from: Option<String>,
        /// Bytes, when it is a regular file after the change.
        size: Option<f64>,
        /// A symbolic link's target text (Corral never follows it).
        link: Option<String>,
    },
    /// A file over the project's max-file-size, left out of the run's commit.
    FileLeftOut {
        seq: u32,
        at: f64,
        path: String,
        size: f64,
        max_bytes: f64,
    },
    /// A request from the sandbox through Corral's gateway, allowed or blocked.
    Network {
        seq: u32,
        at: f64,
        door: NetworkDoor,
        host: String,
        method: String,
        path: String,
        status: Option<u16>,
        bytes_up: f64,
        bytes_down: f64,
        duration_ms: f64,
        /// Why it was blocked; `None`: allowed.
        blocked: Option<BlockRuleDto>,
        /// The rule in words.
        blocked_why: Option<String>,
        tokens: Option<f64>,
        stripped_tools: Vec<String>,
    },
    /// A call the agent made to a tool of Corral's MCP server: its arguments summarised, and
    /// what came back (`ok`) or why it was refused.
    ToolCall {
        seq: u32,
        at: f64,
        tool: String,
        arguments: String,
        ok: bool,
        result: String,
    },
    /// A status line the agent reported.
    Progress {
        seq: u32,
        at: f64,
        text: String,
    },
    /// One of the project's checks starts (its output follows as the `verify` step's).
    CheckStarted {
        seq: u32,
        at: f64,
        name: String,
        command: String,
        attempt: u32,
    },
    /// One of the project's checks ended.
    CheckEnded {
        seq: u32,
        at: f64,
        result: CheckResultDto,
    },
    /// An agent reviewer gave its verdict (in the reviewer's own run).
    ReviewSubmitted {
        seq: u32,
        at: f64,
        approved: bool,
        summary: String,
        comments: u32,
    },
    /// Corral woke a waiting orchestrator: why, and what it was told.
    OrchestratorWoken {
        seq: u32,
        at: f64,
        reason: corral_core::WakeReason,
        message: String,
    },
    /// The checks failed and the agent goes again, told what failed.
    VerifyRetry {
        seq: u32,
        at: f64,
        attempt: u32,
        of: u32,
        failed: Vec<String>,
        message: String,
    },
}

impl From<RunEvent> for RunEventDto {
    fn from(e: RunEvent) -> Self {
        // Per run; four billion lines is far beyond any run.
        let (seq, at) = (u32::try_from(e.seq).unwrap_or(u32::MAX), e.at.0 as f64);
        match e.body {
            RunEventBody::Output {
                step, stream, line, ..
            } => RunEventDto::Output {
                seq,
                at,
                step: step.as_str().to_string(),
                stderr: stream == OutputStream::Stderr,
                line,
            },
            RunEventBody::StepStarted { step, argv } => RunEventDto::StepStarted {
                seq,
                at,
                step: step.as_str().to_string(),
                argv,
            },
            RunEventBody::StepExited { step, exit_code } => RunEventDto::StepExited {
                seq,
                at,
                step: step.as_str().to_string(),
                exit_code: i32::try_from(exit_code).unwrap_or(i32::MIN),
            },
            RunEventBody::StateChanged {
                from,
                to,
                reason,
                fail_kind,
            } => RunEventDto::StateChanged {
                seq,
                at,
                from,
                to,
                reason,
                fail_kind,
            },
            RunEventBody::UpstreamMerged {
                task_id,
                run_id,
                commit,
                merged,
                ..
            } => RunEventDto::UpstreamMerged {
                seq,
                at,
                task_id: task_id.to_string(),
                run_id: run_id.to_string(),
                commit,
                merged,
            },
            RunEventBody::Overlap {
                run_id,
                task_id,
                path,
            } => RunEventDto::Overlap {
                seq,
                at,
                run_id: run_id.to_string(),
                task_id: task_id.to_string(),
                path,
            },
            RunEventBody::Note { text } => RunEventDto::Note { seq, at, text },
            RunEventBody::Network { request } => RunEventDto::Network {
                seq,
                at,
                door: request.door,
                blocked: request.blocked.as_ref().map(BlockRuleDto::from),
                blocked_why: request.blocked.as_ref().map(BlockRule::describe),
                host: request.host,
                method: request.method,
                path: request.path,
                status: request.status,
                bytes_up: request.bytes_up as f64,
                bytes_down: request.bytes_down as f64,
                duration_ms: request.duration_ms as f64,
                tokens: request.tokens.map(|t| t as f64),
                stripped_tools: request.stripped_tools,
            },
            RunEventBody::ToolCall { call } => {
                let (ok, result) = match call.outcome {
                    corral_core::ToolOutcome::Ok { summary } => (true, summary),
                    corral_core::ToolOutcome::Error { message } => (false, message),
                };
                RunEventDto::ToolCall {
                    seq,
                    at,
                    tool: call.tool,
                    arguments: call.arguments,
                    ok,
                    result,
                }
            }
            RunEventBody::Progress { text } => RunEventDto::Progress { seq, at, text },
            RunEventBody::CheckStarted {
                name,
                command,
                attempt,
            } => RunEventDto::CheckStarted {
                seq,
                at,
                name,
                command,
                attempt,
            },
            RunEventBody::CheckEnded { result } => RunEventDto::CheckEnded {
                seq,
                at,
                result: CheckResultDto::from(&result),
            },
            RunEventBody::OrchestratorFinished { summary } => RunEventDto::Note {
                seq,
                at,
                text: format!("the orchestrator finished: {summary}"),
            },
            RunEventBody::OrchestratorWoken { reason, message } => RunEventDto::OrchestratorWoken {
                seq,
                at,
                reason,
                message,
            },
            RunEventBody::ReviewSubmitted { review } => RunEventDto::ReviewSubmitted {
                seq,
                at,
                approved: review.verdict == corral_core::review::Verdict::Approve,
                summary: review.summary,
                comments: u32::try_from(review.comments.len()).unwrap_or(u32::MAX),
            },
            RunEventBody::VerifyRetry {
                attempt,
                of,
                failed,
                message,
            } => RunEventDto::VerifyRetry {
                seq,
                at,
                attempt,
                of,
                failed,
                message,
            },
            RunEventBody::Agent { event } => RunEventDto::Agent {
                seq,
                at,
                event: event.into(),
            },
            RunEventBody::FileLeftOut {
                path,
                size,
                max_bytes,
            } => RunEventDto::FileLeftOut {
                seq,
                at,
                path,
                size: size as f64,
                max_bytes: max_bytes as f64,
            },
            RunEventBody::FileChanged {
                path,
                change,
                from,
                size,
                link,
            } => RunEventDto::FileChanged {
                seq,
                at,
                path,
                change: change.as_str().to_string(),
                from,
                size: size.map(|s| s as f64),
                link,
            },
        }
    }
}
