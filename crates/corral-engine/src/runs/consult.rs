//! Consult runs (`ask_agent`): a run's agent asks another agent. Corral starts a consult run, a
//! child of the asking run: the consulted agent, in a sandbox of its own, sees the asking run's
//! checkout read-only (in a container; the local sandbox cannot enforce it) and is told the
//! task and the question. The asking run waits in `waiting_input` as for a person; the consult
//! run's final text answers its question. A consult run has no checkout, branch, result or
//! checks of its own, is not one of its task's runs (it is listed under the asking run) and
//! takes a run slot beyond the project's limit (its asker holds one and waits on it).

use corral_core::check::Reviewer;
use corral_core::consult::agent_answer;
use corral_core::{
    Ask, Consult, ConsultPurpose, InputRequest, RequestId, Run, RunId, RunState, Runtime,
};
use corral_store::{InputRequests, RunQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;
use crate::questions::new_request;

/// The most agents one run may consult (a runaway agent cannot start consult runs forever).
pub const CONSULTS_PER_RUN: usize = 10;

/// What an agent asks another: its checked question and, when it named one, the agent.
#[derive(Debug, Clone)]
pub(crate) struct ConsultAsk {
    pub ask: Ask,
    pub runtime: Option<Runtime>,
    pub model: Option<String>,
}

impl Engine {
    /// Starts a consult run answering `asking`'s question; the asking run waits for it.
    #[tracing::instrument(skip(self, asked), fields(run = %asking, task = tracing::field::Empty, project = tracing::field::Empty))]
    pub(crate) async fn consult(
        &self,
        asking: RunId,
        asked: ConsultAsk,
    ) -> EngineResult<(InputRequest, Run)> {
        let refuse = |reason: String| Err(EngineError::NoConsult { reason });
        let source = self.run(asking).await?;
        if source.consult.is_some() {
            return refuse(
                "a consulted agent cannot consult another; answer what you were asked".into(),
            );
        }
        if source.checkout_path.is_none() {
            return refuse(format!("run {asking} has no checkout to show"));
        }
        let db = self.store.db();
        let earlier = RunQuery::consults_of(db, asking).await?.len();
        if earlier >= CONSULTS_PER_RUN {
            return refuse(format!(
                "this run has consulted {earlier} agents, the most one run may; go on with what \
                 you know"
            ));
        }
        let span = tracing::Span::current();
        span.record("task", tracing::field::display(source.task_id));
        span.record("project", tracing::field::display(source.project_id));
        let task = self.task_record(source.task_id).await?;
        let project = self.project(source.project_id).await?;
        let consult = Consult {
            of: asking,
            request: RequestId::new(),
            runtime: asked.runtime,
            model: asked.model,
            prompt: Consult::prompt_for(&task, asked.ask.headline(), asked.ask.context.as_deref()),
            purpose: ConsultPurpose::Answer,
        };
        let consult_task = consult.task(&task);
        let run = Run {
            base_commit: source.base_commit.clone(),
            consult: Some(consult.clone()),
            ..Run::queued(task.id, project.id, source.attempt, Engine::now())
        };
        // Refused before anything is recorded when the consulted agent cannot run (its key
        // missing, say).
        let plan = self.plan(&run, &consult_task, &project, true).await?;
        let runtime = consult_task.runtime.unwrap_or(project.workflow.runtime);
        if let Some(reason) = refusal(&plan, runtime, &task, &project) {
            return refuse(reason);
        }
        let request = new_request(&source, consult.request, asked.ask, Some(run.id));
        self.store_question(&request).await?;
        match self
            .start_consult(&request, run, consult_task, project, plan, runtime)
            .await
        {
            Ok(run) => Ok((request, run)),
            Err(err) => {
                // Nobody will answer: the asking run goes on without.
                InputRequests::cancel(db, request.id).await?;
                let mut source = self.run(asking).await?;
                if source.state == RunState::WaitingInput {
                    self.transition(&mut source, corral_core::Transition::Answer)
                        .await?;
                }
                Err(err)
            }
        }
    }

    /// Starts `reviewed`'s agent reviewer: a consult run that sees its checkout read-only and
    /// is given the task and the run's diff; its verdict comes through `submit_review`.
    #[tracing::instrument(skip(self, reviewer), fields(run = %reviewed))]
    pub(crate) async fn start_review(
        &self,
        reviewed: RunId,
        reviewer: &Reviewer,
    ) -> EngineResult<Run> {
        let source = self.run(reviewed).await?;
        if source.checkout_path.is_none() {
            return Err(EngineError::NoConsult {
                reason: format!("run {reviewed} has no checkout to review"),
            });
        }
        let task = self.task_record(source.task_id).await?;
        let project = self.project(source.project_id).await?;
        let mut diff = String::new();
        for file in self
            .run_diff(reviewed, corral_core::review::DIFF_CHARS)
            .await?
        {
            match &file.patch {
                Some(patch) => diff.push_str(patch),
                None => diff.push_str(&format!("{}: binary, not shown\n", file.path)),
            }
            if diff.len() > corral_core::review::DIFF_CHARS {
                break;
            }
        }
        let consult = Consult {
            of: reviewed,
            request: RequestId::new(),
            runtime: reviewer.runtime,
            model: reviewer.model.clone(),
            prompt: corral_core::review::reviewer_prompt(&task, &diff),
            purpose: ConsultPurpose::Review,
        };
        let review_task = consult.task(&task);
        let run = Run {
            base_commit: source.base_commit.clone(),
            consult: Some(consult),
            ..Run::queued(task.id, project.id, source.attempt, Engine::now())
        };
        // Refused before anything is recorded when the reviewer cannot run (its key missing).
        let plan = self.plan(&run, &review_task, &project, true).await?;
        let runtime = review_task.runtime.unwrap_or(project.workflow.runtime);
        if let Some(reason) = refusal(&plan, runtime, &task, &project) {
            return Err(EngineError::NoConsult { reason });
        }
        self.note(
            reviewed,
            format!(
                "the agent reviewer ({runtime}) reviews the result in run {}",
                run.id
            ),
        )
        .await?;
        let note = format!(
            "agent reviewer of `{}`: {runtime} reviews run {reviewed}'s result, on a read-only \
             view of its checkout",
            review_task.title
        );
        self.queue(run, review_task, project, plan, note).await
    }

    /// Records and starts the consult run of `request`'s question.
    async fn start_consult(
        &self,
        request: &InputRequest,
        run: Run,
        consult_task: corral_core::Task,
        project: corral_core::Project,
        plan: super::plan::RunPlan,
        runtime: Runtime,
    ) -> EngineResult<Run> {
        let asking = request.run_id;
        self.note(
            asking,
            format!(
                "the agent consults {runtime} in run {} (request {}): {}",
                run.id,
                request.id,
                request.ask.headline()
            ),
        )
        .await?;
        let note = format!(
            "consult run of `{}`: {runtime} answers a question of run {asking}, on a read-only \
             view of its checkout",
            consult_task.title
        );
        self.queue(run, consult_task, project, plan, note).await
    }

    /// Answers the asking run's question with what its consult run said.
    async fn answer_for_consult(
        &self,
        request: RequestId,
        asking: RunId,
        consult: &Run,
        text: &str,
    ) -> EngineResult<()> {
        let answer = agent_answer(text);
        let shown = answer
            .answers
            .first()
            .and_then(|a| a.text.clone())
            .unwrap_or_default();
        let db = self.store.db();
        if InputRequests::answer(db, request, &answer, &shown, "agent", Engine::now()).await? {
            self.note(
                asking,
                format!(
                    "consult run {} answered ({})",
                    consult.id,
                    consult.state.name()
                ),
            )
            .await?;
            if let Some(request) = InputRequests::by_id(db, request).await? {
                self.publish(EngineEvent::InboxChanged { request });
            }
        }
        Ok(())
    }

    /// Questions still waiting on a consult run that has ended (its end was not recorded in
    /// full: Corral was killed in between) get their "no answer", so their askers go on.
    pub(crate) async fn settle_orphaned_consults(&self) -> EngineResult<()> {
        let db = self.store.db();
        for request in InputRequests::pending_for_agents(db).await? {
            let Some(consult) = request.consult else {
                continue;
            };
            let Some(run) = RunQuery::by_id(db, consult).await? else {
                InputRequests::cancel(db, request.id).await?;
                continue;
            };
            if run.state.is_terminal() {
                let text = match &run.state {
                    RunState::Succeeded => self.final_text(run.id).await?.unwrap_or_default(),
                    other => format!(
                        "(no answer: the consulted agent's run {} ended {other})",
                        run.id
                    ),
                };
                self.answer_for_consult(request.id, request.run_id, &run, &text)
                    .await?;
            }
        }
        Ok(())
    }

    /// The runs that answered (or answer) `run`'s questions to other agents, oldest first.
    pub async fn consults_of(&self, run: RunId) -> EngineResult<Vec<Run>> {
        Ok(RunQuery::consults_of(self.store.db(), run).await?)
    }

    /// A run ended. A consult run's final text (or why it has none) answers its asker's
    /// question; a run's consult runs still going are cancelled.
    pub(crate) async fn after_run_ended(&self, run: &Run) -> EngineResult<()> {
        crate::mcp::permission_tools::forget_run(run.id);
        // An orchestrator's subtasks' questions still waiting on it go on to a person.
        self.pass_on_all(run.id, "(it ended without answering)")
            .await?;
        if let Some(consult) = run
            .consult
            .as_ref()
            .filter(|c| c.purpose == ConsultPurpose::Answer)
        {
            let text = match &run.state {
                RunState::Succeeded => self.final_text(run.id).await?.unwrap_or_default(),
                other => format!(
                    "(no answer: the consulted agent's run {} ended {other})",
                    run.id
                ),
            };
            self.answer_for_consult(consult.request, consult.of, run, &text)
                .await?;
        }
        for child in RunQuery::consults_of(self.store.db(), run.id).await? {
            if child.state.is_live() {
                Box::pin(self.cancel_run(child.id)).await?;
            }
        }
        Ok(())
    }
}

/// Why a consult run may not start although it could run: the consulted agent would hold its
/// API key inside a sandbox the asking agent prompts (a key Corral's gateway does not keep out,
/// of another runtime than the task's own), or it has no read-only mode and nothing else keeps
/// it from writing the asking run's checkout (the local sandbox).
fn refusal(
    plan: &super::plan::RunPlan,
    runtime: Runtime,
    task: &corral_core::Task,
    project: &corral_core::Project,
) -> Option<String> {
    let own = task.runtime.unwrap_or(project.workflow.runtime);
    if let super::plan::Work::Agent(call) = &plan.work
        && call.key_inside
        && runtime != own
    {
        return Some(format!(
            "{runtime}'s API key would be inside its sandbox (Corral's gateway does not keep it \
             out here); consult {own}, this task's own agent, instead"
        ));
    }
    let no_read_only = matches!(
        runtime,
        Runtime::Opencode | Runtime::Aider | Runtime::Cursor
    );
    if no_read_only && plan.sandbox == corral_core::SandboxKind::Local {
        return Some(format!(
            "{runtime} has no read-only mode, and in the local sandbox nothing keeps it from \
             changing your checkout; consult claude-code, codex or gemini"
        ));
    }
    None
}
