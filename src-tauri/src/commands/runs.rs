//! Run commands: start, list, show, cancel, the log (paged from the database), the diff.

use corral_core::{RunId, TaskId};
use tauri::State;

use super::parse_id;
use crate::dto::{
    DiffAgainstDto, DiffLineDto, FileDetailDto, FileDiffDto, MergePreviewDto, NewCommentDto,
    ReviewCommentDto, RunChangesDto, RunDto, RunEventDto, status_name,
};
use crate::error::ApiResult;
use crate::state::{AppState, guarded};

#[tauri::command]
#[specta::specta]
pub async fn start_run(state: State<'_, AppState>, task_id: String) -> ApiResult<RunDto> {
    let engine = state.engine()?;
    let task: TaskId = parse_id("task", &task_id)?;
    guarded(async move { Ok(RunDto::from(&engine.start_run(task).await?)) }).await
}

/// Runs of a task, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_runs(state: State<'_, AppState>, task_id: String) -> ApiResult<Vec<RunDto>> {
    let engine = state.engine()?;
    let task: TaskId = parse_id("task", &task_id)?;
    guarded(async move {
        Ok(engine
            .list_runs(Some(task))
            .await?
            .iter()
            .map(RunDto::from)
            .collect())
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn get_run(state: State<'_, AppState>, id: String) -> ApiResult<RunDto> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move { Ok(RunDto::from(&engine.run(id).await?)) }).await
}

/// The runs of the agents a run's agent consulted (`ask_agent`), oldest first.
#[tauri::command]
#[specta::specta]
pub async fn run_consults(state: State<'_, AppState>, id: String) -> ApiResult<Vec<RunDto>> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move {
        Ok(engine
            .consults_of(id)
            .await?
            .iter()
            .map(RunDto::from)
            .collect())
    })
    .await
}

/// What merging the run would do now (fast-forward, merge commit, squash; into which branch).
#[tauri::command]
#[specta::specta]
pub async fn merge_preview(state: State<'_, AppState>, id: String) -> ApiResult<MergePreviewDto> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move { Ok(MergePreviewDto::from(&engine.merge_preview(id).await?)) }).await
}

/// Merges a succeeded run's branch into the project branch, when that is safe; with `force`,
/// also a run whose checks failed (a person reviewed it and decided).
#[tauri::command]
#[specta::specta]
pub async fn merge_run(state: State<'_, AppState>, id: String, force: bool) -> ApiResult<RunDto> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move {
        let merged = if force {
            engine.force_merge_run(id).await?
        } else {
            engine.merge_run(id).await?
        };
        Ok(RunDto::from(&merged))
    })
    .await
}

/// Sets aside a finished run whose checks failed: it leaves the inbox.
#[tauri::command]
#[specta::specta]
pub async fn dismiss_run(state: State<'_, AppState>, id: String) -> ApiResult<RunDto> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move { Ok(RunDto::from(&engine.dismiss_run(id).await?)) }).await
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_run(state: State<'_, AppState>, id: String) -> ApiResult<RunDto> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move { Ok(RunDto::from(&engine.cancel_run(id).await?)) }).await
}

/// Sends a message to a finished run's agent: a new run on the same checkout and branch that
/// resumes the agent's session with it.
#[tauri::command]
#[specta::specta]
pub async fn follow_up_run(
    state: State<'_, AppState>,
    id: String,
    message: String,
) -> ApiResult<RunDto> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move { Ok(RunDto::from(&engine.start_follow_up(id, &message).await?)) }).await
}

/// Sends review comments on lines of a finished run's result, and a message, to its agent as
/// one follow-up run.
#[tauri::command]
#[specta::specta]
pub async fn review_run(
    state: State<'_, AppState>,
    id: String,
    comments: Vec<NewCommentDto>,
    message: Option<String>,
) -> ApiResult<RunDto> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    let comments = comments.into_iter().map(Into::into).collect();
    guarded(async move {
        Ok(RunDto::from(
            &engine.review_run(id, comments, message).await?,
        ))
    })
    .await
}

/// The review comments on a run's result, and those it was sent in (a follow-up).
#[tauri::command]
#[specta::specta]
pub async fn review_comments(
    state: State<'_, AppState>,
    id: String,
) -> ApiResult<Vec<ReviewCommentDto>> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move {
        let comments = engine.review_comments(id).await?;
        Ok(comments.iter().map(ReviewCommentDto::from).collect())
    })
    .await
}

/// Up to `limit` log entries after `after` (a seq); the view pages through and keeps up.
#[tauri::command]
#[specta::specta]
pub async fn run_log(
    state: State<'_, AppState>,
    id: String,
    after: u32,
    limit: u32,
) -> ApiResult<Vec<RunEventDto>> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move {
        let events = engine
            .run_events(id, i64::from(after), u64::from(limit.min(5000)))
            .await?;
        Ok(events.into_iter().map(RunEventDto::from).collect())
    })
    .await
}

/// The most files a run's Changes list carries; past it the list says how many there are.
const LISTED_FILES: usize = 5_000;

#[tauri::command]
#[specta::specta]
pub async fn run_diff(
    state: State<'_, AppState>,
    id: String,
    against: DiffAgainstDto,
) -> ApiResult<RunChangesDto> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move {
        // The list needs counts only; each file's lines come with `run_file_diff`.
        let files = engine.run_diff_against(id, against.into(), 0).await?;
        let total = u32::try_from(files.len()).unwrap_or(u32::MAX);
        let files = files
            .into_iter()
            .take(LISTED_FILES)
            .map(|f| FileDiffDto {
                status: status_name(f.status).to_string(),
                path: f.path,
                added: u32::try_from(f.added).unwrap_or(u32::MAX),
                removed: u32::try_from(f.removed).unwrap_or(u32::MAX),
                binary: f.binary,
                patch: None,
                truncated: false,
            })
            .collect();
        Ok(RunChangesDto { files, total })
    })
    .await
}

/// One file's diff against the run's base (the live checkout while the run is live); `null`
/// when the file has not changed.
#[tauri::command]
#[specta::specta]
pub async fn run_file_diff(
    state: State<'_, AppState>,
    id: String,
    path: String,
    against: DiffAgainstDto,
) -> ApiResult<Option<FileDetailDto>> {
    let engine = state.engine()?;
    let id: RunId = parse_id("run", &id)?;
    guarded(async move {
        let Some(f) = engine
            .run_file_diff_against(id, &path, against.into(), 2 * 1024 * 1024)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(FileDetailDto {
            status: status_name(f.status).to_string(),
            path: f.path,
            old_path: f.old_path,
            added: u32::try_from(f.added).unwrap_or(u32::MAX),
            removed: u32::try_from(f.removed).unwrap_or(u32::MAX),
            binary: f.binary,
            symlink: f.symlink,
            truncated: f.truncated,
            lines: f
                .lines
                .into_iter()
                .map(|l| DiffLineDto {
                    kind: match l.kind {
                        corral_engine::LineKind::Hunk => "hunk",
                        corral_engine::LineKind::Context => "context",
                        corral_engine::LineKind::Added => "added",
                        corral_engine::LineKind::Removed => "removed",
                    }
                    .to_string(),
                    old: l.old,
                    new: l.new,
                    text: l.text,
                })
                .collect(),
        }))
    })
    .await
}
