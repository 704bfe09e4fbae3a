//! Consult runs (`ask_agent`): one run's agent asks another agent. The consulted agent works on
//! a read-only view of the asking run's checkout, is told the asking task and the question, and
//! its final text is the answer. Pure: what the consult run is told and runs as.

use serde::{Deserialize, Serialize};

use crate::ids::{RequestId, RunId};
use crate::question::{Answer, QuestionAnswer};
use crate::runtime::Runtime;
use crate::task::Task;

/// The most of the asking task's prompt the consulted agent is told.
const TASK_PROMPT_CHARS: usize = 4_000;
/// The most of a consulted agent's final text given back as the answer.
pub const ANSWER_CHARS: usize = 20_000;

/// A question one run's agent put to another agent, kept with the consult run answering it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consult {
    /// The asking run (the consult run is its child).
    pub of: RunId,
    /// The asking run's question that this run's final text answers.
    pub request: RequestId,
    /// The consulted agent; the task's (or the project's) when the asker named none.
    pub runtime: Option<Runtime>,
    pub model: Option<String>,
    /// What the consulted agent is told: the asking task, the question and its context.
    pub prompt: String,
    /// Why it was consulted: to answer a question (its final text is the answer), or to review
    /// the run's result as one of its checks (`submit_review` is its verdict).
    #[serde(default)]
    pub purpose: ConsultPurpose,
}

/// Why an agent is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsultPurpose {
    /// It answers the asking agent's question (`ask_agent`).
    #[default]
    Answer,
    /// It reviews the run's result as its agent reviewer check (`verify.review=agent`).
    Review,
}

impl Consult {
    /// What the consulted agent is told.
    pub fn prompt_for(task: &Task, question: &str, context: Option<&str>) -> String {
        let mut task_prompt: String = task.prompt.chars().take(TASK_PROMPT_CHARS).collect();
        if task.prompt.chars().count() > TASK_PROMPT_CHARS {
            task_prompt.push_str(" [...]");
        }
        let mut prompt = format!(
            "Another coding agent asks for your view. It works on the task below; the current \
             folder is its checkout as it is now, and you see it read-only: do not change files \
             (your changes would not be kept). Look at what you need to, then answer its \
             question. Your final message is the answer it receives: make it self-contained.\n\n\
             The task it works on: {}\n{}\n\nIts question:\n{}",
            task.title,
            task_prompt,
            question.trim()
        );
        if let Some(context) = context.map(str::trim).filter(|c| !c.is_empty()) {
            prompt.push_str("\n\nWhat it says about where it is:\n");
            prompt.push_str(context);
        }
        prompt
    }

    /// The task as the consult run runs it: the consulted agent with the consult's prompt. A
    /// task run by a command line (custom, acp) is consulted through the project's agent.
    pub fn task(&self, task: &Task) -> Task {
        let own = task
            .runtime
            .filter(|r| !matches!(r, Runtime::Custom | Runtime::Acp));
        let runtime = self.runtime.or(own);
        Task {
            prompt: self.prompt.clone(),
            runtime,
            // The task's model belongs to the task's agent; another agent gets its default.
            model: self.model.clone().or_else(|| {
                (runtime == task.runtime)
                    .then(|| task.model.clone())
                    .flatten()
            }),
            command: None,
            ..task.clone()
        }
    }
}

/// The answer a consulted agent gave (its final text, cut to `ANSWER_CHARS`), as the asking
/// run's question records it.
pub fn agent_answer(text: &str) -> Answer {
    let mut text: String = text.trim().chars().take(ANSWER_CHARS).collect();
    if text.is_empty() {
        text = "(the consulted agent ended without a final message)".to_string();
    }
    Answer {
        answers: vec![QuestionAnswer {
            selected: Vec::new(),
            text: Some(text),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ProjectId, TaskId};
    use crate::time::Timestamp;

    fn task() -> Task {
        Task {
            id: TaskId::new(),
            project_id: ProjectId::new(),
            title: "Add a cache".into(),
            prompt: "Cache the listing".into(),
            runtime: Some(Runtime::ClaudeCode),
            model: Some("claude-x".into()),
            command: None,
            kind: crate::TaskKind::Work,
            parent: None,
            created_by: crate::CreatedBy::Human,
            approval: crate::Approval::Approved,
            max_attempts: 1,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn consult(runtime: Option<Runtime>, model: Option<&str>) -> Consult {
        Consult {
            of: RunId::new(),
            request: RequestId::new(),
            runtime,
            model: model.map(String::from),
            prompt: Consult::prompt_for(&task(), " Which map? ", Some("I read lib.rs")),
            purpose: ConsultPurpose::Answer,
        }
    }

    #[test]
    fn the_prompt_holds_the_task_the_question_and_the_context() {
        let prompt = consult(None, None).prompt;
        assert!(
            prompt.contains("Add a cache\nCache the listing"),
            "{prompt}"
        );
        assert!(prompt.contains("Its question:\nWhich map?"), "{prompt}");
        assert!(prompt.contains("I read lib.rs"), "{prompt}");
        assert!(prompt.contains("read-only"), "{prompt}");
    }

    #[test]
    fn a_long_task_prompt_is_cut() {
        let long = Task {
            prompt: "x".repeat(TASK_PROMPT_CHARS * 3),
            ..task()
        };
        let prompt = Consult::prompt_for(&long, "q", None);
        assert!(prompt.len() < TASK_PROMPT_CHARS + 1_000);
        assert!(prompt.contains("[...]"));
    }

    #[test]
    fn the_consult_task_runs_the_consulted_agent() {
        let same = consult(None, None).task(&task());
        assert_eq!(same.runtime, Some(Runtime::ClaudeCode));
        assert_eq!(
            same.model.as_deref(),
            Some("claude-x"),
            "same agent, same model"
        );
        assert!(same.prompt.contains("Which map?"));
        let other = consult(Some(Runtime::Codex), None).task(&task());
        assert_eq!(other.runtime, Some(Runtime::Codex));
        assert_eq!(
            other.model, None,
            "another agent does not get the task's model"
        );
        let named = consult(Some(Runtime::Codex), Some("gpt-x")).task(&task());
        assert_eq!(named.model.as_deref(), Some("gpt-x"));
        let custom = Task {
            runtime: Some(Runtime::Custom),
            command: Some(vec!["true".into()]),
            ..task()
        };
        let consulted = consult(None, None).task(&custom);
        assert_eq!(consulted.command, None);
        assert_eq!(consulted.runtime, None, "the project's agent");
    }

    #[test]
    fn an_agent_answer_is_cut_and_never_empty() {
        let long = agent_answer(&"y".repeat(ANSWER_CHARS + 50));
        assert_eq!(
            long.answers[0].text.as_ref().map(|t| t.chars().count()),
            Some(ANSWER_CHARS)
        );
        let empty = agent_answer("  \n");
        assert!(
            empty.answers[0]
                .text
                .as_deref()
                .is_some_and(|t| t.contains("without"))
        );
    }
}
