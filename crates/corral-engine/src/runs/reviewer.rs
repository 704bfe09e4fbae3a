//! The agent reviewer check (`verify.review=agent`): another agent, in a consult run of its
//! own that sees the checkout read-only, is given the task and the run's diff and gives its
//! verdict through `submit_review`. Approve passes; requested changes fail the check like any
//! other (its comments go back to the working agent); a reviewer that cannot start (its key
//! missing) or ends without a verdict makes the check one that could not run. The reviewer's
//! run is remembered per attempt, so a restart waits for it rather than starting another.

use std::time::Duration;

use corral_core::check::{CheckOutcome, Reviewer};
use corral_core::review::{SubmittedReview, Verdict, review_tail};
use corral_core::{Run, RunEventBody, RunId};
use corral_store::RunEventQuery;
use tokio::sync::watch;

use super::checks::write_atomic;
use super::follow::StepStop;
use crate::engine::Engine;
use crate::error::EngineError;

/// In a run's host-only folder: `<attempt>:<run id>` of its agent reviewer's run.
const REVIEWER_RUN_FILE: &str = "review.run";
/// How often the reviewed run looks at its reviewer.
const POLL: Duration = Duration::from_millis(250);
/// The most of a review given back as the check's output.
const REVIEW_CHARS: usize = 8_000;

/// Has `run`'s result reviewed by its agent reviewer (started now, or the one this attempt
/// started already); returns how the check ended and what the reviewer said.
pub(super) async fn review(
    ctx: &Engine,
    run: &Run,
    reviewer: &Reviewer,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(CheckOutcome, String), StepStop> {
    let record = ctx.run_dir(run.id).join(REVIEWER_RUN_FILE);
    let key = format!("{}:", run.verify_attempt);
    let started = std::fs::read_to_string(&record)
        .ok()
        .and_then(|text| text.strip_prefix(&key).map(str::to_string))
        .and_then(|id| id.trim().parse::<RunId>().ok());
    let reviewer_run = match started {
        Some(id) => id,
        None => match ctx.start_review(run.id, reviewer).await {
            Ok(started) => {
                write_atomic(&record, &format!("{key}{}", started.id))?;
                started.id
            }
            // Its key missing, say: the check could not run; the run goes on to its end.
            Err(err) => {
                let text = match err.fix() {
                    Some(fix) => format!("{err} ({fix})"),
                    None => err.to_string(),
                };
                ctx.note(
                    run.id,
                    format!("the agent reviewer could not start: {text}"),
                )
                .await?;
                return Ok((CheckOutcome::Error, text));
            }
        },
    };
    let ended = loop {
        if *cancel.borrow() {
            return Err(StepStop::Cancelled);
        }
        let now = ctx.run(reviewer_run).await?;
        if now.state.is_terminal() {
            break now;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = cancel.changed() => {}
        }
    };
    let submitted = RunEventQuery::of_kind(ctx.store.db(), reviewer_run, "review_submitted")
        .await
        .map_err(EngineError::from)?
        .into_iter()
        .rev()
        .find_map(|e| match e.body {
            RunEventBody::ReviewSubmitted { review } => Some(review),
            _ => None,
        });
    let Some(submitted) = submitted else {
        let text = format!(
            "the agent reviewer (run {reviewer_run}) ended {} without calling submit_review",
            ended.state
        );
        ctx.note(run.id, text.clone()).await?;
        return Ok((CheckOutcome::Error, text));
    };
    Ok(verdict(&submitted))
}

/// The check's outcome and output for a submitted review.
fn verdict(review: &SubmittedReview) -> (CheckOutcome, String) {
    let outcome = match review.verdict {
        Verdict::Approve => CheckOutcome::Passed,
        Verdict::RequestChanges => CheckOutcome::Failed,
    };
    let mut text = review_tail(review);
    if text.chars().count() > REVIEW_CHARS {
        text = text.chars().take(REVIEW_CHARS).collect();
        text.push_str("\n[... more in the reviewer's run]");
    }
    (outcome, text)
}
