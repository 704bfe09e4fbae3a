//! The MCP side of a run's server (rmcp): the tools it offers, each call checked against the
//! run (still live?), done, recorded in the run's log, and answered with JSON text or a tool
//! error. Built per connection, from the project's settings at that moment.

use std::future::Future;

use corral_core::{AgentPermissions, AgentTasks, RunEventBody, ToolCall, ToolOutcome, tool_call};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::ask_tools::{self, AskAgent, AskHuman};
use super::permission_tools::{self, PermissionPrompt};
use super::review_tools::{self, SubmitReview};
use super::roles::{self, CONSULT_TOOLS, ORCHESTRATOR_TOOLS, REVIEWER_TOOLS};
use super::subtask_results::{self, AnswerSubtask, CancelSubtask, GetSubtaskResult, RetrySubtask};
use super::subtask_tools::{self, CreateSubtask, Finish, ListSubtasks};
use super::task_tools::{self, AddDependency, CreateTask, GetTask, ListTasks, ReportProgress};
use super::{Role, Scope, ToolError};
use crate::engine::Engine;

/// The longest message an agent may send; a longer one is dropped (a task's prompt is at most
/// 1 MiB, refused with a clear error past that).
const MAX_MESSAGE_BYTES: usize = 4 << 20;

/// The tools that change the project's tasks, not offered with `agent-tasks=deny`.
const TASK_WRITING_TOOLS: [&str; 2] = ["create_task", "add_dependency"];

#[derive(Clone)]
pub(crate) struct CorralServer {
    ctx: Engine,
    scope: Scope,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for CorralServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorralServer")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Serves one connection until the agent (or the link) ends it.
pub(super) async fn serve<IO>(ctx: Engine, scope: Scope, io: IO)
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let settings = match ctx.project(scope.project).await {
        Ok(project) => (
            project.workflow.agent_tasks,
            project.workflow.agent_permissions,
        ),
        Err(err) => {
            tracing::warn!(error = %err, "the MCP server cannot read its project");
            return;
        }
    };
    let server = CorralServer::new(ctx, scope, settings);
    let (read, write) = tokio::io::split(io);
    let transport = rmcp::transport::async_rw::AsyncRwTransport::new_server(read, write)
        .with_max_line_length(MAX_MESSAGE_BYTES);
    match server.serve(transport).await {
        Ok(running) => {
            let _ = running.waiting().await;
        }
        // The agent went away (or sent no handshake): nothing to serve.
        Err(err) => tracing::info!(error = %err, "an MCP connection ended before its handshake"),
    }
}

#[tool_router]
impl CorralServer {
    fn new(
        ctx: Engine,
        scope: Scope,
        (agent_tasks, permissions): (AgentTasks, AgentPermissions),
    ) -> CorralServer {
        let mut tool_router = Self::tool_router();
        if permissions != AgentPermissions::Ask {
            tool_router.remove_route(corral_agents::PERMISSION_TOOL);
        }
        if agent_tasks == AgentTasks::Deny {
            for name in TASK_WRITING_TOOLS {
                tool_router.remove_route(name);
            }
        }
        let kept: Option<&[&str]> = match scope.role {
            Role::Worker | Role::Orchestrator => None,
            Role::Consult => Some(&CONSULT_TOOLS),
            Role::Reviewer => Some(&REVIEWER_TOOLS),
        };
        let orchestrates = scope.role == Role::Orchestrator;
        let names: Vec<String> = tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .filter(|name| match kept {
                Some(kept) => !kept.contains(&name.as_str()),
                // Only an agent reviewer gives a verdict; only an orchestrator has subtasks.
                None => {
                    name == "submit_review"
                        || (!orchestrates && ORCHESTRATOR_TOOLS.contains(&name.as_str()))
                }
            })
            .collect();
        for name in names {
            tool_router.remove_route(&name);
        }
        CorralServer {
            ctx,
            scope,
            tool_router,
        }
    }

