//! Questions up the tree: a subtask's `ask_human` goes first to its orchestrator (while the
//! orchestrator's run is live), which is woken with it and answers it (`answer_subtask`) or
//! passes it on to a person's inbox with a note of its own. A question the orchestrator leaves
//! unanswered, or one still routed when its run ends, goes on to the person by itself. A
//! permission request (`agent-permissions=ask`) is always a person's.

use corral_core::{Answer, Ask, InputRequest, RequestId, RequestState, RunId};
use corral_store::InputRequests;

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;
use crate::questions::AnsweredFrom;

/// The longest note an orchestrator adds when it passes a question on.
const NOTE_CHARS: usize = 2_000;

impl Engine {
    /// Where a new question of `run` goes first: the live run of its task's orchestrator, if
    /// it has one (a permission request goes to a person).
    pub(crate) async fn route_up(&self, run: RunId, ask: &Ask) -> EngineResult<Option<RunId>> {
        if ask.permission.is_some() {
            return Ok(None);
        }
        let run = self.run(run).await?;
        if run.consult.is_some() {
            return Ok(None);
        }
        let Some(parent) = self.task_record(run.task_id).await?.parent else {
            return Ok(None);
        };
        Ok(self
            .list_runs(Some(parent))
            .await?
            .into_iter()
            .next() // newest first
            .filter(|r| r.state.is_live())
            .map(|r| r.id))
    }

    /// Subtasks' questions waiting on the orchestrator run `run`, oldest first.
    pub(crate) async fn routed_questions(&self, run: RunId) -> EngineResult<Vec<InputRequest>> {
        Ok(InputRequests::pending_routed_to(self.store.db(), run).await?)
    }

    /// A question routed to `orchestrator`, refused for any other.
    async fn routed_request(
        &self,
        orchestrator: RunId,
        id: RequestId,
    ) -> EngineResult<InputRequest> {
        let request = InputRequests::by_id(self.store.db(), id)
            .await?
            .ok_or_else(|| EngineError::RequestNotFound {
                reference: id.to_string(),
            })?;
        if request.routed_to != Some(orchestrator) {
            return Err(EngineError::NotRunnable {
                reason: format!(
                    "question {id} is not one of your subtasks' questions waiting on you"
                ),
            });
        }
        if request.state != RequestState::Pending {
            return Err(EngineError::RequestClosed {
                state: request.state.as_str(),
            });
        }
        Ok(request)
    }

    /// The orchestrator `orchestrator` answers its subtask's question.
    pub(crate) async fn answer_for_subtask(
        &self,
        orchestrator: RunId,
        id: RequestId,
        answer: Answer,
    ) -> EngineResult<InputRequest> {
        self.routed_request(orchestrator, id).await?;
        let answered = self
            .answer_question(id, answer, AnsweredFrom::Orchestrator)
            .await?;
        self.note(
            orchestrator,
            format!("answered the question of run {}", answered.run_id),
        )
        .await?;
        Ok(answered)
    }

    /// Passes a question routed to `orchestrator` on to a person's inbox, with `note` (the
    /// orchestrator's, or why it went on by itself) added to its context.
    pub(crate) async fn pass_on_question(
        &self,
        orchestrator: RunId,
        id: RequestId,
        note: &str,
    ) -> EngineResult<InputRequest> {
        let request = self.routed_request(orchestrator, id).await?;
        let note: String = note.trim().chars().take(NOTE_CHARS).collect();
        let mut ask = request.ask.clone();
        let added = format!("Its orchestrator's note: {note}");
        ask.context = Some(match ask.context.take() {
            Some(context) if !context.trim().is_empty() => format!("{context}\n\n{added}"),
            _ => added,
        });
        if !InputRequests::pass_on(self.store.db(), id, &ask).await? {
            return Err(EngineError::RequestClosed { state: "answered" });
        }
        let passed = InputRequests::by_id(self.store.db(), id)
            .await?
            .ok_or_else(|| EngineError::Internal(format!("question {id} vanished")))?;
        self.note(
            request.run_id,
            format!(
                "its orchestrator passed the question on to a person (answer with `corral \
                 answer {id}`)"
            ),
        )
        .await?;
        self.publish(EngineEvent::InboxChanged {
            request: passed.clone(),
        });
        Ok(passed)
    }

    /// Questions routed to an orchestrator whose run is over (its end was not recorded in full:
    /// Corral was killed in between) go on to a person.
    pub(crate) async fn settle_orphaned_routes(&self) -> EngineResult<()> {
        for request in InputRequests::pending_routed(self.store.db()).await? {
            let Some(orchestrator) = request.routed_to else {
                continue;
            };
            let live = self
                .run(orchestrator)
                .await
                .is_ok_and(|r| r.state.is_live());
            if !live {
                self.pass_on_all(orchestrator, "(its run ended without answering)")
                    .await?;
            }
        }
        Ok(())
    }

    /// A question just routed to `orchestrator`: if its run ended meanwhile (after it passed
    /// on what was routed to it), it goes on to a person now.
    pub(crate) async fn settle_route(&self, orchestrator: RunId) -> EngineResult<()> {
        if !self.run(orchestrator).await?.state.is_live() {
            self.pass_on_all(orchestrator, "(its run ended without answering)")
                .await?;
        }
        Ok(())
    }

    /// Every question still routed to `orchestrator` goes on to a person (its run ended, or
    /// it let a question be).
    pub(crate) async fn pass_on_all(&self, orchestrator: RunId, why: &str) -> EngineResult<()> {
        for request in self.routed_questions(orchestrator).await? {
            match self.pass_on_question(orchestrator, request.id, why).await {
                Ok(_) | Err(EngineError::RequestClosed { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }
}
