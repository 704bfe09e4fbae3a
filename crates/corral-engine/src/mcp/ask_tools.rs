//! `ask_human`: an agent's question for a person; `ask_agent`: its question for another agent,
//! answered by a consult run (see `runs::consult`). The question is stored and its run waits in
//! `waiting_input`; the call waits for the answer, but never as long as the agent CLIs' own tool
//! timeouts: past `ask-wait` it returns that the question is pending and tells the agent to
//! end its turn, and the answer then comes as its next turn.

use std::time::Duration;

use corral_core::question::{Choice, Question};
use corral_core::{Ask, InputRequest, RequestState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Scope, ToolError, agent_runtime, check_model};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::questions::answer_for_agent;
use crate::runs::consult::ConsultAsk;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct AskHuman {
    /// 1 to 4 questions.
    pub questions: Vec<AskedQuestion>,
    /// What the person needs to know to answer: what you are doing, what you found.
    #[serde(default)]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct AskedQuestion {
    pub question: String,
    /// Choices to offer (none, or 2 to 8); the person may always answer in their own words.
    #[serde(default)]
    pub options: Vec<AskedOption>,
    /// Whether several options may be picked.
    #[serde(default)]
    pub multiple: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct AskedOption {
    pub label: String,
    #[serde(default)]
    pub description: Option<String>,
}

impl AskHuman {
    fn into_ask(self) -> Ask {
        Ask {
            questions: self
                .questions
                .into_iter()
                .map(|q| Question {
                    question: q.question,
                    options: q
                        .options
                        .into_iter()
                        .map(|o| Choice {
                            label: o.label,
                            description: o.description,
                        })
                        .collect(),
                    multiple: q.multiple,
                })
                .collect(),
            context: self.context,
            permission: None,
        }
    }
}

pub(crate) async fn ask_human(
    ctx: &Engine,
    scope: Scope,
    args: AskHuman,
    cancelled: impl std::future::Future<Output = ()>,
) -> Result<Value, ToolError> {
    let ask = args
        .into_ask()
        .checked()
        .map_err(|e| ToolError::new(e.to_string()))?;
    let request = match ctx.ask(scope.run, ask).await {
        Ok(request) => request,
        Err(err) => return Err(asked_already(err)),
    };
    wait_for_answer(ctx, scope, request, cancelled).await
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct AskAgent {
    /// What you want to know: a review of your approach, a second opinion on a bug, how
    /// something in this code base works.
    pub question: String,
    /// What the other agent should know: what you are doing, what you found, what you tried.
    #[serde(default)]
    pub context: Option<String>,
    /// The agent to ask (claude-code, codex, gemini, opencode, aider, cursor); this task's
    /// when left out.
    #[serde(default)]
    pub runtime: Option<String>,
    /// Its model; its default when left out.
    #[serde(default)]
    pub model: Option<String>,
}

#[tracing::instrument(skip_all, fields(run = %scope.run, task = %scope.task, project = %scope.project))]
pub(crate) async fn ask_agent(
    ctx: &Engine,
    scope: Scope,
    args: AskAgent,
    cancelled: impl std::future::Future<Output = ()>,
) -> Result<Value, ToolError> {
    let runtime = agent_runtime(args.runtime.as_deref(), "consult")?;
    check_model(args.model.as_deref())?;
    let ask = Ask {
        questions: vec![Question {
            question: args.question,
            options: Vec::new(),
            multiple: false,
        }],
        context: args.context,
        permission: None,
    }
    .checked()
    .map_err(|e| ToolError::new(e.to_string()))?;
    let asked = ConsultAsk {
        ask,
        runtime,
        model: args.model.filter(|m| !m.trim().is_empty()),
    };
    let request = match ctx.consult(scope.run, asked).await {
        Ok((request, _)) => request,
        Err(err) => return Err(asked_already(err)),
    };
    wait_for_answer(ctx, scope, request, cancelled).await
}

/// A question refused because another waits says what to do; other errors as they are.
fn asked_already(err: EngineError) -> ToolError {
    match err {
        EngineError::QuestionWaiting { request } => ToolError::new(format!(
            "your question {request} still waits for its answer; end your turn and the answer \
             comes as your next message"
        )),
        other => other.into(),
    }
}

/// Waits for the answer to `request` in the call, but never as long as the agent CLIs' own
/// tool timeouts: `None` past `ask-wait` (the answer then comes as the agent's next turn).
pub(super) async fn wait_bounded(
    ctx: &Engine,
    scope: Scope,
    request: &InputRequest,
    cancelled: impl std::future::Future<Output = ()>,
) -> Result<Option<InputRequest>, ToolError> {
    let project = ctx.project(scope.project).await?;
    // Below the CLIs' tool timeouts, and well inside the agent's inactivity timeout.
    let wait = project
        .workflow
        .ask_wait_secs
        .min(project.workflow.inactivity_timeout_secs / 2)
        .max(1);
    // A call the agent gave up (its connection cut, or cancelled) stops waiting: the answer
    // then comes as its next turn.
    tokio::select! {
        waited = ctx.wait_for_answer(request.id, Duration::from_secs(u64::from(wait))) => Ok(waited?),
        () = cancelled => Err(ToolError::new("the call was cancelled")),
    }
}

/// The answer to `request` as the asking tool gives it: in the call, or "pending: end your
/// turn".
async fn wait_for_answer(
    ctx: &Engine,
    scope: Scope,
    request: InputRequest,
    cancelled: impl std::future::Future<Output = ()>,
) -> Result<Value, ToolError> {
    let waited = wait_bounded(ctx, scope, &request, cancelled).await?;
    let who = match (request.consult, request.routed_to) {
        (Some(_), _) => "the other agent",
        (None, Some(_)) => "your orchestrator (it answers, or passes it on to a person)",
        (None, None) => "a person",
    };
    match waited {
        Some(answered) if answered.state == RequestState::Answered => Ok(json!({
            "answered": true,
            "answer": answer_for_agent(&answered),
        })),
        Some(_) => Err(ToolError::new(
            "the question was cancelled: its run is ending",
        )),
        None => Ok(json!({
            "answered": false,
            "request": request.id.to_string(),
            "note": format!(
                "No answer yet: the question waits for {who}. End your turn now, without \
                 asking again; the answer will come as your next message, in this same session."
            ),
        })),
    }
}
