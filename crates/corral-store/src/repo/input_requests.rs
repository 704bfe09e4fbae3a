//! The `input_requests` table: agents' questions and their answers. A question is answered or
//! cancelled at most once: each change is a conditional update on `state = 'pending'`, so two
//! processes (the app and `corral answer`) cannot both answer it.

use corral_core::{
    Answer, Ask, InputRequest, ProjectId, RequestId, RequestState, RunId, TaskId, Timestamp,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::convert::{from_json, id, opt_id, to_json};
use crate::entity::input_requests;
use crate::error::{StoreError, StoreResult};

#[derive(Debug)]
pub struct InputRequests;

fn from_row(row: input_requests::Model) -> StoreResult<InputRequest> {
    let ask: Ask = match row.ask_json.as_deref() {
        Some(json) => from_json("question", json)?,
        None => Ask {
            questions: vec![corral_core::question::Question {
                question: row.question.clone(),
                options: Vec::new(),
                multiple: false,
            }],
            context: None,
            permission: None,
        },
    };
    Ok(InputRequest {
        id: id::<RequestId>("request id", &row.id)?,
        run_id: id::<RunId>("request run id", &row.run_id)?,
        task_id: opt_id::<TaskId>("request task id", row.task_id.as_deref())?
            .ok_or_else(|| StoreError::corrupt("request task id", "missing"))?,
        project_id: opt_id::<ProjectId>("request project id", row.project_id.as_deref())?
            .ok_or_else(|| StoreError::corrupt("request project id", "missing"))?,
        ask,
        state: RequestState::parse(&row.state)
            .ok_or_else(|| StoreError::corrupt("request state", &row.state))?,
        answer: row
            .answer_json
            .as_deref()
            .map(|json| from_json("answer", json))
            .transpose()?,
        answered_by: row.answered_by,
        consult: opt_id::<RunId>("request consult run id", row.consult_run_id.as_deref())?,
        routed_to: opt_id::<RunId>("request routed run id", row.routed_to_run_id.as_deref())?,
        created_at: Timestamp(row.created_at),
        answered_at: row.answered_at.map(Timestamp),
        delivered_at: row.delivered_at.map(Timestamp),
    })
}

impl InputRequests {
    pub async fn insert(db: &impl ConnectionTrait, request: &InputRequest) -> StoreResult<()> {
        let row = input_requests::Model {
            id: request.id.to_string(),
            run_id: request.run_id.to_string(),
            question: request.ask.headline().to_string(),
            choices_json: None,
            answer: None,
            answered_by: None,
            created_at: request.created_at.0,
            answered_at: None,
            state: RequestState::Pending.as_str().to_string(),
            ask_json: Some(to_json("question", &request.ask)?),
            answer_json: None,
            delivered_at: None,
            task_id: Some(request.task_id.to_string()),
            project_id: Some(request.project_id.to_string()),
            consult_run_id: request.consult.map(|r| r.to_string()),
            routed_to_run_id: request.routed_to.map(|r| r.to_string()),
        };
        input_requests::Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(db)
            .await?;
        Ok(())
    }

    pub async fn by_id(
        db: &impl ConnectionTrait,
        id: RequestId,
    ) -> StoreResult<Option<InputRequest>> {
        input_requests::Entity::find_by_id(id.to_string())
            .one(db)
            .await?
            .map(from_row)
            .transpose()
    }

    /// Questions whose id starts with `prefix` (what a person typed), at most a few.
    pub async fn by_id_prefix(
        db: &impl ConnectionTrait,
        prefix: &str,
    ) -> StoreResult<Vec<InputRequest>> {
        input_requests::Entity::find()
            .filter(input_requests::Column::Id.starts_with(prefix))
            .order_by_asc(input_requests::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .take(10)
            .map(from_row)
            .collect()
    }

    /// How many questions wait for a person.
    pub async fn count_pending(db: &impl ConnectionTrait) -> StoreResult<u64> {
        Ok(input_requests::Entity::find()
            .filter(input_requests::Column::State.eq(RequestState::Pending.as_str()))
            .filter(input_requests::Column::ConsultRunId.is_null())
            .filter(input_requests::Column::RoutedToRunId.is_null())
            .count(db)
            .await?)
    }

    /// Questions waiting for a person, oldest first.
    pub async fn pending(db: &impl ConnectionTrait) -> StoreResult<Vec<InputRequest>> {
        Self::pending_where(
            db,
            Condition::all()
                .add(input_requests::Column::ConsultRunId.is_null())
                .add(input_requests::Column::RoutedToRunId.is_null()),
        )
        .await
    }

    /// Pending questions that also meet `condition`, oldest first.
    async fn pending_where(
        db: &impl ConnectionTrait,
        condition: Condition,
    ) -> StoreResult<Vec<InputRequest>> {
        input_requests::Entity::find()
            .filter(input_requests::Column::State.eq(RequestState::Pending.as_str()))
            .filter(condition)
            .order_by_asc(input_requests::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// Subtasks' questions waiting on the orchestrator run `run`, oldest first.
    pub async fn pending_routed_to(
        db: &impl ConnectionTrait,
        run: RunId,
    ) -> StoreResult<Vec<InputRequest>> {
        Self::pending_where(
            db,
            Condition::all().add(input_requests::Column::RoutedToRunId.eq(run.to_string())),
        )
        .await
    }

    /// Every pending question routed to an orchestrator, oldest first.
    pub async fn pending_routed(db: &impl ConnectionTrait) -> StoreResult<Vec<InputRequest>> {
        Self::pending_where(
            db,
            Condition::all().add(input_requests::Column::RoutedToRunId.is_not_null()),
        )
        .await
    }

    /// Passes a routed question on to a person's inbox, with `ask` (its context now carrying
    /// the orchestrator's note). False when it was no longer pending and routed.
    pub async fn pass_on(
        db: &impl ConnectionTrait,
        id: RequestId,
        ask: &corral_core::Ask,
    ) -> StoreResult<bool> {
        let res = input_requests::Entity::update_many()
            .col_expr(
                input_requests::Column::RoutedToRunId,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                input_requests::Column::AskJson,
                Expr::value(to_json("question", ask)?),
            )
            .filter(input_requests::Column::Id.eq(id.to_string()))
            .filter(input_requests::Column::State.eq(RequestState::Pending.as_str()))
            .filter(input_requests::Column::RoutedToRunId.is_not_null())
            .exec(db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Questions waiting for another agent (a consult run), oldest first.
    pub async fn pending_for_agents(db: &impl ConnectionTrait) -> StoreResult<Vec<InputRequest>> {
        Self::pending_where(
            db,
            Condition::all().add(input_requests::Column::ConsultRunId.is_not_null()),
        )
        .await
    }

    /// Of `runs`, those waiting on another agent's answer (a pending `ask_agent`, or a
    /// subtask's question routed to its orchestrator).
    pub async fn waiting_on_agents(
        db: &impl ConnectionTrait,
        runs: &[RunId],
    ) -> StoreResult<std::collections::HashSet<RunId>> {
        let rows: Vec<String> = input_requests::Entity::find()
            .select_only()
            .column(input_requests::Column::RunId)
            .filter(input_requests::Column::State.eq(RequestState::Pending.as_str()))
            .filter(
                Condition::any()
                    .add(input_requests::Column::ConsultRunId.is_not_null())
                    .add(input_requests::Column::RoutedToRunId.is_not_null()),
            )
            .filter(input_requests::Column::RunId.is_in(runs.iter().map(ToString::to_string)))
            .into_tuple()
            .all(db)
            .await?;
        rows.iter()
            .map(|r| id::<RunId>("request run id", r))
            .collect()
    }

    /// A run's questions, oldest first.
    pub async fn for_run(db: &impl ConnectionTrait, run: RunId) -> StoreResult<Vec<InputRequest>> {
        input_requests::Entity::find()
            .filter(input_requests::Column::RunId.eq(run.to_string()))
            .order_by_asc(input_requests::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// Records the answer if the question is still pending; `false` when it was not.
    pub async fn answer(
        db: &impl ConnectionTrait,
        id: RequestId,
        answer: &Answer,
        answer_text: &str,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let res = input_requests::Entity::update_many()
            .col_expr(
                input_requests::Column::State,
                Expr::value(RequestState::Answered.as_str()),
            )
            .col_expr(
                input_requests::Column::AnswerJson,
                Expr::value(to_json("answer", answer)?),
            )
            .col_expr(input_requests::Column::Answer, Expr::value(answer_text))
            .col_expr(input_requests::Column::AnsweredBy, Expr::value(by))
            .col_expr(input_requests::Column::AnsweredAt, Expr::value(at.0))
            .filter(input_requests::Column::Id.eq(id.to_string()))
            .filter(input_requests::Column::State.eq(RequestState::Pending.as_str()))
            .exec(db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Cancels one question if it is pending.
    pub async fn cancel(db: &impl ConnectionTrait, id: RequestId) -> StoreResult<bool> {
        let which = input_requests::Column::Id.eq(id.to_string());
        Ok(cancel_pending(db, which).await? == 1)
    }

    /// Cancels a run's pending questions (its run ended); returns how many.
    pub async fn cancel_for_run(db: &impl ConnectionTrait, run: RunId) -> StoreResult<u64> {
        cancel_pending(db, input_requests::Column::RunId.eq(run.to_string())).await
    }

    /// Records that the answer reached the agent; `false` when it had already.
    pub async fn mark_delivered(
        db: &impl ConnectionTrait,
        id: RequestId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let res = input_requests::Entity::update_many()
            .col_expr(input_requests::Column::DeliveredAt, Expr::value(at.0))
            .filter(input_requests::Column::Id.eq(id.to_string()))
            .filter(input_requests::Column::DeliveredAt.is_null())
            .exec(db)
            .await?;
        Ok(res.rows_affected == 1)
    }
}

/// Cancels the pending questions `which` selects; returns how many.
async fn cancel_pending(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
) -> StoreResult<u64> {
    let res = input_requests::Entity::update_many()
        .col_expr(
            input_requests::Column::State,
            Expr::value(RequestState::Cancelled.as_str()),
        )
        .filter(which)
        .filter(input_requests::Column::State.eq(RequestState::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
