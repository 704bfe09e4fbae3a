//! A run's log streamed to its view through a `tauri::ipc::Channel`: first its timeline and the
//! end of what is stored (a long log opens at its last line at once; earlier entries are paged
//! in with `run_log_before`), then each committed batch as it lands, until the run is over (or the view
//! closes the stream). A viewer that falls behind the live batches re-reads the database, so
//! nothing is skipped; so does a commit by another process (a run a `corral run` drives).

use std::sync::Arc;
use std::time::Duration;

use corral_core::{RunEvent, RunEventBody, RunId};
use corral_engine::{DatabaseChanges, Engine};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tokio::sync::broadcast::error::RecvError;

use super::parse_id;
use crate::dto::RunEventDto;
use crate::error::ApiResult;
use crate::state::AppState;

/// What a run stream carries.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "type")]
pub enum RunStreamDto {
    /// First: the run's whole state timeline (its state changes before the entries that
    /// follow), and whether the log has entries before them (`run_log_before` pages them in).
    Opened {
        timeline: Vec<RunEventDto>,
        earlier: bool,
    },
    /// Log entries in order: the last stored ones first, then live ones.
    Events { events: Vec<RunEventDto> },
    /// The run is over and every entry was sent.
    End,
}

const PAGE: u64 = 2000;
/// Entries a view opens with: the end of the log, whatever its length.
const TAIL: u64 = 2000;
fn is_end(event: &RunEvent) -> bool {
    matches!(&event.body, RunEventBody::StateChanged { to, .. } if to.is_terminal())
}

/// Sends stored entries after `after` until none are left. Returns the last seq sent, whether
/// the run's end was among them, or `None` when the view is gone.
async fn replay(
    engine: &Engine,
    channel: &Channel<RunStreamDto>,
    run: RunId,
    mut after: i64,
) -> Option<(i64, bool)> {
    let mut ended = false;
    loop {
        let page = engine.run_events(run, after, PAGE).await.ok()?;
        let Some(last) = page.last() else {
            return Some((after, ended));
        };
        after = last.seq;
        ended |= page.iter().any(is_end);
        let full = page.len() as u64 == PAGE;
        let events = page.into_iter().map(RunEventDto::from).collect();
        channel.send(RunStreamDto::Events { events }).ok()?;
        if !full {
            return Some((after, ended));
        }
    }
}

/// Sends the timeline and the last `TAIL` entries, then whatever was committed meanwhile.
/// Returns the last seq sent and whether the run's end was among the entries.
async fn open_at_end(
    engine: &Engine,
    channel: &Channel<RunStreamDto>,
    run: RunId,
) -> Option<(i64, bool)> {
    let tail = engine.run_events_before(run, i64::MAX, TAIL).await.ok()?;
    let first = tail.first().map(|e| e.seq).unwrap_or(i64::MAX);
    let timeline = engine
        .run_timeline(run)
        .await
        .ok()?
        .into_iter()
        .filter(|e| e.seq < first)
        .map(RunEventDto::from)
        .collect();
    let earlier = tail.first().is_some_and(|e| e.seq > 1);
    channel
        .send(RunStreamDto::Opened { timeline, earlier })
        .ok()?;
    let last = tail.last().map(|e| e.seq).unwrap_or(0);
    let ended = tail.iter().any(is_end);
    if !tail.is_empty() {
        let events = tail.into_iter().map(RunEventDto::from).collect();
        channel.send(RunStreamDto::Events { events }).ok()?;
    }
    let (last, more_ended) = replay(engine, channel, run, last).await?;
    Some((last, ended || more_ended))
}

