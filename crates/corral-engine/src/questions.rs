//! Agents' questions for a person and the inbox: what waits on the user across projects (the
//! questions, tasks agents proposed, runs whose checks failed). A question is stored before its run waits, so it
//! outlives a crash; it is answered once (from the window, the CLI or a notification) and its
//! answer reaches the agent in its waiting tool call or, when that call was given up or cut,
//! as the agent's next turn.

use std::time::Duration;

use corral_core::{
    Answer, Approval, Ask, InputRequest, RequestId, RequestState, Run, RunId, TaskSummary,
    Transition,
};
use corral_store::{InputRequests, RunQuery, TaskQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;
use crate::views::TaskView;

/// How often a waiting run looks for its answer (which another process may have written).
const ANSWER_POLL: Duration = Duration::from_millis(200);

/// One thing waiting on a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxItem {
    /// An agent's question, with the title of its run's task and its project's name.
    Question {
        request: InputRequest,
        task_title: String,
        project: String,
    },
    /// A task an agent proposed, waiting for approval.
    ProposedTask {
        task: TaskView<TaskSummary>,
        project: String,
    },
    /// A run whose checks failed with its attempts used up: a person decides (follow up, run
    /// again, merge anyway, or set it aside).
    ChecksFailed {
        run: Box<Run>,
        task_title: String,
        project: String,
    },
}

/// Who answered a question (kept with the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsweredFrom {
    App,
    Cli,
    Notification,
    /// A subtask's question, answered by its orchestrator (`answer_subtask`).
    Orchestrator,
}

impl AnsweredFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            AnsweredFrom::App => "app",
            AnsweredFrom::Cli => "cli",
            AnsweredFrom::Notification => "notification",
            AnsweredFrom::Orchestrator => "orchestrator",
        }
    }
}

/// A new pending question of `run`'s agent; `consult`: the run that answers it, when it is for
/// another agent.
pub(crate) fn new_request(
    run: &corral_core::Run,
    id: RequestId,
    ask: Ask,
    consult: Option<RunId>,
) -> InputRequest {
    InputRequest {
        id,
        run_id: run.id,
        task_id: run.task_id,
        project_id: run.project_id,
        ask,
        state: RequestState::Pending,
        answer: None,
        answered_by: None,
        consult,
        routed_to: None,
        created_at: Engine::now(),
        answered_at: None,
        delivered_at: None,
    }
}

/// Who answered `request`, for the run's log.
pub(crate) fn who_answered(request: &InputRequest) -> &'static str {
    match (request.consult, request.answered_by.as_deref()) {
        (Some(_), _) => "the consulted agent",
        (None, Some("orchestrator")) => "its orchestrator",
        (None, _) => "the person",
    }
}

/// Where a person answered, for the run's log: " from the CLI", ...
pub(crate) fn answered_where(by: Option<&str>) -> &'static str {
    match by {
        Some("app") => " in the app",
        Some("cli") => " from the CLI",
        Some("notification") => " from a notification",
        _ => "",
    }
}

/// What the agent is told of an answered question: a person's answers to its questions, or the
/// final text of the agent it consulted.
pub(crate) fn answer_for_agent(request: &InputRequest) -> String {
    let answer = request.answer.as_ref();
    if let Some(permission) = &request.ask.permission {
        use corral_core::permission::{Decision, decision};
        let tool = &permission.tool;
        return match answer.map_or(Decision::Deny(None), decision) {
            Decision::AllowOnce => {
                format!("A person allowed it once: make the same {tool} call again now.")
            }
            Decision::AllowForRun => {
                format!("A person allowed every {tool} call of this run: make the call again now.")
            }
            Decision::Deny(why) => format!(
                "A person denied it{}; do without it.",
                why.map(|w| format!(": {w}")).unwrap_or_default()
            ),
        };
    }
    match request.consult {
        Some(_) => answer
            .and_then(|a| a.answers.first())
            .and_then(|a| a.text.clone())
            .unwrap_or_default(),
        None => answer
            .map(|a| request.ask.answer_text(a))
            .unwrap_or_default(),
    }
}

impl Engine {
    /// Everything waiting on a person, oldest first: questions, then proposed tasks.
    pub async fn inbox(&self) -> EngineResult<Vec<InboxItem>> {
        let db = self.store.db();
        let mut items = Vec::new();
        for request in InputRequests::pending(db).await? {
            let task_title = TaskQuery::by_id(db, request.task_id)
                .await?
                .map_or_else(|| request.task_id.to_string(), |t| t.title);
            let project = self.project(request.project_id).await?.name;
            items.push(InboxItem::Question {
                request,
                task_title,
                project,
            });
        }
        for task in self.list_task_summaries(None).await? {
            if task.task.approval == Approval::Proposed {
                let project = self.project(task.task.project_id).await?.name;
                items.push(InboxItem::ProposedTask { task, project });
            }
        }
        for run in RunQuery::awaiting_decision(db).await? {
            let task_title = TaskQuery::by_id(db, run.task_id)
                .await?
                .map_or_else(|| run.task_id.to_string(), |t| t.title);
            let project = self.project(run.project_id).await?.name;
            items.push(InboxItem::ChecksFailed {
                run: Box::new(run),
                task_title,
                project,
            });
        }
        Ok(items)
    }

