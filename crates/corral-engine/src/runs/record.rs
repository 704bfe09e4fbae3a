//! The only writer of a run's record: its state (through core's transition function), its
//! notes and events, and its row. Each change is logged, stored and announced on the bus.

use corral_core::{Run, RunEventBody, RunId, RunState, Transition};
use corral_store::{NewRunEvent, RunMutation};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;

impl Engine {
    pub(crate) async fn note(&self, run: RunId, text: impl Into<String>) -> EngineResult<()> {
        self.append(run, RunEventBody::Note { text: text.into() })
            .await
    }

    pub(crate) async fn append(&self, run: RunId, body: RunEventBody) -> EngineResult<()> {
        self.events
            .append(NewRunEvent {
                run_id: run,
                at: Engine::now(),
                body,
            })
            .await?;
        Ok(())
    }

    /// Applies a transition: persisted, logged as an event, announced on the bus. It applies to
    /// the stored state (a question may have changed it beside the supervisor), under the run's
    /// state lock, so no change of this process is ever written over.
    pub(crate) async fn transition(
        &self,
        run: &mut Run,
        transition: Transition,
    ) -> EngineResult<()> {
        let lock = self.runs.state_lock(run.id);
        let _one_at_a_time = lock.lock().await;
        self.refresh_state(run).await?;
        let from = run.state.clone();
        let to = from.apply(&transition).map_err(EngineError::from)?;
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
            RunEventBody::StateChanged {
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
        if to.is_terminal() {
            // Questions nobody answered leave the inbox with their run, however it ended.
            self.cancel_questions(run.id).await?;
        }
        tracing::info!(run = %run.id, task = %run.task_id, from = from.name(), to = to.name(), "run state");
        self.publish(EngineEvent::RunUpdated { run: run.clone() });
        drop(_one_at_a_time);
        // The state is stored: what follows from it must not make the end look failed.
        if to.is_terminal()
            && let Err(err) = self.after_run_ended(run).await
        {
            tracing::error!(run = %run.id, task = %run.task_id, project = %run.project_id, error = %err, "after the run ended");
        }
        // A subtask's end may make others of its orchestrator ready.
        if to.is_terminal()
            && let Err(err) = Box::pin(self.after_subtask_ended(run)).await
        {
            tracing::error!(run = %run.id, task = %run.task_id, project = %run.project_id, error = %err, "starting the subtasks that became ready");
        }
        Ok(())
    }

    /// Stores the run's other fields (container, checkout, result) and announces it. Its
    /// state is left as stored: an agent's question may have changed it meanwhile.
    pub(crate) async fn save(&self, run: &Run) -> EngineResult<()> {
        RunMutation::update_fields(self.store.db(), run).await?;
        let stored = self.run(run.id).await?;
        self.publish(EngineEvent::RunUpdated { run: stored });
        Ok(())
    }

    /// A transition made beside the run's supervisor (an agent's question through the MCP
    /// server, its answer), by a caller holding the run's state lock: applied to the stored
    /// state, which alone is written. The supervisor reads the state again where it matters.
    pub(crate) async fn transition_state_locked(
        &self,
        run: RunId,
        transition: Transition,
    ) -> EngineResult<Run> {
        let mut current = self.run(run).await?;
        let from = current.state.clone();
        let to = from.apply(&transition).map_err(EngineError::from)?;
        current.state = to.clone();
        self.append(
            run,
            RunEventBody::StateChanged {
                from: from.status(),
                to: to.status(),
                reason: None,
                fail_kind: None,
            },
        )
        .await?;
        RunMutation::update_state(self.store.db(), &current).await?;
        tracing::info!(run = %run, from = from.name(), to = to.name(), "run state");
        self.publish(EngineEvent::RunUpdated {
            run: current.clone(),
        });
        Ok(current)
    }

    /// Takes the stored state (changed beside the supervisor, by a question) into `run`.
    pub(crate) async fn refresh_state(&self, run: &mut Run) -> EngineResult<()> {
        run.state = self.run(run.id).await?.state;
        Ok(())
    }
}
