//! The `runs` table.

use std::collections::HashMap;

use corral_core::{ProjectId, Run, RunId, RunState, TaskId, Timestamp};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::convert::{id, run_from_row, run_state, run_to_row};
use crate::entity::runs;
use crate::error::StoreResult;

#[derive(Debug)]
pub struct RunQuery;

impl RunQuery {
    pub async fn by_id(db: &impl ConnectionTrait, id: RunId) -> StoreResult<Option<Run>> {
        runs::Entity::find_by_id(id.to_string())
            .one(db)
            .await?
            .map(run_from_row)
            .transpose()
    }

    /// Runs of one task (its own: consult runs are listed under the run they answer), or all
    /// runs; newest first.
    pub async fn list(db: &impl ConnectionTrait, task: Option<TaskId>) -> StoreResult<Vec<Run>> {
        let mut query = runs::Entity::find().order_by_desc(runs::Column::Id);
        if let Some(task) = task {
            query = query
                .filter(runs::Column::TaskId.eq(task.to_string()))
                .filter(runs::Column::ConsultOf.is_null());
        }
        query.all(db).await?.into_iter().map(run_from_row).collect()
    }

    /// The runs that answered (or answer) `run`'s agent, oldest first.
    pub async fn consults_of(db: &impl ConnectionTrait, run: RunId) -> StoreResult<Vec<Run>> {
        runs::Entity::find()
            .filter(runs::Column::ConsultOf.eq(run.to_string()))
            .order_by_asc(runs::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(run_from_row)
            .collect()
    }

    /// The runs of one project's tasks (not consult runs), newest first.
    pub async fn for_project(
        db: &impl ConnectionTrait,
        project: ProjectId,
    ) -> StoreResult<Vec<Run>> {
        runs::Entity::find()
            .filter(runs::Column::ProjectId.eq(project.to_string()))
            .filter(runs::Column::ConsultOf.is_null())
            .order_by_desc(runs::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(run_from_row)
            .collect()
    }

    /// Runs that are not finished, oldest first.
    pub async fn live(db: &impl ConnectionTrait) -> StoreResult<Vec<Run>> {
        runs::Entity::find()
            .filter(runs::Column::State.is_in(RunState::live_names()))
            .order_by_asc(runs::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(run_from_row)
            .collect()
    }

    /// Runs of one task (its own, not consult runs), oldest first.
    pub async fn for_task(db: &impl ConnectionTrait, task: TaskId) -> StoreResult<Vec<Run>> {
        runs::Entity::find()
            .filter(runs::Column::TaskId.eq(task.to_string()))
            .filter(runs::Column::ConsultOf.is_null())
            .order_by_asc(runs::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(run_from_row)
            .collect()
    }

    /// Each task's latest run (of its own, not a consult run): its state, whether Corral merged
    /// it and its result commit (run ids are time-ordered, so the last one wins).
    pub async fn latest_states(
        db: &impl ConnectionTrait,
        project: Option<ProjectId>,
    ) -> StoreResult<HashMap<TaskId, LatestRun>> {
        let mut query = runs::Entity::find()
            .select_only()
            .columns([
                runs::Column::TaskId,
                runs::Column::State,
                runs::Column::FailKind,
                runs::Column::FailReason,
                runs::Column::MergedCommit,
                runs::Column::ResultCommit,
                runs::Column::Id,
                runs::Column::CreatedAt,
                runs::Column::FinishedAt,
            ])
            .filter(runs::Column::ConsultOf.is_null())
            .order_by_asc(runs::Column::Id);
        if let Some(project) = project {
            query = query.filter(runs::Column::ProjectId.eq(project.to_string()));
        }
        let rows: Vec<LatestRow> = query.into_tuple().all(db).await?;
        let mut latest = HashMap::with_capacity(rows.len());
        for (task, state, kind, reason, merged, result_commit, run, created_at, finished_at) in rows
        {
            let state = run_state(&state, kind.as_deref(), reason.as_deref())?;
            latest.insert(
                id("run task id", &task)?,
                LatestRun {
                    id: id("run id", &run)?,
                    created_at: Timestamp(created_at),
                    finished_at: finished_at.map(Timestamp),
                    state,
                    merged_by_corral: merged.is_some(),
                    result_commit,
                },
            );
        }
        Ok(latest)
    }

    /// How many runs of a project (or of one task) are not finished.
    pub async fn count_live(
        db: &impl ConnectionTrait,
        project: Option<ProjectId>,
        task: Option<TaskId>,
    ) -> StoreResult<u64> {
        let mut query =
            runs::Entity::find().filter(runs::Column::State.is_in(RunState::live_names()));
        if let Some(project) = project {
            query = query.filter(runs::Column::ProjectId.eq(project.to_string()));
        }
        if let Some(task) = task {
            query = query.filter(runs::Column::TaskId.eq(task.to_string()));
        }
        Ok(query.count(db).await?)
    }
}

#[derive(Debug)]
pub struct RunMutation;

impl RunMutation {
    pub async fn insert(db: &impl ConnectionTrait, run: &Run) -> StoreResult<()> {
        runs::Entity::insert(run_to_row(run)?.into_active_model().reset_all())
            .exec_without_returning(db)
            .await?;
        Ok(())
    }

    pub async fn update(db: &impl ConnectionTrait, run: &Run) -> StoreResult<()> {
        run_to_row(run)?
            .into_active_model()
            .reset_all()
            .update(db)
            .await?;
        Ok(())
    }

    /// Writes the run's state (and its failure, start and end times) and nothing else.
    pub async fn update_state(db: &impl ConnectionTrait, run: &Run) -> StoreResult<()> {
        let row = run_to_row(run)?;
        runs::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(row.id),
            state: sea_orm::ActiveValue::Set(row.state),
            fail_reason: sea_orm::ActiveValue::Set(row.fail_reason),
            fail_kind: sea_orm::ActiveValue::Set(row.fail_kind),
            started_at: sea_orm::ActiveValue::Set(row.started_at),
            finished_at: sea_orm::ActiveValue::Set(row.finished_at),
            ..Default::default()
        }
        .update(db)
        .await?;
        Ok(())
    }

    /// Writes everything but the run's state.
    pub async fn update_fields(db: &impl ConnectionTrait, run: &Run) -> StoreResult<()> {
        let mut row = run_to_row(run)?.into_active_model().reset_all();
        row.state = sea_orm::ActiveValue::NotSet;
        row.fail_reason = sea_orm::ActiveValue::NotSet;
        row.fail_kind = sea_orm::ActiveValue::NotSet;
        row.finished_at = sea_orm::ActiveValue::NotSet;
        row.update(db).await?;
        Ok(())
    }
}

/// Task id, state, failure kind, failure message, merged commit, result commit, run id,
/// created at, finished at.
type LatestRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<i64>,
);

/// What lists need of a task's latest run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRun {
    pub id: RunId,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub state: RunState,
    /// `corral merge` (or the window's Merge) merged it.
    pub merged_by_corral: bool,
    pub result_commit: Option<String>,
}