    /// Sets aside a run whose checks failed: it leaves the inbox; its branch and log stay.
    #[tracing::instrument(skip(self), fields(run = %run_id))]
    pub async fn dismiss_run(&self, run_id: RunId) -> EngineResult<Run> {
        let run = self.run(run_id).await?;
        if !run.state.is_terminal() {
            return Err(EngineError::NotRunnable {
                reason: format!(
                    "the run is {}; only a finished run can be set aside",
                    run.state.name()
                ),
            });
        }
        let mut run = run;
        if run.dismissed_at.is_none() {
            run.dismissed_at = Some(Engine::now());
            self.save(&run).await?;
            self.note(run_id, "set aside: it no longer waits on a decision")
                .await?;
        }
        Ok(run)
    }

    /// How many things wait on a person (for the tray and the sidebar): two counts, cheap
    /// enough for every run event.
    pub async fn inbox_count(&self) -> EngineResult<usize> {
        let db = self.store.db();
        let waiting = InputRequests::count_pending(db).await?
            + TaskQuery::count_proposed(db).await?
            + RunQuery::count_awaiting_decision(db).await?;
        Ok(usize::try_from(waiting).unwrap_or(usize::MAX))
    }

    /// A question by its id or the start of it (at least 4 characters, unique).
    pub async fn find_request(&self, reference: &str) -> EngineResult<InputRequest> {
        let db = self.store.db();
        let reference = reference.trim();
        let not_found = || EngineError::RequestNotFound {
            reference: reference.to_string(),
        };
        if let Ok(id) = reference.parse::<RequestId>() {
            return InputRequests::by_id(db, id).await?.ok_or_else(not_found);
        }
        if reference.len() < 4 || !reference.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(not_found());
        }
        let mut found = InputRequests::by_id_prefix(db, &reference.to_ascii_lowercase()).await?;
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(not_found()),
            _ => Err(EngineError::AmbiguousRequest {
                reference: reference.to_string(),
                candidates: found.iter().map(|r| r.id.to_string()).collect(),
            }),
        }
    }

    /// The questions a run's agent asked, oldest first.
    pub async fn run_questions(&self, run: RunId) -> EngineResult<Vec<InputRequest>> {
        Ok(InputRequests::for_run(self.store.db(), run).await?)
    }

    /// Answers a pending question. The answer is checked against its questions; a question
    /// answered or cancelled already is refused, saying which.
    #[tracing::instrument(skip(self, answer), fields(request = %id))]
    pub async fn answer_question(
        &self,
        id: RequestId,
        answer: Answer,
        from: AnsweredFrom,
    ) -> EngineResult<InputRequest> {
        let db = self.store.db();
        let request =
            InputRequests::by_id(db, id)
                .await?
                .ok_or_else(|| EngineError::RequestNotFound {
                    reference: id.to_string(),
                })?;
        if request.state != RequestState::Pending {
            return Err(EngineError::RequestClosed {
                state: request.state.as_str(),
            });
        }
        // Another agent answers it, unless its consult run is over (then a person may).
        if let Some(consult) = request.consult
            && corral_store::RunQuery::by_id(db, consult)
                .await?
                .is_some_and(|r| r.state.is_live())
        {
            return Err(EngineError::ForAnAgent {
                consult: consult.to_string(),
            });
        }
        let answer = request
            .ask
            .check_answer(answer)
            .map_err(|e| EngineError::BadAnswer {
                reason: e.to_string(),
            })?;
        let text = request.ask.answer_text(&answer);
        if !InputRequests::answer(db, id, &answer, &text, from.as_str(), Engine::now()).await? {
            // Answered or cancelled between the read and the write.
            let now = InputRequests::by_id(db, id).await?.map(|r| r.state);
            return Err(EngineError::RequestClosed {
                state: now.unwrap_or(RequestState::Cancelled).as_str(),
            });
        }
        let answered = InputRequests::by_id(db, id)
            .await?
            .ok_or_else(|| EngineError::Internal(format!("question {id} vanished")))?;
        tracing::info!(run = %answered.run_id, by = from.as_str(), "question answered");
        self.publish(EngineEvent::InboxChanged {
            request: answered.clone(),
        });
        Ok(answered)
    }

    /// Stores an agent's question for a person and puts its run in `waiting_input`.
    pub(crate) async fn ask(&self, run: RunId, ask: Ask) -> EngineResult<InputRequest> {
        let current = self.run(run).await?;
        let routed_to = self.route_up(run, &ask).await?;
        let mut request = new_request(&current, RequestId::new(), ask, None);
        request.routed_to = routed_to;
        self.store_question(&request).await?;
        if let Some(orchestrator) = routed_to {
            self.settle_route(orchestrator).await?;
        }
        self.note(
            run,
            match routed_to {
                Some(orchestrator) => format!(
                    "the agent asks its orchestrator (run {orchestrator}) first: {} (request {})",
                    request.ask.headline(),
                    request.id
                ),
                None => format!(
                    "the agent asks: {} (answer with `corral answer {}`)",
                    request.ask.headline(),
                    request.id
                ),
            },
        )
        .await?;
        self.publish(EngineEvent::InboxChanged {
            request: request.clone(),
        });
        Ok(request)
    }

    /// Stores a question and puts its run in `waiting_input`: refused while another question
    /// of the run waits (checked, stored and moved under the run's state lock, so two calls at
    /// once cannot both ask).
    pub(crate) async fn store_question(&self, request: &InputRequest) -> EngineResult<()> {
        let run = request.run_id;
        let lock = self.runs.state_lock(run);
        let _one_at_a_time = lock.lock().await;
        if let Some(waiting) = self.pending_question(run).await? {
            return Err(EngineError::QuestionWaiting {
                request: waiting.id.to_string(),
            });
        }
        InputRequests::insert(self.store.db(), request).await?;
        if let Err(err) = self
            .transition_state_locked(run, Transition::AskInput)
            .await
        {
            // The run cannot wait now (it is verifying, or ending): this question goes.
            InputRequests::cancel(self.store.db(), request.id).await?;
            return Err(err);
        }
        Ok(())
    }

    /// Waits up to `limit` for `request`'s answer; `None` when it did not come in time. An
    /// answer taken here is marked delivered and its run goes back to running.
    pub(crate) async fn wait_for_answer(
        &self,
        request: RequestId,
        limit: Duration,
    ) -> EngineResult<Option<InputRequest>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let now = InputRequests::by_id(self.store.db(), request)
                .await?
                .ok_or_else(|| EngineError::RequestNotFound {
                    reference: request.to_string(),
                })?;
            match now.state {
                RequestState::Answered => {
                    let lock = self.runs.state_lock(now.run_id);
                    let _one_at_a_time = lock.lock().await;
                    if self.runs.awaiting_turn(now.run_id) || now.delivered_at.is_some() {
                        // The agent's turn ended meanwhile: the supervisor gives the answer.
                        return Ok(None);
                    }
                    // The state first: cut between the two, the answer is still undelivered
                    // and comes as the agent's next turn.
                    self.transition_state_locked(now.run_id, Transition::Answer)
                        .await?;
                    InputRequests::mark_delivered(self.store.db(), request, Engine::now()).await?;
                    let who = who_answered(&now);
                    let from = answered_where(now.answered_by.as_deref());
                    self.note(
                        now.run_id,
                        format!("{who} answered{from}; the agent goes on"),
                    )
                    .await?;
                    return Ok(Some(now));
                }
                RequestState::Cancelled => return Ok(Some(now)),
                RequestState::Pending => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(ANSWER_POLL).await;
        }
    }

    /// The run's latest question, if it asked any.
    pub(crate) async fn latest_question(&self, run: RunId) -> EngineResult<Option<InputRequest>> {
        Ok(InputRequests::for_run(self.store.db(), run).await?.pop())
    }

    /// The run's question still waiting for a person, if any.
    pub(crate) async fn pending_question(&self, run: RunId) -> EngineResult<Option<InputRequest>> {
        Ok(InputRequests::for_run(self.store.db(), run)
            .await?
            .into_iter()
            .find(|r| r.state == RequestState::Pending))
    }

    /// A run ended: its questions nobody answered are cancelled (and leave the inbox).
    pub(crate) async fn cancel_questions(&self, run: RunId) -> EngineResult<()> {
        let pending = self.pending_question(run).await?;
        if InputRequests::cancel_for_run(self.store.db(), run).await? > 0
            && let Some(request) = pending
        {
            let request = InputRequest {
                state: RequestState::Cancelled,
                ..request
            };
            self.publish(EngineEvent::InboxChanged { request });
        }
        Ok(())
    }

    /// Marks an answer as given to the agent (as its next turn).
    pub(crate) async fn answer_delivered(&self, request: RequestId) -> EngineResult<()> {
        InputRequests::mark_delivered(self.store.db(), request, Engine::now()).await?;
        Ok(())
    }
}