/// Up to `limit` entries of the run's log before `before`, the latest ones, in order (what a
/// view shows as the user scrolls up past what it opened with).
#[tauri::command]
#[specta::specta]
pub async fn run_log_before(
    state: State<'_, AppState>,
    id: String,
    before: f64,
    limit: u32,
) -> ApiResult<Vec<RunEventDto>> {
    let engine = state.engine()?;
    let run: RunId = parse_id("run", &id)?;
    // Seqs are whole numbers well within f64's exact range (the cast saturates otherwise).
    #[allow(clippy::cast_possible_truncation)]
    let before = before as i64;
    Ok(engine
        .run_events_before(run, before, u64::from(limit.min(5000)))
        .await?
        .into_iter()
        .map(RunEventDto::from)
        .collect())
}

/// Resolves when some process committed to the database (or after a while, as a safety net).
async fn committed_elsewhere(changes: Option<&DatabaseChanges>) {
    match changes {
        Some(changes) => changes.next(Duration::from_secs(2)).await,
        // No watch (the OS's inotify limit): look every half second instead.
        None => tokio::time::sleep(Duration::from_millis(500)).await,
    }
}

async fn stream(
    engine: Arc<Engine>,
    channel: Channel<RunStreamDto>,
    run: RunId,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    // Subscribed before the replay, so nothing committed meanwhile is missed.
    let mut live = engine.subscribe_run_events();
    let Some((mut last, mut ended)) = open_at_end(&engine, &channel, run).await else {
        return;
    };
    let already_over = engine
        .run(run)
        .await
        .map(|r| r.state.is_terminal())
        .unwrap_or(true);
    if already_over && !ended {
        // It ended between opening and now: what it committed last is sent before `End`.
        let Some((_, _)) = replay(&engine, &channel, run, last).await else {
            return;
        };
    }
    // Another process (a `corral run`) may drive the run: its commits wake this stream too.
    let changes = engine.database_changes().ok();
    while !ended && !already_over {
        let batch = tokio::select! {
            _ = &mut stop => return,
            batch = live.recv() => batch,
            _ = committed_elsewhere(changes.as_ref()) => {
                // A run this process drives arrives through `live` already.
                if engine.drives_run(run) {
                    continue;
                }
                let Some((seq, end)) = replay(&engine, &channel, run, last).await else {
                    return;
                };
                (last, ended) = (seq, end);
                continue;
            }
        };
        match batch {
            Ok(batch) => {
                let mine: Vec<&RunEvent> = batch
                    .iter()
                    .filter(|e| e.run_id == run && e.seq > last)
                    .collect();
                let Some(newest) = mine.last() else { continue };
                if newest.seq > last + mine.len() as i64 {
                    // A gap (a batch we never saw): read it from the store instead.
                    let Some((seq, end)) = replay(&engine, &channel, run, last).await else {
                        return;
                    };
                    (last, ended) = (seq, end);
                    continue;
                }
                last = newest.seq;
                ended = mine.iter().any(|e| is_end(e));
                let events = mine.into_iter().cloned().map(RunEventDto::from).collect();
                if channel.send(RunStreamDto::Events { events }).is_err() {
                    return;
                }
            }
            Err(RecvError::Lagged(_)) => {
                let Some((seq, end)) = replay(&engine, &channel, run, last).await else {
                    return;
                };
                (last, ended) = (seq, end);
            }
            Err(RecvError::Closed) => return,
        }
    }
    let _ = channel.send(RunStreamDto::End);
}

/// Streams the run's log into `channel` and returns a token for `close_run_stream`.
#[tauri::command]
#[specta::specta]
pub async fn follow_run(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    channel: Channel<RunStreamDto>,
) -> ApiResult<u32> {
    let engine = state.engine()?;
    let run: RunId = parse_id("run", &id)?;
    engine.run(run).await?;
    let (token, stop) = state.open_stream();
    tauri::async_runtime::spawn(async move {
        stream(engine, channel, run, stop).await;
        app.state::<AppState>().close_stream(token);
    });
    Ok(token)
}

/// Ends a stream the view no longer shows.
#[tauri::command]
#[specta::specta]
pub async fn close_run_stream(state: State<'_, AppState>, token: u32) -> ApiResult<()> {
    state.close_stream(token);
    Ok(())
}
