//! An agent's question for a person (MCP `ask_human`): 1 to 4 questions, each with optional
//! choices, single or multiple choice, free text always allowed; and the person's answer,
//! checked against it. What the agent sends is untrusted: everything is bounded and checked
//! here before anything is stored.

use serde::{Deserialize, Serialize};

use crate::ids::{ProjectId, RequestId, RunId, TaskId};
use crate::time::Timestamp;

pub const MAX_QUESTIONS: usize = 4;
pub const MAX_OPTIONS: usize = 8;
const MAX_QUESTION_CHARS: usize = 2_000;
const MAX_LABEL_CHARS: usize = 120;
const MAX_DESCRIPTION_CHARS: usize = 500;
const MAX_CONTEXT_CHARS: usize = 8_000;
const MAX_ANSWER_CHARS: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub question: String,
    /// Choices offered; none: free text only.
    #[serde(default)]
    pub options: Vec<Choice>,
    /// Several choices may be picked.
    #[serde(default)]
    pub multiple: bool,
}

/// What an agent asked, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub questions: Vec<Question>,
    /// What the person should know to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Set for an approval (`agent-permissions=ask`): the tool the agent wants to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<crate::permission::PermissionAsk>,
}

/// A person's answer to one question: the choices picked and any text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct QuestionAnswer {
    #[serde(default)]
    pub selected: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The answer to a whole `Ask`, one entry per question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Answer {
    pub answers: Vec<QuestionAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    #[error("ask 1 to {MAX_QUESTIONS} questions at a time, not {0}")]
    QuestionCount(usize),
    #[error("question {0} is empty")]
    EmptyQuestion(usize),
    #[error("question {0} offers one option; offer none (free text) or 2 to {MAX_OPTIONS}")]
    OneOption(usize),
    #[error("question {0} offers {1} options; at most {MAX_OPTIONS}")]
    TooManyOptions(usize, usize),
    #[error("question {0} has an option with an empty label")]
    EmptyLabel(usize),
    #[error("question {0} offers the option `{1}` twice")]
    DuplicateLabel(usize, String),
    #[error("{what} is longer than {max} characters")]
    TooLong { what: String, max: usize },
    #[error("{0} holds control characters")]
    ControlCharacters(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the question asks {asked} question(s); {given} answer(s) were given")]
    Count { asked: usize, given: usize },
    #[error("question {0} has no option `{1}`; its options: {2}")]
    UnknownOption(usize, String, String),
    #[error("question {0} takes one choice, {1} were picked")]
    SingleChoice(usize, usize),
    #[error("question {0} has no answer: pick an option or write something")]
    Unanswered(usize),
    #[error("the answer is longer than {MAX_ANSWER_CHARS} characters")]
    TooLong,
}

/// Bounded, and free of control characters but line breaks and tabs (terminal escapes would
/// reach `corral inbox` and the logs).
fn bounded(what: impl Fn() -> String, text: &str, max: usize) -> Result<(), AskError> {
    if text.chars().count() > max {
        return Err(AskError::TooLong { what: what(), max });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AskError::ControlCharacters(what()));
    }
    Ok(())
}

