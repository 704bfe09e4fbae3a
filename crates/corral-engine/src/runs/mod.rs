//! Runs: starting one, driving it through its states in a supervisor task, cancelling it, and
//! picking live runs up again after Corral was killed. The state machine is core's; this module
//! does the IO around it (checkout, container, steps, commit).

mod agent;
mod file_watch;
mod follow;
pub(crate) mod gc;
mod prepare;
mod reconcile;
mod result;
mod step;
mod supervisor;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use corral_core::{
    Project, ProjectId, RepoSource, Run, RunEvent, RunId, RunState, Task, TaskId, Transition,
};
use corral_sandbox::{DockerSandbox, LocalSandbox, Sandbox};
use corral_store::{EventWriter, NewRunEvent, RunEventQuery, RunMutation, RunQuery, Store};
use tokio::sync::{OnceCell, Semaphore, broadcast, watch};

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;

/// What supervisors share; cheap to clone into each.
#[derive(Debug, Clone)]
pub(crate) struct RunContext {
    pub store: Store,
    pub events: EventWriter,
    pub bus: broadcast::Sender<EngineEvent>,
    pub config: Config,
    pub registry: Arc<RunRegistry>,
}

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

/// Live supervisors of this process and the per-project run slots.
#[derive(Debug, Default)]
pub(crate) struct RunRegistry {
    cancels: Mutex<HashMap<RunId, watch::Sender<bool>>>,
    slots: Mutex<HashMap<ProjectId, Arc<Semaphore>>>,
    sandbox: OnceCell<DockerSandbox>,
}

impl RunContext {
    /// The run's folder on the host: its lock and the ids of its steps. Never mounted into the
    /// sandbox, so nothing in it was written by the sandbox.
    pub fn run_dir(&self, run: RunId) -> PathBuf {
        self.config.data_dir.join("runs").join(run.to_string())
    }

    /// The part of the run's folder the sandbox sees (at `/corral/run`): the steps' output
    /// files and the agent's home. Everything in it is hostile input to the host.
    pub fn sandbox_dir(&self, run: RunId) -> PathBuf {
        let run_dir = self.run_dir(run);
        // A run made before the sandbox had a folder of its own mounts the whole run folder;
        // known by what its steps left there (never by `sandbox`, which such a run's sandbox
        // could have made itself).
        let legacy = ["home", "agent.out", "setup.out"]
            .iter()
            .any(|name| std::fs::symlink_metadata(run_dir.join(name)).is_ok());
        if legacy {
            run_dir
        } else {
            run_dir.join("sandbox")
        }
    }

    /// The bare mirror of a project added by URL.
    pub fn mirror_dir(&self, project: ProjectId) -> PathBuf {
        self.config
            .data_dir
            .join("mirrors")
            .join(format!("{project}.git"))
    }

    pub fn checkout_dir(&self, run: RunId) -> PathBuf {
        self.config.data_dir.join("checkouts").join(run.to_string())
    }

    pub async fn sandbox(&self) -> EngineResult<&DockerSandbox> {
        self.registry
            .sandbox
            .get_or_try_init(|| DockerSandbox::connect(self.config.docker_host.as_deref()))
            .await
            .map_err(EngineError::from)
    }

    /// Stops and releases a run's sandbox, whichever kind its handle names.
    pub async fn remove_sandbox(&self, handle: &str) -> EngineResult<()> {
        if handle.starts_with(corral_core::LOCAL_SANDBOX_HANDLE_PREFIX) {
            LocalSandbox.remove(handle).await?;
        } else {
            self.sandbox().await?.remove(handle).await?;
        }
        Ok(())
    }

    /// The slot a run of this project must hold while it is past `queued`.
    pub fn slots(&self, project: &Project) -> Arc<Semaphore> {
        let mut slots = self
            .registry
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        slots
            .entry(project.id)
            .or_insert_with(|| {
                Arc::new(Semaphore::new(
                    project.workflow.max_concurrent_runs as usize,
                ))
            })
            .clone()
    }

    pub async fn note(&self, run: RunId, text: impl Into<String>) -> EngineResult<()> {
        self.append(run, corral_core::RunEventBody::Note { text: text.into() })
            .await
    }

