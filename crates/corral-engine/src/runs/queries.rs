//! Reading runs: by id or reference, lists, their logs, file changes and diffs.

use corral_core::{ProjectId, Run, RunEvent, RunId, RunState, TaskId};
use corral_store::{RunEventQuery, RunQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

/// A file of a run's checkout that its commit does not hold: bigger than the project's
/// `max-file-size` when the result was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOutFile {
    pub path: String,
    pub size: u64,
    pub max_bytes: u64,
}

/// A left-out file as an entry of a run's changes.
fn left_out_diff(file: LeftOutFile) -> corral_git::FileDiff {
    corral_git::FileDiff::unread(file.path, corral_git::FileStatus::LeftOut)
}

/// What a run's diff is taken against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffAgainst {
    /// Its base: the project branch with the work of the tasks it runs after merged in (only
    /// its own work shows).
    #[default]
    RunBase,
    /// The project branch as the run started from it (its upstream work shows too).
    ProjectBranch,
}

/// An upstream task's result a run's checkout started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamWork {
    pub task: TaskId,
    pub run: RunId,
    pub commit: String,
    /// False when the checkout held it already (through another upstream task).
    pub merged: bool,
}

impl Engine {
    /// The agent's last words in a run: its final message, or its last text.
    pub async fn final_text(&self, run: RunId) -> EngineResult<Option<String>> {
        let events = RunEventQuery::of_kind(self.store.db(), run, "agent").await?;
        Ok(events.into_iter().rev().find_map(|e| match e.body {
            corral_core::RunEventBody::Agent {
                event:
                    corral_core::AgentEvent::Finished {
                        summary: Some(text),
                        ..
                    }
                    | corral_core::AgentEvent::AssistantText { text },
            } => Some(text),
            _ => None,
        }))
    }

    pub async fn run(&self, run_id: RunId) -> EngineResult<Run> {
        RunQuery::by_id(self.store.db(), run_id)
            .await?
            .ok_or_else(|| EngineError::RunNotFound {
                reference: run_id.to_string(),
            })
    }

    /// How many runs are live, and how many of those wait for a human (for the tray).
    pub async fn live_run_counts(&self) -> EngineResult<(usize, usize)> {
        let live = RunQuery::live(self.store.db()).await?;
        let waiting = live
            .iter()
            .filter(|r| r.state == RunState::WaitingInput)
            .count();
        Ok((live.len(), waiting))
    }

    /// Live runs, oldest first, each with its task's title (for the tray).
    pub async fn live_runs(&self) -> EngineResult<Vec<(Run, String)>> {
        let db = self.store.db();
        let mut out = Vec::new();
        for run in RunQuery::live(db).await? {
            let title = corral_store::TaskQuery::by_id(db, run.task_id)
                .await?
                .map(|t| t.title)
                .unwrap_or_default();
            out.push((run, title));
        }
        Ok(out)
    }

    /// Every recorded change of a run's checkout, in order.
    pub async fn run_file_changes(
        &self,
        run: RunId,
    ) -> EngineResult<Vec<corral_store::FileChange>> {
        Ok(corral_store::FileChangeQuery::for_run(self.store.db(), run).await?)
    }

    /// Runs of one task (or all), newest first.
    pub async fn list_runs(&self, task: Option<TaskId>) -> EngineResult<Vec<Run>> {
        Ok(RunQuery::list(self.store.db(), task).await?)
    }

    /// Runs of one project, newest first.
    pub async fn project_runs(&self, project: ProjectId) -> EngineResult<Vec<Run>> {
        Ok(RunQuery::for_project(self.store.db(), project).await?)
    }

    /// Files left out of the run's commit for their size, as its log records them.
    pub async fn run_left_out(&self, run: RunId) -> EngineResult<Vec<LeftOutFile>> {
        let events = RunEventQuery::of_kind(self.store.db(), run, "file_left_out").await?;
        Ok(events
            .into_iter()
            .filter_map(|e| match e.body {
                corral_core::RunEventBody::FileLeftOut {
                    path,
                    size,
                    max_bytes,
                } => Some(LeftOutFile {
                    path,
                    size,
                    max_bytes,
                }),
                _ => None,
            })
            .collect())
    }

