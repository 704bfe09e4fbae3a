//! The agent reviewer check (`verify.review=agent`): another agent, in a consult run of its
//! own that sees the checkout read-only, is given the task and the run's diff and gives its
//! verdict through `submit_review`. Approve passes; requested changes fail the check like any
//! other (its comments go back to the working agent). A reviewer that cannot start (its key
//! missing), runs past `verify-timeout` or ends without a verdict makes the check one that
//! could not run. The reviewer's run is remembered per attempt (and found again when Corral
//! died before remembering it), so a restart waits for it rather than starting another.

use std::time::Duration;

use corral_core::check::{CheckOutcome, Reviewer};
use corral_core::review::{SubmittedReview, Verdict, review_tail};
use corral_core::{ConsultPurpose, Run, RunEventBody, RunId, Timestamp};
use corral_store::RunEventQuery;
use tokio::sync::watch;

use super::checks::write_atomic;
use super::follow::StepStop;
use crate::engine::Engine;
use crate::error::{EngineError, ErrorKind};

/// In a run's host-only folder: `<attempt>:<run id>` of its agent reviewer's run.
const REVIEWER_RUN_FILE: &str = "review.run";
/// How often the reviewed run looks at its reviewer.
const POLL: Duration = Duration::from_millis(250);
/// The most of a review given back as the check's output.
const REVIEW_CHARS: usize = 8_000;

/// Has `run`'s result reviewed by its agent reviewer (started now, or the one this attempt
/// started already); `since` is when the check started and `limit` how long it may take.
/// Returns how the check ended and what the reviewer said.
pub(super) async fn review(
    ctx: &Engine,
    run: &Run,
    reviewer: &Reviewer,
    (since, limit): (Timestamp, Duration),
    cancel: &mut watch::Receiver<bool>,
) -> Result<(CheckOutcome, String), StepStop> {
    let reviewer_run = match started_already(ctx, run, since).await? {
        Some(id) => id,
        None => match ctx.start_review(run.id, reviewer).await {
            Ok(started) => {
                remember(ctx, run, started.id)?;
                started.id
            }
            // Its key missing, say: the check could not run; the run goes on to its end.
            Err(err) if cannot_review(&err) => {
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
            Err(err) => return Err(StepStop::Engine(err)),
        },
    };
    let deadline =
        u64::try_from(since.0).unwrap_or(0) + u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    let ended = loop {
        if *cancel.borrow() {
            return Err(StepStop::Cancelled);
        }
        let now = ctx.run(reviewer_run).await?;
        if now.state.is_terminal() {
            break now;
        }
        if u64::try_from(Engine::now().0).unwrap_or(0) >= deadline {
            ctx.cancel_run(reviewer_run).await?;
            let text = format!(
                "the agent reviewer (run {reviewer_run}) ran past verify-timeout ({} s) and was \
                 cancelled",
                limit.as_secs()
            );
            ctx.note(run.id, text.clone()).await?;
            return Ok((CheckOutcome::Error, text));
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

/// Errors that mean the reviewer cannot review (a missing key, a reviewer refused for this
/// sandbox), as opposed to Corral failing (the run then fails as for any engine error).
fn cannot_review(err: &EngineError) -> bool {
    matches!(
        err.kind(),
        ErrorKind::MissingApiKey | ErrorKind::Keychain | ErrorKind::NoConsult
    )
}

/// The reviewer this attempt started already: remembered, or (Corral died between starting it
/// and remembering it) the newest reviewer of the run started since the check began.
async fn started_already(
    ctx: &Engine,
    run: &Run,
    since: Timestamp,
) -> Result<Option<RunId>, StepStop> {
    let key = format!("{}:", run.verify_attempt);
    let recorded = std::fs::read_to_string(ctx.run_dir(run.id).join(REVIEWER_RUN_FILE))
        .ok()
        .and_then(|text| text.strip_prefix(&key).map(str::to_string))
        .and_then(|id| id.trim().parse::<RunId>().ok());
    if recorded.is_some() {
        return Ok(recorded);
    }
    let found = ctx
        .consults_of(run.id)
        .await?
        .into_iter()
        .filter(|c| {
            c.created_at >= since
                && c.consult
                    .as_ref()
                    .is_some_and(|c| c.purpose == ConsultPurpose::Review)
        })
        .max_by_key(|c| c.created_at)
        .map(|c| c.id);
    if let Some(id) = found {
        remember(ctx, run, id)?;
    }
    Ok(found)
}

fn remember(ctx: &Engine, run: &Run, reviewer: RunId) -> Result<(), StepStop> {
    write_atomic(
        &ctx.run_dir(run.id).join(REVIEWER_RUN_FILE),
        &format!("{}:{reviewer}", run.verify_attempt),
    )
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
