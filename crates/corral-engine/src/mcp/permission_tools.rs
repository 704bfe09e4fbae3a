//! `permission_prompt`: with `agent-permissions=ask`, the agent CLI (Claude Code's
//! `--permission-prompt-tool`) asks here before using a tool beyond what it may do alone. The
//! request becomes a question in the person's inbox (allow once, allow for this run, deny, with
//! the command shown); a tool allowed for the run is not asked again. Answered in time, the
//! decision comes back in the call; past `ask-wait` the call denies for now and tells the agent
//! to end its turn, and the decision comes as its next turn (an "allow once" then lets the same
//! call through once).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use corral_core::permission::{ALLOW_FOR_RUN, Decision, decision, permission_ask};
use corral_core::{RequestState, RunId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ask_tools::wait_bounded;
use super::{Scope, ToolError};
use crate::engine::Engine;
use crate::error::EngineError;

/// Calls a person allowed once after the agent's call had given up waiting: the agent's retry
/// of the same call goes through (in this process; after a restart it is asked again).
static ALLOWED_LATER: LazyLock<Mutex<HashMap<RunId, Vec<ToolCallKey>>>> =
    LazyLock::new(Default::default);

/// A tool and its input (compact JSON), as an approval names them.
type ToolCallKey = (String, String);

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct PermissionPrompt {
    /// The tool the agent wants to use.
    pub tool_name: String,
    /// Its input.
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

/// The longest tool input (as JSON) a person is asked to approve: all of it fits the question.
const MAX_INPUT_CHARS: usize = corral_core::permission::INPUT_CHARS;

fn allow(input: Value) -> Value {
    json!({"behavior": "allow", "updatedInput": input})
}

fn deny(message: String) -> Value {
    json!({"behavior": "deny", "message": message})
}

/// Records that a person allowed `tool` with `input` once after the call gave up: the retry
/// goes through.
pub(crate) fn allowed_later(run: RunId, tool: &str, input: &str) {
    let mut allowed = ALLOWED_LATER.lock().unwrap_or_else(|p| p.into_inner());
    allowed
        .entry(run)
        .or_default()
        .push((tool.to_string(), input.to_string()));
}

/// Forgets a run's calls allowed later (it ended).
pub(crate) fn forget_run(run: RunId) {
    let mut allowed = ALLOWED_LATER.lock().unwrap_or_else(|p| p.into_inner());
    allowed.remove(&run);
}

/// Takes a call allowed once after its first try gave up, if this is it.
fn take_allowed_later(run: RunId, tool: &str, input: &str) -> bool {
    let mut allowed = ALLOWED_LATER.lock().unwrap_or_else(|p| p.into_inner());
    let Some(calls) = allowed.get_mut(&run) else {
        return false;
    };
    match calls.iter().position(|(t, i)| t == tool && i == input) {
        Some(at) => {
            calls.remove(at);
            true
        }
        None => false,
    }
}

#[tracing::instrument(skip_all, fields(run = %scope.run, task = %scope.task, project = %scope.project, tool = %args.tool_name))]
pub(crate) async fn permission_prompt(
    ctx: &Engine,
    scope: Scope,
    args: PermissionPrompt,
    cancelled: impl std::future::Future<Output = ()>,
) -> Result<Value, ToolError> {
    // A person approves only what they can read in full.
    let input_chars = args.input.to_string().chars().count();
    if input_chars > MAX_INPUT_CHARS {
        return Ok(deny(format!(
            "this {} call's input is {input_chars} characters, too long to show a person for \
             approval (at most {MAX_INPUT_CHARS}); split it into smaller steps",
            args.tool_name
        )));
    }
    let task = ctx.task_record(scope.task).await?;
    let project = ctx.project(scope.project).await?;
    let agent = task.runtime.unwrap_or(project.workflow.runtime);
    let ask = permission_ask(&agent.to_string(), &args.tool_name, &args.input);
    let asked = ask
        .permission
        .clone()
        .ok_or_else(|| ToolError::new("internal: an approval question without its tool"))?;
    // Allowed for the whole run already, or allowed once after an earlier try gave up.
    let earlier = ctx.run_questions(scope.run).await?;
    let for_run = earlier.iter().any(|r| {
        r.state == RequestState::Answered
            && r.ask
                .permission
                .as_ref()
                .is_some_and(|p| p.tool == asked.tool)
            && r.answer
                .as_ref()
                .is_some_and(|a| decision(a) == Decision::AllowForRun)
    });
    if for_run || take_allowed_later(scope.run, &asked.tool, &asked.input) {
        return Ok(allow(args.input));
    }
    let ask = ask.checked().map_err(|e| ToolError::new(e.to_string()))?;
    let request = match ctx.ask(scope.run, ask).await {
        Ok(request) => request,
        Err(EngineError::QuestionWaiting { request }) => {
            return Ok(deny(format!(
                "your question {request} still waits for a person; end your turn and its answer \
                 comes as your next message"
            )));
        }
        Err(other) => return Err(other.into()),
    };
    match wait_bounded(ctx, scope, &request, cancelled).await? {
        Some(answered) if answered.state == RequestState::Answered => {
            let decided = answered
                .answer
                .as_ref()
                .map_or(Decision::Deny(None), decision);
            Ok(match decided {
                Decision::AllowOnce | Decision::AllowForRun => allow(args.input),
                Decision::Deny(why) => deny(match why {
                    Some(why) => format!("A person denied it: {why}"),
                    None => "A person denied it.".to_string(),
                }),
            })
        }
        Some(_) => Ok(deny("the request was cancelled: the run is ending".into())),
        None => Ok(deny(format!(
            "Waiting for a person's decision (request {}). End your turn now; their decision \
             comes as your next message. If they allow it, make the same call again; \
             \"{ALLOW_FOR_RUN}\" lets every {} call of this run through.",
            request.id, asked.tool
        ))),
    }
}
