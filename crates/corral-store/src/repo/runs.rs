//! The `runs` table.

use std::collections::HashMap;

use corral_core::{ProjectId, Run, RunId, RunState, TaskId, Timestamp};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};

use crate::convert::{from_json, id, run_from_row, run_state, run_to_row};
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

    /// Runs whose checks failed and that wait on a person's decision (follow up, run again,
    /// merge anyway or set aside): each task's latest own run, failed `verify_failed`, not
    /// merged and not set aside; oldest first.
    pub async fn awaiting_decision(db: &impl ConnectionTrait) -> StoreResult<Vec<Run>> {
        runs::Entity::find()
            .from_raw_sql(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT * FROM runs r WHERE {AWAITING_DECISION} ORDER BY r.id"),
            ))
            .all(db)
            .await?
            .into_iter()
            .map(run_from_row)
            .collect()
    }

    /// How many runs `awaiting_decision` lists (for the tray: one count query).
    pub async fn count_awaiting_decision(db: &impl ConnectionTrait) -> StoreResult<u64> {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT count(*) AS n FROM runs r WHERE {AWAITING_DECISION}"),
            ))
            .await?;
        let n: i64 = match row {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
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
                runs::Column::ChecksJson,
            ])
            .filter(runs::Column::ConsultOf.is_null())
            .order_by_asc(runs::Column::Id);
        if let Some(project) = project {
            query = query.filter(runs::Column::ProjectId.eq(project.to_string()));
        }
        let rows: Vec<LatestRow> = query.into_tuple().all(db).await?;
        let mut latest = HashMap::with_capacity(rows.len());
        // Only the latest run's checks are read (older runs' are skipped unparsed).
        let mut checks: HashMap<TaskId, String> = HashMap::new();
        for row in rows {
            let (task, state, kind, reason, merged, result_commit, run, created_at, finished_at) = (
                row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8,
            );
            let state = run_state(&state, kind.as_deref(), reason.as_deref())?;
            let task: TaskId = id("run task id", &task)?;
            match row.9 {
                Some(json) => checks.insert(task, json),
                None => checks.remove(&task),
            };
            latest.insert(
                task,
                LatestRun {
                    id: id("run id", &run)?,
                    created_at: Timestamp(created_at),
                    finished_at: finished_at.map(Timestamp),
                    state,
                    merged_by_corral: merged.is_some(),
                    result_commit,
                    checks: Vec::new(),
                },
            );
        }
        for (task, json) in checks {
            if let Some(run) = latest.get_mut(&task) {
                run.checks = from_json("run checks", &json)?;
            }
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

/// A task's latest own run that failed its checks and that nobody merged or set aside.
/// A subtask's run is its orchestrator's to decide on while the orchestrator's run is live
/// (`state` names as `RunStatus::is_live` has them).
const AWAITING_DECISION: &str = "r.consult_of IS NULL AND r.state = 'failed' AND \
     r.fail_kind = 'verify_failed' AND r.merged_commit IS NULL AND r.dismissed_at IS NULL AND \
     NOT EXISTS (SELECT 1 FROM runs n WHERE n.task_id = r.task_id AND n.consult_of IS NULL \
     AND n.id > r.id) AND \
     NOT EXISTS (SELECT 1 FROM tasks t JOIN runs o ON o.task_id = t.parent_id \
     WHERE t.id = r.task_id AND o.consult_of IS NULL \
     AND o.state IN ('queued', 'preparing', 'running', 'verifying', 'waiting_input'))";

/// Task id, state, failure kind, failure message, merged commit, result commit, run id,
/// created at, finished at, check results.
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
    Option<String>,
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
    /// Its latest verification attempt's check results.
    pub checks: Vec<corral_core::CheckResult>,
}
