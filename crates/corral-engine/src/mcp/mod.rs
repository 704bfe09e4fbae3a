//! Corral's MCP server, one per run, scoped to it: it sees only the run's project and acts as
//! the run. The agent reaches it through the relay (`corral-relay mcp`, a stdio pipe the agent
//! CLI starts) and the run's link, like its model traffic; each connection gets a server of its
//! own. Every tool call is a `tool_call` event in the run's log.
//!
//! `server` speaks MCP (rmcp) and records the calls; `task_tools` is what the task tools do,
//! `ask_tools` the questions for a person.

mod ask_tools;
pub(crate) mod permission_tools;
mod review_tools;
mod roles;
mod server;
mod subtask_results;
mod subtask_tools;
mod task_tools;

use corral_core::{ProjectId, Run, RunId, TaskId};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::engine::Engine;
use crate::error::EngineError;

/// Whose server it is: the run, its task and its project, and what the run's agent is there
/// for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope {
    pub run: RunId,
    pub task: TaskId,
    pub project: ProjectId,
    pub role: Role,
}

/// What a run's agent is there for, which decides the tools it is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// It works on the task.
    Worker,
    /// It answers another agent (`ask_agent`) and only reads.
    Consult,
    /// It reviews another run's result (`verify.review=agent`): only reads, and submits.
    Reviewer,
    /// It splits an orchestrate task's goal into subtasks, and gets their tools.
    Orchestrator,
}

impl Scope {
    /// The scope of `run`, a run of a task of `kind`.
    pub fn of(run: &Run, kind: corral_core::TaskKind) -> Scope {
        Scope {
            run: run.id,
            task: run.task_id,
            project: run.project_id,
            role: match run.consult.as_ref().map(|c| c.purpose) {
                None if kind == corral_core::TaskKind::Orchestrate => Role::Orchestrator,
                None => Role::Worker,
                Some(corral_core::ConsultPurpose::Answer) => Role::Consult,
                Some(corral_core::ConsultPurpose::Review) => Role::Reviewer,
            },
        }
    }
}

/// The longest model name or idempotency key an agent may give.
const SHORT_FIELD_CHARS: usize = 200;

/// Checks a short field an agent gave (a model name, a key): at most `SHORT_FIELD_CHARS`
/// characters, no control characters.
pub(crate) fn check_short_field(what: &str, value: Option<&str>) -> Result<(), ToolError> {
    match value {
        Some(value)
            if value.chars().count() > SHORT_FIELD_CHARS || value.chars().any(char::is_control) =>
        {
            Err(ToolError::new(format!(
                "{what} must be at most {SHORT_FIELD_CHARS} characters, with no control characters"
            )))
        }
        _ => Ok(()),
    }
}

/// Checks a model name an agent gave: a short field that cannot pass for a command-line option.
pub(crate) fn check_model(model: Option<&str>) -> Result<(), ToolError> {
    check_short_field("the model", model)?;
    if model.is_some_and(|m| m.trim_start().starts_with('-')) {
        return Err(ToolError::new("a model name cannot start with `-`"));
    }
    Ok(())
}

/// The runtime an agent named, which must be a coding agent's (not a custom or acp command
/// line); `None` when it named none.
pub(crate) fn agent_runtime(
    named: Option<&str>,
    purpose: &str,
) -> Result<Option<corral_core::Runtime>, ToolError> {
    let runtime = named
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            r.trim()
                .parse::<corral_core::Runtime>()
                .map_err(|e| ToolError::new(e.to_string()))
        })
        .transpose()?;
    if matches!(
        runtime,
        Some(corral_core::Runtime::Custom | corral_core::Runtime::Acp)
    ) {
        return Err(ToolError::new(format!(
            "an agent may {purpose} coding agents only (claude-code, codex, gemini, opencode, \
             aider, cursor), not custom or acp command lines"
        )));
    }
    Ok(runtime)
}

/// A tool's failure as the agent reads it: what went wrong and, when there is one, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolError(pub String);

impl ToolError {
    pub fn new(message: impl Into<String>) -> ToolError {
        ToolError(message.into())
    }
}

impl From<EngineError> for ToolError {
    fn from(err: EngineError) -> ToolError {
        match err.fix() {
            Some(fix) => ToolError(format!("{err} ({fix})")),
            None => ToolError(err.to_string()),
        }
    }
}

/// Serves one MCP connection of the run's agent until it ends. Nothing the agent sends can
/// fail the engine: a malformed message is dropped, a bad call answered with a tool error.
pub(crate) async fn serve<IO>(ctx: Engine, scope: Scope, io: IO)
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    server::serve(ctx, scope, io).await;
}

impl Engine {
    /// Serves `run`'s MCP server on one connection (`io`) until it ends, as the run's link does
    /// for its agent; for tests and benchmarks that speak MCP to it directly.
    pub async fn serve_mcp<IO>(&self, run: RunId, io: IO) -> crate::EngineResult<()>
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let run = self.run(run).await?;
        let kind = self.task_record(run.task_id).await?.kind;
        serve(self.clone(), Scope::of(&run, kind), io).await;
        Ok(())
    }
}
