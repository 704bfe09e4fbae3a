//! What each role of a run's MCP server is told, and the tools a role keeps or alone gets.

use super::Role;

/// What a working agent is told.
const INSTRUCTIONS: &str = "Corral runs this task in a sandbox and gives it these tools: read \
the project's task queue (list_tasks, get_task), add tasks for work you find but should not do \
now (create_task, add_dependency; an agent's tasks may wait for a person's approval), ask the \
person a question when you cannot go on without them (ask_human), ask another coding agent for \
a second opinion (ask_agent: it looks at your checkout read-only), and report_progress with a \
short status line.";

/// What a consult run's agent is told: it answers another agent and only reads.
const CONSULT_INSTRUCTIONS: &str = "Another agent consulted you. These tools read the project's \
task queue (list_tasks, get_task); your final message is your answer.";

/// What an agent reviewer is told.
const REVIEWER_INSTRUCTIONS: &str = "You review another agent's work as a check of the \
project. list_tasks and get_task read the project's task queue; submit_review gives your \
verdict, once.";

/// The tools a consult run keeps: it answers another agent and changes nothing.
pub(super) const CONSULT_TOOLS: [&str; 2] = ["list_tasks", "get_task"];

/// The tools an agent reviewer keeps: it reads, and gives its verdict.
pub(super) const REVIEWER_TOOLS: [&str; 3] = ["list_tasks", "get_task", "submit_review"];

/// The tools only an orchestrator gets.
pub(super) const ORCHESTRATOR_TOOLS: [&str; 7] = [
    "create_subtask",
    "answer_subtask",
    "list_subtasks",
    "get_subtask_result",
    "retry_subtask",
    "cancel_subtask",
    "finish",
];

/// What an orchestrator is told.
const ORCHESTRATOR_INSTRUCTIONS: &str = "You orchestrate: split the goal into subtasks with \
create_subtask (each runs in a sandbox of its own as soon as the subtasks it runs after have \
succeeded; `after` names your other subtasks), then end your turn: Corral wakes you when they \
have ended, with their results (get_subtask_result reads one in full, retry_subtask sends one \
back with your feedback, cancel_subtask stops one and leaves its work out). Call finish with a \
summary when the goal is met: your subtasks' work is then merged into your run's branch, the \
one result the person reviews. A subtask's question comes to you first: answer_subtask answers it \
or passes it on to the person. The project's tools (list_tasks, get_task, ask_human, ...) are \
there too.";

/// What an agent in `role` is told of the server.
pub(super) fn instructions(role: Role) -> &'static str {
    match role {
        Role::Worker => INSTRUCTIONS,
        Role::Orchestrator => ORCHESTRATOR_INSTRUCTIONS,
        Role::Consult => CONSULT_INSTRUCTIONS,
        Role::Reviewer => REVIEWER_INSTRUCTIONS,
    }
}
