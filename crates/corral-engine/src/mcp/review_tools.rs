//! `submit_review`: an agent reviewer's verdict on the run it reviews (offered only to an agent
//! reviewer's run). Checked (a verdict, comments on lines the reviewed result has), kept in the
//! reviewer's log where the reviewed run's supervisor reads it, and its comments kept with the
//! reviewed run. Once per reviewer.

use corral_core::review::{
    self, NewComment, ReviewAuthor, ReviewComment, SubmittedReview, Verdict,
};
use corral_core::{ConsultPurpose, RunEventBody};
use corral_store::{ReviewComments, RunEventQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Scope, ToolError};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::runs::source_path;

/// The longest summary a reviewer may give.
const SUMMARY_CHARS: usize = 4_000;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct SubmitReview {
    /// `approve` or `request_changes`.
    pub verdict: String,
    /// Why, in a few sentences.
    #[serde(default)]
    pub summary: String,
    /// What must change, on lines of the reviewed result.
    #[serde(default)]
    pub comments: Vec<ReviewLine>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct ReviewLine {
    /// A file of the reviewed result, relative to the checkout.
    pub path: String,
    /// Its line number, from 1.
    pub line: u32,
    pub text: String,
}

pub(super) async fn submit_review(
    ctx: &Engine,
    scope: Scope,
    args: SubmitReview,
) -> Result<Value, ToolError> {
    let verdict = Verdict::parse(&args.verdict).ok_or_else(|| {
        ToolError::new("`verdict` must be `approve` or `request_changes`".to_string())
    })?;
    let summary = args.summary.trim().to_string();
    if summary.chars().count() > SUMMARY_CHARS {
        return Err(ToolError::new(format!(
            "the summary is longer than {SUMMARY_CHARS} characters; say it shorter"
        )));
    }
    if verdict == Verdict::RequestChanges && summary.is_empty() && args.comments.is_empty() {
        return Err(ToolError::new(
            "say what must change: a summary, comments on lines, or both",
        ));
    }
    if args.comments.len() > review::MAX_COMMENTS {
        return Err(ToolError::new(format!(
            "at most {} comments; keep the ones that matter",
            review::MAX_COMMENTS
        )));
    }
    let own = ctx.run(scope.run).await?;
    let Some(consult) = own
        .consult
        .as_ref()
        .filter(|c| c.purpose == ConsultPurpose::Review)
    else {
        return Err(ToolError::new("only an agent reviewer submits a review"));
    };
    let db = ctx.store.db();
    if !RunEventQuery::of_kind(db, scope.run, "review_submitted")
        .await
        .map_err(EngineError::from)?
        .is_empty()
    {
        return Err(ToolError::new(
            "you submitted your review already; end your turn",
        ));
    }
    let reviewed = ctx.run(consult.of).await?;
    let Some(result) = reviewed.result_commit.clone() else {
        return Err(ToolError::new("the reviewed run has no result to review"));
    };
    let comments: Vec<NewComment> = args
        .comments
        .into_iter()
        .map(|c| NewComment {
            path: c.path,
            line: c.line,
            text: c.text,
        })
        .collect();
    for c in &comments {
        review::check_comment(c).map_err(|e| ToolError::new(e.to_string()))?;
    }
    let project = ctx.project(reviewed.project_id).await?;
    let repo = source_path(ctx, &project);
    let author = ReviewAuthor::Agent { run: scope.run };
    let kept = tokio::task::spawn_blocking(move || {
        comments
            .into_iter()
            .map(
                |c| match corral_git::line_at(&repo, &result, &c.path, c.line) {
                    Ok(Some(code)) => Ok(ReviewComment {
                        path: c.path.trim().to_string(),
                        line: c.line,
                        code,
                        text: c.text.trim().to_string(),
                        author: author.clone(),
                    }),
                    Ok(None) => Err(ToolError::new(format!(
                        "{}:{} is not a line of a text file in the reviewed result; comment on \
                         lines it has",
                        c.path, c.line
                    ))),
                    Err(e) => Err(ToolError::from(EngineError::from(e))),
                },
            )
            .collect::<Result<Vec<_>, ToolError>>()
    })
    .await
    .map_err(|e| ToolError::from(EngineError::from(e)))??;
    let submitted = SubmittedReview {
        verdict,
        summary,
        comments: kept,
    };
    ReviewComments::insert(db, reviewed.id, None, &submitted.comments, Engine::now())
        .await
        .map_err(EngineError::from)?;
    let count = submitted.comments.len();
    ctx.append(
        scope.run,
        RunEventBody::ReviewSubmitted { review: submitted },
    )
    .await?;
    // The reviewed run's supervisor reads it from the log.
    ctx.events.flush().await.map_err(EngineError::from)?;
    Ok(json!({
        "recorded": true,
        "verdict": args.verdict.trim(),
        "comments": count,
        "next": "end your turn",
    }))
}