    /// What the run asked of the network through its gateway, summed up.
    pub async fn run_network(&self, run: RunId) -> EngineResult<corral_core::NetworkSummary> {
        let events = RunEventQuery::of_kind(self.store.db(), run, "network").await?;
        let requests: Vec<corral_core::NetworkRequest> = events
            .into_iter()
            .filter_map(|e| match e.body {
                corral_core::RunEventBody::Network { request } => Some(request),
                _ => None,
            })
            .collect();
        Ok(corral_core::NetworkSummary::of(&requests))
    }

    /// The upstream tasks' results its checkout started from, in merge order.
    pub async fn run_upstream(&self, run: RunId) -> EngineResult<Vec<UpstreamWork>> {
        let events = RunEventQuery::of_kind(self.store.db(), run, "upstream_merged").await?;
        Ok(events
            .into_iter()
            .filter_map(|e| match e.body {
                corral_core::RunEventBody::UpstreamMerged {
                    task_id,
                    run_id,
                    commit,
                    merged,
                    ..
                } => Some(UpstreamWork {
                    task: task_id,
                    run: run_id,
                    commit,
                    merged,
                }),
                _ => None,
            })
            .collect())
    }

    /// For each of `runs` that has any: the paths another live run changed too.
    pub async fn run_overlaps(
        &self,
        runs: &[RunId],
    ) -> EngineResult<std::collections::HashMap<RunId, Vec<crate::views::Overlap>>> {
        let mut found: std::collections::HashMap<RunId, Vec<crate::views::Overlap>> =
            std::collections::HashMap::new();
        for event in RunEventQuery::of_kind_for_runs(self.store.db(), runs, "overlap").await? {
            if let corral_core::RunEventBody::Overlap {
                run_id,
                task_id,
                path,
            } = event.body
            {
                found
                    .entry(event.run_id)
                    .or_default()
                    .push(crate::views::Overlap {
                        run: run_id,
                        task: task_id,
                        path,
                    });
            }
        }
        Ok(found)
    }

    /// Up to `limit` stored events of a run before `before`, the latest ones, in order: the end
    /// of its log with `before = i64::MAX`, earlier pages as a viewer scrolls up.
    pub async fn run_events_before(
        &self,
        run: RunId,
        before: i64,
        limit: u64,
    ) -> EngineResult<Vec<RunEvent>> {
        Ok(RunEventQuery::before(self.store.db(), run, before, limit).await?)
    }

    /// The run's state changes and verification attempts, in order: its timeline, whatever the
    /// length of its log.
    pub async fn run_timeline(&self, run: RunId) -> EngineResult<Vec<RunEvent>> {
        let db = self.store.db();
        let mut timeline = RunEventQuery::of_kind(db, run, "state_changed").await?;
        // Each retry after failed checks starts an attempt.
        timeline.extend(RunEventQuery::of_kind(db, run, "verify_retry").await?);
        timeline.sort_by_key(|e| e.seq);
        Ok(timeline)
    }

    /// Up to `limit` stored events of a run after `after`.
    pub async fn run_events(
        &self,
        run: RunId,
        after: i64,
        limit: u64,
    ) -> EngineResult<Vec<RunEvent>> {
        Ok(RunEventQuery::page(self.store.db(), run, after, limit).await?)
    }

    /// What a run changed against its base commit: the result commit when it has one, the
    /// live checkout otherwise. Patches are cut at `patch_cap` bytes.
    pub async fn run_diff(
        &self,
        run_id: RunId,
        patch_cap: usize,
    ) -> EngineResult<Vec<corral_git::FileDiff>> {
        self.run_diff_against(run_id, DiffAgainst::RunBase, patch_cap)
            .await
    }