    pub async fn append(&self, run: RunId, body: corral_core::RunEventBody) -> EngineResult<()> {
        self.events
            .append(NewRunEvent {
                run_id: run,
                at: Engine::now(),
                body,
            })
            .await?;
        Ok(())
    }

    /// Applies a transition: persisted, logged as an event, announced on the bus.
    pub async fn transition(&self, run: &mut Run, transition: Transition) -> EngineResult<()> {
        let from = run.state.clone();
        let to = from
            .apply(&transition)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let now = Engine::now();
        if matches!(to, RunState::Preparing) && run.started_at.is_none() {
            run.started_at = Some(now);
        }
        if to.is_terminal() {
            run.finished_at = Some(now);
        }
        run.state = to.clone();
        let failure = to.failure();
        self.append(
            run.id,
            corral_core::RunEventBody::StateChanged {
                from: from.status(),
                to: to.status(),
                reason: failure.map(|f| f.message.clone()),
                fail_kind: failure.map(|f| f.kind),
            },
        )
        .await?;
        if to.is_terminal() {
            // Whoever sees the final state must find every event before it already stored. An
            // event that could not be written is reported but must not leave the run hanging.
            if let Err(err) = self.events.flush().await {
                tracing::error!(run = %run.id, error = %err, "run events were lost");
            }
        }
        RunMutation::update(self.store.db(), run).await?;
        tracing::info!(run = %run.id, task = %run.task_id, from = from.name(), to = to.name(), "run state");
        let _ = self.bus.send(EngineEvent::RunUpdated { run: run.clone() });
        Ok(())
    }

    pub async fn save(&self, run: &Run) -> EngineResult<()> {
        RunMutation::update(self.store.db(), run).await?;
        let _ = self.bus.send(EngineEvent::RunUpdated { run: run.clone() });
        Ok(())
    }

    pub fn register(&self, run: RunId) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        self.registry
            .cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(run, tx);
        rx
    }

    pub fn unregister(&self, run: RunId) {
        self.registry
            .cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&run);
    }
}

impl Engine {
    pub(crate) fn run_context(&self) -> RunContext {
        RunContext {
            store: self.store.clone(),
            events: self.events.clone(),
            bus: self.bus.clone(),
            config: self.config.clone(),
            registry: self.runs.clone(),
        }
    }

    /// Starts a run of `task`: the run is created `queued` and a supervisor drives it. Returns
    /// at once; follow it with `subscribe` or `wait_for_run`.
    #[tracing::instrument(skip(self), fields(task = %task_id))]
    pub async fn start_run(&self, task_id: TaskId) -> EngineResult<Run> {
        let task = self.task_record(task_id).await?;
        let project = self.project(task.project_id).await?;
        check_runnable(&task, &project).await?;
        let attempt = RunQuery::for_task(self.store.db(), task_id).await?.len() as u32 + 1;
        let run = Run::queued(task_id, project.id, attempt, Engine::now());
        let note = format!("run {} of `{}` queued", run.attempt, task.title);
        self.queue(run, task, project, note).await
    }

    /// Records a new queued run, notes why it was queued, announces it and starts its
    /// supervisor.
    async fn queue(
        &self,
        run: Run,
        task: Task,
        project: Project,
        note: String,
    ) -> EngineResult<Run> {
        RunMutation::insert(self.store.db(), &run).await?;
        let ctx = self.run_context();
        ctx.note(run.id, note).await?;
        let _ = self.bus.send(EngineEvent::RunUpdated { run: run.clone() });
        supervisor::spawn(ctx, run.clone(), task, project);
        Ok(run)
    }

