//! Review comments: a person comments on lines of a finished run's result (in the window's
//! diff viewer, or `corral review`), and the comments go to the run's agent as one follow-up.
//! They are kept with the reviewed run and the follow-up they started; a comment whose line
//! the follow-up changed is kept and shown as outdated.

use corral_core::review::{self, NewComment, ReviewAuthor, ReviewComment};
use corral_core::{Run, RunId, ValidationError};
use corral_store::ReviewComments;

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::runs::source_path;

/// A kept comment, as front ends show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownComment {
    pub comment: ReviewComment,
    /// The run whose result it is on.
    pub on_run: RunId,
    /// The follow-up run it was sent in.
    pub sent_in: Option<RunId>,
    /// The follow-up's result no longer holds the commented code on that line.
    pub outdated: bool,
}

impl Engine {
    /// Sends `comments` on lines of a finished run's result, and `note`, to its agent as one
    /// follow-up run (see `start_follow_up`); returns that run. Each comment's line must be in
    /// the result: its code is quoted to the agent and kept with the comment.
    #[tracing::instrument(skip(self, comments, note), fields(run = %run_id))]
    pub async fn review_run(
        &self,
        run_id: RunId,
        comments: Vec<NewComment>,
        note: Option<String>,
    ) -> EngineResult<Run> {
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if comments.is_empty() && note.is_none() {
            return Err(EngineError::NoFollowUp {
                reason: "a review needs at least one comment or a message".into(),
            });
        }
        if comments.len() > review::MAX_COMMENTS {
            return Err(ValidationError::TooLong {
                field: "review (comments)",
                chars: comments.len(),
                max: review::MAX_COMMENTS,
            }
            .into());
        }
        for comment in &comments {
            review::check_comment(comment)?;
        }
        let source = self.run(run_id).await?;
        let Some(result) = source.result_commit.clone() else {
            return Err(EngineError::NoFollowUp {
                reason: format!("run {run_id} has no result to comment on"),
            });
        };
        let project = self.project(source.project_id).await?;
        let repo = source_path(self, &project);
        let kept = tokio::task::spawn_blocking(move || {
            comments
                .into_iter()
                .map(|c| {
                    let code = corral_git::line_at(&repo, &result, &c.path, c.line)?;
                    Ok::<_, EngineError>(code.map(|code| ReviewComment {
                        path: c.path.trim().to_string(),
                        line: c.line,
                        code,
                        text: c.text.trim().to_string(),
                        author: ReviewAuthor::Person,
                    }))
                    .and_then(|found| {
                        found.ok_or_else(|| {
                            EngineError::from(ValidationError::BadValue {
                                field: "comment location",
                                given: format!("{}:{}", c.path, c.line),
                                expected: "a line of a text file in the run's result",
                            })
                        })
                    })
                })
                .collect::<EngineResult<Vec<_>>>()
        })
        .await
        .map_err(EngineError::from)??;
        let message = review::message(&kept, note.as_deref());
        let follow_up = self.start_follow_up(run_id, &message).await?;
        ReviewComments::insert(
            self.store.db(),
            run_id,
            Some(follow_up.id),
            &kept,
            Engine::now(),
        )
        .await?;
        if !kept.is_empty() {
            self.note(
                follow_up.id,
                format!(
                    "it carries {} review comment{} on run {run_id}",
                    kept.len(),
                    if kept.len() == 1 { "" } else { "s" }
                ),
            )
            .await?;
        }
        Ok(follow_up)
    }

    /// The comments on `run`'s result and those it was sent in (as a follow-up), in the order
    /// written; each marked outdated when the follow-up's result changed its line.
    pub async fn review_comments(&self, run: RunId) -> EngineResult<Vec<ShownComment>> {
        let stored = ReviewComments::of_run(self.store.db(), run).await?;
        let mut shown = Vec::with_capacity(stored.len());
        for s in stored {
            // Against the follow-up it was sent in; an agent reviewer's, sent in no follow-up,
            // against its run's latest result (a retry moves it on).
            let against = s.sent_in.unwrap_or(s.run);
            let outdated = self.line_changed(against, &s.comment).await?;
            shown.push(ShownComment {
                comment: s.comment,
                on_run: s.run,
                sent_in: s.sent_in,
                outdated,
            });
        }
        Ok(shown)
    }

    /// Whether `run`'s result no longer has `comment`'s code on its line (false while it has
    /// no result).
    async fn line_changed(&self, run: RunId, comment: &ReviewComment) -> EngineResult<bool> {
        let run = self.run(run).await?;
        let Some(result) = run.result_commit.clone() else {
            return Ok(false);
        };
        let project = self.project(run.project_id).await?;
        let repo = source_path(self, &project);
        let (path, line, code) = (comment.path.clone(), comment.line, comment.code.clone());
        let now =
            tokio::task::spawn_blocking(move || corral_git::line_at(&repo, &result, &path, line))
                .await
                .map_err(EngineError::from)??;
        Ok(now.as_deref() != Some(code.as_str()))
    }
}