    /// The commit a run's diff is taken against: its base (the project branch with its
    /// upstream work merged in), or the project branch as the run started from it. Both come
    /// from what Corral recorded, never from the checkout's refs (the sandbox can rewrite
    /// those). A run that merged nothing started from the project branch itself; one whose
    /// log predates the recorded start shows its own work.
    async fn diff_base(&self, run: &Run, against: DiffAgainst) -> EngineResult<Option<String>> {
        if against == DiffAgainst::RunBase {
            return Ok(run.base_commit.clone());
        }
        let events = RunEventQuery::of_kind(self.store.db(), run.id, "upstream_merged").await?;
        let start = events.into_iter().find_map(|e| match e.body {
            corral_core::RunEventBody::UpstreamMerged { project_commit, .. } => project_commit,
            _ => None,
        });
        Ok(start.or_else(|| run.base_commit.clone()))
    }

    /// `run_diff` against the run's base or the project branch.
    pub async fn run_diff_against(
        &self,
        run_id: RunId,
        against: DiffAgainst,
        patch_cap: usize,
    ) -> EngineResult<Vec<corral_git::FileDiff>> {
        let run = self.run(run_id).await?;
        let (Some(checkout), Some(base)) = (
            run.checkout_path.clone(),
            self.diff_base(&run, against).await?,
        ) else {
            return Ok(Vec::new());
        };
        let target = run.result_commit.clone();
        let mut files = tokio::task::spawn_blocking(move || {
            corral_git::diff(
                std::path::Path::new(&checkout),
                &base,
                target.as_deref(),
                patch_cap,
            )
        })
        .await
        .map_err(EngineError::from)?
        .map_err(EngineError::from)?;
        if run.result_commit.is_some() {
            files.extend(
                self.run_left_out(run_id)
                    .await?
                    .into_iter()
                    .map(left_out_diff),
            );
        }
        Ok(files)
    }

    /// One file's change in a run, with numbered lines for a viewer (live while the run is).
    pub async fn run_file_diff(
        &self,
        run_id: RunId,
        path: &str,
        patch_cap: usize,
    ) -> EngineResult<Option<corral_git::FileDiff>> {
        self.run_file_diff_against(run_id, path, DiffAgainst::RunBase, patch_cap)
            .await
    }

    /// `run_file_diff` against the run's base or the project branch.
    pub async fn run_file_diff_against(
        &self,
        run_id: RunId,
        path: &str,
        against: DiffAgainst,
        patch_cap: usize,
    ) -> EngineResult<Option<corral_git::FileDiff>> {
        let run = self.run(run_id).await?;
        let (Some(checkout), Some(base)) = (
            run.checkout_path.clone(),
            self.diff_base(&run, against).await?,
        ) else {
            return Ok(None);
        };
        let target = run.result_commit.clone();
        if target.is_some()
            && let Some(file) = self
                .run_left_out(run_id)
                .await?
                .into_iter()
                .find(|f| f.path == path)
        {
            return Ok(Some(left_out_diff(file)));
        }
        let path = path.to_string();
        tokio::task::spawn_blocking(move || {
            corral_git::file_diff(
                std::path::Path::new(&checkout),
                &base,
                target.as_deref(),
                &path,
                patch_cap,
            )
        })
        .await
        .map_err(EngineError::from)?
        .map_err(EngineError::from)
    }

    /// Committed batches of every run's log, as they are committed (for live viewers; a
    /// viewer that lags re-reads the store).
    pub fn subscribe_run_events(
        &self,
    ) -> tokio::sync::broadcast::Receiver<std::sync::Arc<[RunEvent]>> {
        self.events.subscribe()
    }

    /// Resolves a run from its id or the unique prefix of its id.
    pub async fn find_run(&self, reference: &str) -> EngineResult<Run> {
        let reference = reference.trim();
        if let Ok(id) = reference.parse::<RunId>() {
            return self.run(id).await;
        }
        let matches: Vec<Run> = self
            .list_runs(None)
            .await?
            .into_iter()
            .filter(|r| r.id.to_string().starts_with(reference) || r.id.short() == reference)
            .collect();
        let mut matches = matches.into_iter();
        match (matches.next(), matches.next()) {
            (Some(run), None) => Ok(run),
            _ => Err(EngineError::RunNotFound {
                reference: reference.to_string(),
            }),
        }
    }
}