    /// Sends `message` to a finished run's agent: a new run of the same task, on the same
    /// checkout and branch, that resumes the agent's session with the message. Its diff is
    /// what the follow-up changed (its base is the finished run's result).
    #[tracing::instrument(skip(self, message), fields(run = %run_id))]
    pub async fn start_follow_up(&self, run_id: RunId, message: &str) -> EngineResult<Run> {
        let refuse = |reason: String| Err(EngineError::NoFollowUp { reason });
        let source = self.run(run_id).await?;
        if message.trim().is_empty() {
            return refuse("the message is empty".into());
        }
        if source.state.is_live() {
            return refuse(format!(
                "run {} is still {}; send the follow-up when it has finished",
                source.id,
                source.state.name()
            ));
        }
        let task = self.task_record(source.task_id).await?;
        let project = self.project(task.project_id).await?;
        if agent::adapter(&task, &project)?.is_none() {
            return refuse(
                "the task runs a command (custom runtime), not an agent with a session".into(),
            );
        }
        let Some(session) = source.agent_session_id.clone() else {
            return refuse(format!(
                "run {} has no agent session to resume (its agent never started)",
                source.id
            ));
        };
        let (Some(checkout), Some(branch)) = (source.checkout_path.clone(), source.branch.clone())
        else {
            return refuse(format!("run {} never had a checkout", source.id));
        };
        if !std::path::Path::new(&checkout).is_dir() {
            return refuse(format!(
                "the checkout of run {} was removed by cleanup (the project's retention); \
                 start a new run of the task instead",
                source.id
            ));
        }
        let db = self.store.db();
        if let Some(busy) = RunQuery::live(db)
            .await?
            .into_iter()
            .find(|r| r.checkout_path.as_deref() == Some(checkout.as_str()))
        {
            return refuse(format!(
                "run {} is already working on that checkout; wait for it to finish",
                busy.id
            ));
        }
        check_runnable(&task, &project).await?;
        let attempt = RunQuery::for_task(db, task.id).await?.len() as u32 + 1;
        let run = Run {
            checkout_path: Some(checkout),
            branch: Some(branch),
            base_commit: source.result_commit.clone().or(source.base_commit.clone()),
            agent_session_id: Some(session),
            follow_up: Some(corral_core::FollowUp {
                of: source.id,
                message: message.to_string(),
            }),
            ..Run::queued(task.id, project.id, attempt, Engine::now())
        };
        let note = format!(
            "run {} of `{}` queued: a follow-up of run {} (same checkout and branch, resuming \
             the agent's session)",
            run.attempt, task.title, source.id
        );
        self.queue(run, task, project, note).await
    }

