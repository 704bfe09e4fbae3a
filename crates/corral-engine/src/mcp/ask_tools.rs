//! `ask_human`: an agent's question for a person. The question is stored and its run waits in
//! `waiting_input`; the call waits for the answer, but never as long as the agent CLIs' own tool
//! timeouts: past `ask-wait` it returns that the question is pending and tells the agent to
//! end its turn, and the answer then comes as its next turn.

use std::time::Duration;

use corral_core::question::{Choice, Question};
use corral_core::{Ask, RequestState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Scope, ToolError};
use crate::engine::Engine;
use crate::error::EngineError;

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
    let project = ctx.project(scope.project).await?;
    let request = match ctx.ask(scope.run, ask).await {
        Ok(request) => request,
        Err(EngineError::QuestionWaiting { request }) => {
            return Err(ToolError::new(format!(
                "your question {request} still waits for a person; end your turn and its \
                 answer comes as your next message"
            )));
        }
        Err(other) => return Err(other.into()),
    };
    // Below the CLIs' tool timeouts, and well inside the agent's inactivity timeout.
    let wait = project
        .workflow
        .ask_wait_secs
        .min(project.workflow.inactivity_timeout_secs / 2)
        .max(1);
    // A call the agent gave up (its connection cut, or cancelled) stops waiting: the answer
    // then comes as its next turn.
    let waited = tokio::select! {
        waited = ctx.wait_for_answer(request.id, Duration::from_secs(u64::from(wait))) => waited?,
        () = cancelled => return Err(ToolError::new("the call was cancelled")),
    };
    match waited {
        Some(answered) if answered.state == RequestState::Answered => {
            let text = answered
                .answer
                .as_ref()
                .map(|a| answered.ask.answer_text(a))
                .unwrap_or_default();
            Ok(json!({ "answered": true, "answer": text }))
        }
        Some(_) => Err(ToolError::new(
            "the question was cancelled: its run is ending",
        )),
        None => Ok(json!({
            "answered": false,
            "request": request.id.to_string(),
            "note": "No answer yet: the question waits for a person. End your turn now, \
                     without asking again; the answer will come as your next message, in \
                     this same session.",
        })),
    }
}