    /// Checks the run is live, does `work`, records the call in the run's log and answers.
    async fn call<A: Serialize>(
        &self,
        tool: &str,
        args: &A,
        work: impl Future<Output = Result<Value, ToolError>>,
    ) -> CallToolResult {
        let arguments = tool_call::summarise(&serde_json::to_string(args).unwrap_or_default());
        let live = match self.ctx.run(self.scope.run).await {
            Ok(run) if run.state.is_live() => Ok(()),
            Ok(run) => Err(ToolError::new(format!(
                "run {} has ended ({}); Corral no longer takes its calls",
                run.id,
                run.state.name()
            ))),
            Err(err) => Err(ToolError::from(err)),
        };
        let outcome = match live {
            Ok(()) => work.await,
            Err(ended) => {
                tracing::info!(tool, "a tool call after the run ended, refused");
                return error_result(ended);
            }
        };
        // Compact JSON: what the agent reads (its context is precious), summarised for the log.
        let outcome = outcome.map(|value| value.to_string());
        let logged = match &outcome {
            Ok(text) => ToolOutcome::Ok {
                summary: tool_call::summarise(text),
            },
            Err(err) => ToolOutcome::Error {
                message: tool_call::summarise(&err.0),
            },
        };
        let call = ToolCall {
            tool: tool.to_string(),
            arguments,
            outcome: logged,
        };
        if let Err(err) = self
            .ctx
            .append(self.scope.run, RunEventBody::ToolCall { call })
            .await
        {
            tracing::warn!(error = %err, tool, "a tool call could not be recorded");
        }
        match outcome {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(err) => error_result(err),
        }
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "List the project's tasks: id, title, status (proposed, backlog, ready, blocked, running, needs_input, review, done, failed, ...), runtime, the tasks each runs after, who created it. Filter by status or runtime; at most `limit` (default 100)."
    )]
    async fn list_tasks(&self, Parameters(args): Parameters<ListTasks>) -> CallToolResult {
        self.call(
            "list_tasks",
            &args,
            task_tools::list_tasks(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "One task of the project in full: its prompt, status, the tasks it runs after, and its latest run (state, the agent's final text, the files it changed)."
    )]
    async fn get_task(&self, Parameters(args): Parameters<GetTask>) -> CallToolResult {
        self.call(
            "get_task",
            &args,
            task_tools::get_task(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        description = "Add a task to the project, for work that should be done but not in this task. Give a title and a prompt for the agent that will run it; optionally a runtime, a model, and tasks it runs after. Depending on the project's settings it waits for a person's approval before it can run. Give an idempotency_key so a retried call does not create it twice."
    )]
    async fn create_task(&self, Parameters(args): Parameters<CreateTask>) -> CallToolResult {
        let summary = CreateTaskSummary::of(&args);
        self.call(
            "create_task",
            &summary,
            task_tools::create_task(&self.ctx, self.scope, args),
        )
        .await
    }

    #[tool(
        description = "Make one task of the project run after another (from its result). A dependency that would close a cycle is refused, naming the cycle."
    )]
    async fn add_dependency(&self, Parameters(args): Parameters<AddDependency>) -> CallToolResult {
        self.call(
            "add_dependency",
            &args,
            task_tools::add_dependency(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        description = "Ask the person a question when you cannot go on without their decision (not for things you can find out yourself). 1 to 4 questions, each optionally with 2 to 8 options (label, description), single or multiple choice; they may always answer in their own words. The call waits for the answer; if it says the question is pending, end your turn: the answer comes as your next message."
    )]
    async fn ask_human(
        &self,
        Parameters(args): Parameters<AskHuman>,
        request: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let cancelled = request.ct.cancelled_owned();
        self.call(
            "ask_human",
            &args,
            ask_tools::ask_human(&self.ctx, self.scope, args.clone(), cancelled),
        )
        .await
    }

    #[tool(
        description = "Ask another coding agent for a second opinion: a review of your approach, a bug you are stuck on, how something here works. It sees your checkout as it is now (read-only) and this task; name its runtime (claude-code, codex, gemini, ...) or get this task's. The call waits for its answer; if it says the question is pending, end your turn: the answer comes as your next message."
    )]
    async fn ask_agent(
        &self,
        Parameters(args): Parameters<AskAgent>,
        request: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let cancelled = request.ct.cancelled_owned();
        self.call(
            "ask_agent",
            &args,
            ask_tools::ask_agent(&self.ctx, self.scope, args.clone(), cancelled),
        )
        .await
    }

    #[tool(
        description = "Corral's approval hook for the agent CLI (its permission prompt tool): not for the model to call. Asks a person whether a tool call may go ahead."
    )]
    async fn permission_prompt(
        &self,
        Parameters(args): Parameters<PermissionPrompt>,
        request: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let cancelled = request.ct.cancelled_owned();
        self.call(
            corral_agents::PERMISSION_TOOL,
            &args,
            permission_tools::permission_prompt(&self.ctx, self.scope, args.clone(), cancelled),
        )
        .await
    }

    #[tool(
        description = "Add a subtask of your goal: a title, a prompt for the agent that runs it (or `command`, a command line to run instead), optionally a runtime and model, and `after`: your subtasks (ids or titles) it runs after, from their results. It runs at once when ready, in a sandbox of its own. Give an idempotency_key so a retried call does not create it twice."
    )]
    async fn create_subtask(&self, Parameters(args): Parameters<CreateSubtask>) -> CallToolResult {
        self.call(
            "create_subtask",
            &args,
            subtask_tools::create_subtask(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "Your subtasks: id, title, status, what each runs after, and its latest run (state, why it failed)."
    )]
    async fn list_subtasks(&self, Parameters(args): Parameters<ListSubtasks>) -> CallToolResult {
        self.call(
            "list_subtasks",
            &args,
            subtask_tools::list_subtasks(&self.ctx, self.scope),
        )
        .await
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "One of your subtasks in full: its state, why it failed, what its agent said last, the files it changed (with added and removed line counts), its checks; give `path` for that file's diff."
    )]
    async fn get_subtask_result(
        &self,
        Parameters(args): Parameters<GetSubtaskResult>,
    ) -> CallToolResult {
        self.call(
            "get_subtask_result",
            &args,
            subtask_results::get_subtask_result(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        description = "Send one of your ended subtasks back with your feedback: its agent resumes its session on its own branch (a command-line subtask runs again). You are woken when it ends."
    )]
    async fn retry_subtask(&self, Parameters(args): Parameters<RetrySubtask>) -> CallToolResult {
        self.call(
            "retry_subtask",
            &args,
            subtask_results::retry_subtask(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        description = "Answer a question one of your subtasks asked (you were woken with it): the request id and, per question, the options picked and/or your text. Or give `pass_on` instead, a note for the person: the question then waits in their inbox."
    )]
    async fn answer_subtask(&self, Parameters(args): Parameters<AnswerSubtask>) -> CallToolResult {
        self.call(
            "answer_subtask",
            &args,
            subtask_results::answer_subtask(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        description = "Cancel one of your subtasks: its run stops, its work is left out of your result, and what runs after it does not start."
    )]
    async fn cancel_subtask(&self, Parameters(args): Parameters<CancelSubtask>) -> CallToolResult {
        self.call(
            "cancel_subtask",
            &args,
            subtask_results::cancel_subtask(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        description = "Say the goal is done (or as far as it goes), with a summary for the person: which subtasks did what, what is left. Then end your turn."
    )]
    async fn finish(&self, Parameters(args): Parameters<Finish>) -> CallToolResult {
        self.call(
            "finish",
            &args,
            subtask_tools::finish(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    // It changes nothing the agent works on (a reviewer runs in the CLI's read-only mode,
    // which lets through only tools that say so).
    #[tool(
        annotations(read_only_hint = true),
        description = "Give your review's verdict, once: `verdict` is `approve` or `request_changes`; `summary` says why; `comments` are {path, line, text} on lines of the reviewed result (line numbers as the files are now) saying what must change. Requested changes go back to the agent that did the work."
    )]
    async fn submit_review(&self, Parameters(args): Parameters<SubmitReview>) -> CallToolResult {
        self.call(
            "submit_review",
            &args,
            review_tools::submit_review(&self.ctx, self.scope, args.clone()),
        )
        .await
    }

    #[tool(
        description = "Report a short status line (what you are doing now), shown to the person on the task's card and in the run view."
    )]
    async fn report_progress(
        &self,
        Parameters(args): Parameters<ReportProgress>,
    ) -> CallToolResult {
        self.call(
            "report_progress",
            &args,
            task_tools::report_progress(&self.ctx, self.scope, args.clone()),
        )
        .await
    }
}

/// What the log keeps of a `create_task` call: the prompt by its size (the task holds it).
#[derive(Serialize)]
struct CreateTaskSummary {
    title: String,
    prompt_bytes: usize,
    runtime: Option<String>,
    after: Vec<String>,
    idempotency_key: Option<String>,
}

impl CreateTaskSummary {
    fn of(args: &CreateTask) -> CreateTaskSummary {
        CreateTaskSummary {
            title: tool_call::summarise(&args.title),
            prompt_bytes: args.prompt.len(),
            runtime: args.runtime.clone(),
            after: args.after.clone(),
            idempotency_key: args.idempotency_key.clone(),
        }
    }
}

fn error_result(err: ToolError) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(err.0)])
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CorralServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("corral", env!("CARGO_PKG_VERSION")))
            .with_instructions(roles::instructions(self.scope.role))
    }
}
