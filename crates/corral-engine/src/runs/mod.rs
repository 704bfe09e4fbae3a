//! Runs: starting one, driving it through its states in a supervisor task, cancelling it, and
//! picking live runs up again after Corral was killed. The state machine is core's; this module
//! does the IO around it (checkout, container, steps, commit).

mod agent;
mod ask;
mod checks;
pub(crate) mod consult;
mod doors;
mod file_watch;
mod follow;
pub(crate) mod gc;
mod integration;
mod merge;
mod network;
mod orchestration;
mod orchestration_budget;
mod orchestration_wait;
mod overlaps;
mod paths;
mod plan;
mod prepare;
mod queries;
mod reconcile;
mod record;
pub(crate) mod registry;
pub(crate) mod repo_lock;
mod result;
mod reviewer;
mod slots;
mod step;
mod supervisor;
mod upstream;
mod work;

use corral_core::{Project, Run, RunId, SandboxKind, Task, TaskId, Transition};
use corral_store::{RunMutation, RunQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;

pub use merge::{MergeHow, MergePreview};
pub(crate) use orchestration_wait::wake_on_failure;
pub(crate) use prepare::source_path;
pub use queries::{DiffAgainst, LeftOutFile, UpstreamWork};

/// In a run's (host-only) folder: a cancel was asked for, by any process.
pub(crate) const CANCEL_FILE: &str = "cancel-requested";

impl Engine {
    /// Starts a run of `task`: the run is created `queued` and a supervisor drives it. Returns
    /// at once; follow it with `subscribe` or `wait_for_run`.
    #[tracing::instrument(skip(self), fields(task = %task_id))]
    pub async fn start_run(&self, task_id: TaskId) -> EngineResult<Run> {
        let task = self.task_record(task_id).await?;
        let project = self.project(task.project_id).await?;
        let attempt = next_attempt(RunQuery::for_task(self.store.db(), task_id).await?.len());
        let run = Run::queued(task_id, project.id, attempt, Engine::now());
        // Refused before anything is recorded when the task cannot run.
        let plan = self.plan(&run, &task, &project, true).await?;
        self.check_orchestrator_slots(&task, &project).await?;
        let note = format!("run {} of `{}` queued", run.attempt, task.title);
        self.queue(run, task, project, plan, note).await
    }

    /// The plan of `run` (see `plan`): its adapter resolved and its API key looked up, once.
    /// With `require_key` a missing key refuses the run; without (a run picked up after a
    /// restart) it only fails the run if its agent has still to start.
    pub(crate) async fn plan(
        &self,
        run: &Run,
        task: &Task,
        project: &Project,
        require_key: bool,
    ) -> EngineResult<plan::RunPlan> {
        let agent = match agent::adapter(task, project)? {
            None => None,
            Some(adapter) => {
                // What can be refused without the key is, before the keychain is asked.
                plan::check(task, project, Some(adapter.as_ref()))?;
                let key = agent::api_key(adapter.as_ref()).await;
                if require_key && let Err(missing) = key {
                    return Err(missing);
                }
                Some((adapter, key))
            }
        };
        let sandbox = run.sandbox_kind().unwrap_or(project.workflow.sandbox);
        // Settled once per run: a run that made its placeholder keeps the gateway, one whose
        // container was made without it keeps going without. A local command needs none: it
        // holds no key, and a local step could ignore the proxy anyway.
        let use_gateway = network::uses_gateway(self, run.id)
            || (run.container_id.is_none()
                && network::through_gateway(project)
                && (sandbox == SandboxKind::Docker || agent.is_some()));
        let gateway = if use_gateway {
            let placeholder = network::placeholder(self, run.id)
                .map_err(EngineError::io("making the run's placeholder key"))?;
            let doors = match sandbox {
                SandboxKind::Docker => network::Doors::Relay,
                SandboxKind::Local => network::loopback_doors(self, run.id)
                    .map_err(EngineError::io("choosing the gateway's loopback ports"))?,
            };
            Some((placeholder, doors))
        } else {
            None
        };
        plan::RunPlan::resolve(
            run,
            task,
            project,
            &self.sandbox_dir(run.id),
            agent,
            gateway,
            &self.local_relay_path(),
        )
    }

    /// Records a new queued run, notes why it was queued, announces it and starts its
    /// supervisor.
    async fn queue(
        &self,
        run: Run,
        task: Task,
        project: Project,
        plan: plan::RunPlan,
        note: String,
    ) -> EngineResult<Run> {
        RunMutation::insert(self.store.db(), &run).await?;
        self.note(run.id, note).await?;
        self.publish(EngineEvent::RunUpdated { run: run.clone() });
        supervisor::spawn(self.clone(), run.clone(), task, project, Some(plan));
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
        if let Some(consult) = &source.consult {
            return refuse(format!(
                "run {} answered another run's agent (a consult run); follow up the run that \
                 asked, {}",
                source.id, consult.of
            ));
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
        let attempt = next_attempt(RunQuery::for_task(db, task.id).await?.len());
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
        let plan = self.plan(&run, &task, &project, true).await?;
        let note = format!(
            "run {} of `{}` queued: a follow-up of run {} (same checkout and branch, resuming \
             the agent's session)",
            run.attempt, task.title, source.id
        );
        self.queue(run, task, project, plan, note).await
    }

    /// How many runs this process drives (a process that drives none may exit without
    /// leaving a run behind).
    pub fn runs_driven_here(&self) -> usize {
        self.runs.count()
    }

    /// Whether a supervisor of this process drives `run`.
    pub fn drives_run(&self, run: RunId) -> bool {
        self.runs.drives(run)
    }

    /// Asks the run's supervisor to stop it, in whichever process it runs. The current step is
    /// stopped promptly; the logs stay. The request is a file in the run's folder, so it holds
    /// when the driving process dies before it acts: the next driver cancels the run.
    pub async fn cancel_run(&self, run_id: RunId) -> EngineResult<Run> {
        let run = self.run(run_id).await?;
        if run.state.is_terminal() {
            return Ok(run);
        }
        let run_dir = self.run_dir(run_id);
        std::fs::create_dir_all(&run_dir).map_err(EngineError::io("making the run folder"))?;
        std::fs::write(run_dir.join(CANCEL_FILE), b"")
            .map_err(EngineError::io("recording the cancel request"))?;
        if self.runs.cancel(run_id) || self.runs.is_driven(run_id, &run_dir)? {
            // Its supervisor (here, or in the process holding its lock) records the end.
            return Ok(run);
        }
        // Nobody drives it: stop it directly.
        let mut run = run;
        if let Some(handle) = &run.container_id
            && let Err(e) = self.remove_sandbox(handle).await
        {
            tracing::warn!(error = %e, "could not remove the run's sandbox");
        }
        self.transition(&mut run, Transition::Cancel).await?;
        Ok(run)
    }

    /// Cleans up by policy (see `gc`); with `dry_run` only reports what it would do.
    pub async fn gc(&self, dry_run: bool) -> EngineResult<gc::GcReport> {
        gc::gc(self, dry_run, gc::STUCK_AFTER).await
    }

    /// `gc` with another limit for stuck runs (tests).
    pub async fn gc_with_stuck_limit(
        &self,
        dry_run: bool,
        stuck_after: std::time::Duration,
    ) -> EngineResult<gc::GcReport> {
        gc::gc(self, dry_run, stuck_after).await
    }

    /// Picks up live runs after a restart (see `reconcile`). Call it from front ends that stay
    /// up while runs go on (the app, `corral run`, `corral logs --follow`).
    pub async fn resume_runs(&self) -> EngineResult<()> {
        reconcile::reconcile(self.clone()).await
    }
}

/// The attempt number of a task's next run, after `runs` earlier ones.
fn next_attempt(runs: usize) -> u32 {
    u32::try_from(runs).unwrap_or(u32::MAX).saturating_add(1)
}
