//! The inbox: what waits on the user (agents' questions, proposed tasks), and answers.

use corral_core::question::{Choice, Question};
use corral_core::{Answer, InputRequest, QuestionAnswer};
use corral_engine::InboxItem;
use serde::{Deserialize, Serialize};
use specta::Type;

use super::TaskCardDto;

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ChoiceDto {
    pub label: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct QuestionDto {
    pub question: String,
    /// Choices offered; none: free text only (free text is always allowed).
    pub options: Vec<ChoiceDto>,
    /// Several options may be picked.
    pub multiple: bool,
}

/// An agent's question, waiting for the user.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct QuestionRequestDto {
    pub id: String,
    pub run_id: String,
    pub task_id: String,
    pub project_id: String,
    pub task_title: String,
    pub project: String,
    pub questions: Vec<QuestionDto>,
    pub context: Option<String>,
    pub asked_at: f64,
}

/// One thing waiting on the user.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboxItemDto {
    Question {
        request: QuestionRequestDto,
    },
    ProposedTask {
        task: TaskCardDto,
        project: String,
    },
    /// A run whose checks failed with its attempts used up: follow up, run again, merge
    /// anyway, or set it aside.
    ChecksFailed {
        run: crate::dto::RunDto,
        task_title: String,
        project: String,
    },
}

fn question_dto(q: &Question) -> QuestionDto {
    QuestionDto {
        question: q.question.clone(),
        options: q
            .options
            .iter()
            .map(|o: &Choice| ChoiceDto {
                label: o.label.clone(),
                description: o.description.clone(),
            })
            .collect(),
        multiple: q.multiple,
    }
}

fn request_dto(request: &InputRequest, task_title: &str, project: &str) -> QuestionRequestDto {
    QuestionRequestDto {
        id: request.id.to_string(),
        run_id: request.run_id.to_string(),
        task_id: request.task_id.to_string(),
        project_id: request.project_id.to_string(),
        task_title: task_title.to_string(),
        project: project.to_string(),
        questions: request.ask.questions.iter().map(question_dto).collect(),
        context: request.ask.context.clone(),
        asked_at: request.created_at.0 as f64,
    }
}

impl From<&InboxItem> for InboxItemDto {
    fn from(item: &InboxItem) -> Self {
        match item {
            InboxItem::Question {
                request,
                task_title,
                project,
            } => InboxItemDto::Question {
                request: request_dto(request, task_title, project),
            },
            InboxItem::ProposedTask { task, project } => InboxItemDto::ProposedTask {
                task: task.into(),
                project: project.clone(),
            },
            InboxItem::ChecksFailed {
                run,
                task_title,
                project,
            } => InboxItemDto::ChecksFailed {
                run: run.as_ref().into(),
                task_title: task_title.clone(),
                project: project.clone(),
            },
        }
    }
}

/// The user's answer to one question: options picked by label, and any text.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct QuestionAnswerDto {
    pub selected: Vec<String>,
    pub text: Option<String>,
}

impl From<Vec<QuestionAnswerDto>> for AnswerWrap {
    fn from(answers: Vec<QuestionAnswerDto>) -> Self {
        AnswerWrap(Answer {
            answers: answers
                .into_iter()
                .map(|a| QuestionAnswer {
                    selected: a.selected,
                    text: a.text,
                })
                .collect(),
        })
    }
}

/// The domain answer made from the window's answers, one per question.
#[derive(Debug)]
pub struct AnswerWrap(pub Answer);