    /// Asks the run's supervisor to stop it. The current step is stopped promptly; the logs stay.
    pub async fn cancel_run(&self, run_id: RunId) -> EngineResult<Run> {
        let run = self.run(run_id).await?;
        if run.state.is_terminal() {
            return Ok(run);
        }
        let sent = {
            let cancels = self.runs.cancels.lock().unwrap_or_else(|p| p.into_inner());
            cancels
                .get(&run_id)
                .map(|tx| tx.send(true).is_ok())
                .unwrap_or(false)
        };
        if !sent {
            // No supervisor here (another process drives it, or none does): stop it directly.
            let ctx = self.run_context();
            let mut run = run;
            if let Some(handle) = &run.container_id
                && let Err(e) = ctx.remove_sandbox(handle).await
            {
                tracing::warn!(error = %e, "could not remove the run's sandbox");
            }
            ctx.transition(&mut run, Transition::Cancel).await?;
            return Ok(run);
        }
        Ok(run)
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
        let run = self.run(run_id).await?;
        let (Some(checkout), Some(base)) = (run.checkout_path.clone(), run.base_commit.clone())
        else {
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
        .map_err(|e| EngineError::Internal(e.to_string()))?
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
        let run = self.run(run_id).await?;
        let (Some(checkout), Some(base)) = (run.checkout_path.clone(), run.base_commit.clone())
        else {
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
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(EngineError::from)
    }

    /// Committed batches of every run's log, as they are committed (for live viewers; a
    /// viewer that lags re-reads the store).
    pub fn subscribe_run_events(
        &self,
    ) -> tokio::sync::broadcast::Receiver<std::sync::Arc<[RunEvent]>> {
        self.events.subscribe()
    }

    /// Merges a succeeded run's branch into the project branch, when that is safe (see
    /// `corral_git::merge_run`); the task then shows as done.
    #[tracing::instrument(skip(self), fields(run = %run_id))]
    pub async fn merge_run(&self, run_id: RunId) -> EngineResult<Run> {
        let mut run = self.run(run_id).await?;
        if run.merged_commit.is_some() {
            return Ok(run);
        }
        if run.state != RunState::Succeeded {
            return Err(EngineError::NotMergeable {
                reason: format!(
                    "only a succeeded run can be merged; this one is {}",
                    run.state
                ),
            });
        }
        let project = self.project(run.project_id).await?;
        let repo = match project.source.clone() {
            RepoSource::Local { path } => path,
            RepoSource::Remote { url } => {
                let branch = run.branch.clone().unwrap_or_default();
                let mirror = self.run_context().mirror_dir(project.id);
                return Err(EngineError::NotMergeable {
                    reason: format!(
                        "the project was added by URL and Corral never pushes to {url}; the \
                         branch is in Corral's mirror: `git fetch {} {branch}` in your clone, \
                         then merge and push it yourself",
                        mirror.display()
                    ),
                });
            }
        };
        let target = project
            .default_branch
            .clone()
            .ok_or_else(|| EngineError::NotMergeable {
                reason: "the project has no default branch".into(),
            })?;
        let (Some(checkout), Some(branch)) = (run.checkout_path.clone(), run.branch.clone()) else {
            return Err(EngineError::NotMergeable {
                reason: "the run has no checkout".into(),
            });
        };
        let run_branch = branch.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            corral_git::merge_run(
                &repo,
                std::path::Path::new(&checkout),
                &branch,
                &target,
                ("Corral", "corral@localhost"),
            )
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(|e| match EngineError::from(e) {
            EngineError::MergeConflict { branch, paths, .. } => EngineError::MergeConflict {
                branch,
                paths,
                run_branch: run_branch.clone(),
            },
            other => other,
        })?;
        run.merged_commit = Some(outcome.commit().to_string());
        let ctx = self.run_context();
        ctx.note(
            run.id,
            format!(
                "merged into the project branch as {}",
                &outcome.commit()[..12]
            ),
        )
        .await?;
        ctx.save(&run).await?;
        Ok(run)
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
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one match")),
            _ => Err(EngineError::RunNotFound {
                reference: reference.to_string(),
            }),
        }
    }

    /// Cleans up by policy (see `gc`); with `dry_run` only reports what it would do.
    pub async fn gc(&self, dry_run: bool) -> EngineResult<gc::GcReport> {
        gc::gc(&self.run_context(), dry_run, gc::STUCK_AFTER).await
    }

    /// `gc` with another limit for stuck runs (tests).
    pub async fn gc_with_stuck_limit(
        &self,
        dry_run: bool,
        stuck_after: std::time::Duration,
    ) -> EngineResult<gc::GcReport> {
        gc::gc(&self.run_context(), dry_run, stuck_after).await
    }

    /// Picks up live runs after a restart (see `reconcile`). Call it from front ends that stay
    /// up while runs go on (the app, `corral run`, `corral logs --follow`).
    pub async fn resume_runs(&self) -> EngineResult<()> {
        reconcile::reconcile(self.run_context()).await
    }
}

/// Only what this build can run: a `custom` command line, or a runtime with an adapter and its
/// API key (checked here, before anything is prepared).
async fn check_runnable(task: &Task, project: &Project) -> EngineResult<()> {
    match agent::adapter(task, project)? {
        None if task.command.is_none() => Err(EngineError::NotRunnable {
            reason: "a custom task needs a command line (`--runtime custom -- CMD ...`)".into(),
        }),
        None => Ok(()),
        Some(adapter) => {
            if adapter.runtime() == corral_core::Runtime::Acp && task.command.is_none() {
                return Err(EngineError::NotRunnable {
                    reason: "an acp task needs the agent's command line (`--runtime acp -- \
                             gemini --acp`)"
                        .into(),
                });
            }
            if task.prompt.trim().is_empty() {
                return Err(EngineError::NotRunnable {
                    reason: "the task has no prompt for the agent".into(),
                });
            }
            agent::api_key(adapter.as_ref()).await.map(|_| ())
        }
    }
}