impl Ask {
    /// Checks what an agent sent, and returns it trimmed.
    pub fn checked(self) -> Result<Ask, AskError> {
        let n = self.questions.len();
        if n == 0 || n > MAX_QUESTIONS {
            return Err(AskError::QuestionCount(n));
        }
        let mut questions = Vec::with_capacity(n);
        for (i, q) in self.questions.into_iter().enumerate() {
            let number = i + 1;
            let text = q.question.trim().to_string();
            if text.is_empty() {
                return Err(AskError::EmptyQuestion(number));
            }
            bounded(|| format!("question {number}"), &text, MAX_QUESTION_CHARS)?;
            match q.options.len() {
                1 => return Err(AskError::OneOption(number)),
                k if k > MAX_OPTIONS => return Err(AskError::TooManyOptions(number, k)),
                _ => {}
            }
            let mut options: Vec<Choice> = Vec::with_capacity(q.options.len());
            for o in q.options {
                let label = o.label.trim().to_string();
                if label.is_empty() {
                    return Err(AskError::EmptyLabel(number));
                }
                bounded(
                    || format!("an option of question {number}"),
                    &label,
                    MAX_LABEL_CHARS,
                )?;
                if options.iter().any(|c| c.label == label) {
                    return Err(AskError::DuplicateLabel(number, label));
                }
                let description = o
                    .description
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty());
                if let Some(d) = &description {
                    bounded(
                        || format!("an option's description in question {number}"),
                        d,
                        MAX_DESCRIPTION_CHARS,
                    )?;
                }
                options.push(Choice { label, description });
            }
            questions.push(Question {
                question: text,
                multiple: q.multiple && !options.is_empty(),
                options,
            });
        }
        let context = self
            .context
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if let Some(c) = &context {
            bounded(|| "the context".to_string(), c, MAX_CONTEXT_CHARS)?;
        }
        Ok(Ask {
            questions,
            context,
            permission: self.permission,
        })
    }

    /// Checks a person's answer against the questions, and returns it trimmed.
    pub fn check_answer(&self, answer: Answer) -> Result<Answer, AnswerError> {
        if answer.answers.len() != self.questions.len() {
            return Err(AnswerError::Count {
                asked: self.questions.len(),
                given: answer.answers.len(),
            });
        }
        let mut total = 0;
        let mut out = Vec::with_capacity(answer.answers.len());
        for (i, (q, a)) in self.questions.iter().zip(answer.answers).enumerate() {
            let number = i + 1;
            let text = a
                .text
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            total += text.as_deref().map_or(0, |t| t.chars().count());
            for label in &a.selected {
                if !q.options.iter().any(|o| &o.label == label) {
                    let known: Vec<&str> = q.options.iter().map(|o| o.label.as_str()).collect();
                    return Err(AnswerError::UnknownOption(
                        number,
                        label.clone(),
                        if known.is_empty() {
                            "none (answer with text)".into()
                        } else {
                            known.join(", ")
                        },
                    ));
                }
            }
            if !q.multiple && a.selected.len() > 1 {
                return Err(AnswerError::SingleChoice(number, a.selected.len()));
            }
            if a.selected.is_empty() && text.is_none() {
                return Err(AnswerError::Unanswered(number));
            }
            out.push(QuestionAnswer {
                selected: a.selected,
                text,
            });
        }
        if total > MAX_ANSWER_CHARS {
            return Err(AnswerError::TooLong);
        }
        Ok(Answer { answers: out })
    }

    /// The answer as the agent reads it: each question with what was picked and written.
    pub fn answer_text(&self, answer: &Answer) -> String {
        let mut lines = Vec::new();
        for (q, a) in self.questions.iter().zip(&answer.answers) {
            lines.push(format!("Q: {}", q.question));
            if !a.selected.is_empty() {
                lines.push(format!("A: {}", a.selected.join(", ")));
            }
            if let Some(text) = &a.text {
                lines.push(format!("A (in their words): {text}"));
            }
        }
        lines.join("\n")
    }

    /// A one-line summary for lists and notifications: the first question.
    pub fn headline(&self) -> &str {
        self.questions.first().map_or("", |q| q.question.as_str())
    }
}

/// Where a question is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for a person.
    Pending,
    Answered,
    /// Its run ended before anyone answered.
    Cancelled,
}

impl RequestState {
    pub fn as_str(&self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Answered => "answered",
            RequestState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        match s {
            "pending" => Some(RequestState::Pending),
            "answered" => Some(RequestState::Answered),
            "cancelled" => Some(RequestState::Cancelled),
            _ => None,
        }
    }
}

/// A stored question of a run's agent, and its answer once there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRequest {
    pub id: RequestId,
    pub run_id: RunId,
    pub task_id: TaskId,
    pub project_id: ProjectId,
    pub ask: Ask,
    pub state: RequestState,
    pub answer: Option<Answer>,
    /// Who answered: `cli`, `app`, `notification`, `agent`.
    pub answered_by: Option<String>,
    /// Set for a question to another agent (`ask_agent`): the consult run that answers it. Such
    /// a question is not in a person's inbox.
    pub consult: Option<RunId>,
    /// A subtask's question goes first to its orchestrator's run (which answers it or passes
    /// it on); while set it is not in a person's inbox.
    pub routed_to: Option<RunId>,
    pub created_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    /// When the answer reached the agent (in its waiting call, or as its next turn).
    pub delivered_at: Option<Timestamp>,
}

#[cfg(test)]
#[path = "question_tests.rs"]
mod tests;
