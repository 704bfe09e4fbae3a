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

    /// Applies a transition: persisted, logged as an event, announced on the bus.
    pub(crate) async fn transition(
        &self,
        run: &mut Run,
        transition: Transition,
    ) -> EngineResult<()> {
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
        tracing::info!(run = %run.id, task = %run.task_id, from = from.name(), to = to.name(), "run state");
        self.publish(EngineEvent::RunUpdated { run: run.clone() });
        Ok(())
    }

    /// Stores the run's other fields (container, checkout, result) and announces it.
    pub(crate) async fn save(&self, run: &Run) -> EngineResult<()> {
        RunMutation::update(self.store.db(), run).await?;
        self.publish(EngineEvent::RunUpdated { run: run.clone() });
        Ok(())
    }
}
