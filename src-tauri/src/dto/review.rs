//! Review comments on lines of a run's result.

use corral_core::review::{NewComment, ReviewAuthor};
use corral_engine::ShownComment;
use serde::{Deserialize, Serialize};
use specta::Type;

/// A comment written in the diff viewer: a line of a file as the run's result has it.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct NewCommentDto {
    pub path: String,
    pub line: u32,
    pub text: String,
}

impl From<NewCommentDto> for NewComment {
    fn from(c: NewCommentDto) -> Self {
        NewComment {
            path: c.path,
            line: c.line,
            text: c.text,
        }
    }
}

/// A kept comment: on which run's result, the follow-up it was sent in, and whether that
/// follow-up changed its line.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ReviewCommentDto {
    pub path: String,
    pub line: u32,
    /// The code on the line when it was written.
    pub code: String,
    pub text: String,
    /// The agent reviewer's run, when an agent wrote it; `None`: a person.
    pub by_agent_run: Option<String>,
    pub on_run: String,
    pub sent_in: Option<String>,
    pub outdated: bool,
}

impl From<&ShownComment> for ReviewCommentDto {
    fn from(c: &ShownComment) -> Self {
        ReviewCommentDto {
            path: c.comment.path.clone(),
            line: c.comment.line,
            code: c.comment.code.clone(),
            text: c.comment.text.clone(),
            by_agent_run: match &c.comment.author {
                ReviewAuthor::Person => None,
                ReviewAuthor::Agent { run } => Some(run.to_string()),
            },
            on_run: c.on_run.to_string(),
            sent_in: c.sent_in.map(|r| r.to_string()),
            outdated: c.outdated,
        }
    }
}
