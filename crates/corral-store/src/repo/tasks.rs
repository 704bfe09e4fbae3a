//! The `tasks` and `task_edges` tables.

use corral_core::{ProjectId, RunId, Task, TaskId, TaskSummary};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};

use crate::convert::{SummaryRow, id, summary_from_row, task_from_row, task_to_row};
use crate::entity::{task_edges, tasks};
use crate::error::{StoreError, StoreResult};

#[derive(Debug)]
pub struct TaskQuery;

impl TaskQuery {
    /// Tasks of one project, or of every project, in creation order.
    pub async fn list(
        db: &impl ConnectionTrait,
        project: Option<ProjectId>,
    ) -> StoreResult<Vec<Task>> {
        let mut query = tasks::Entity::find().order_by_asc(tasks::Column::Id);
        if let Some(project) = project {
            query = query.filter(tasks::Column::ProjectId.eq(project.to_string()));
        }
        query
            .all(db)
            .await?
            .into_iter()
            .map(task_from_row)
            .collect()
    }

    /// Tasks without their prompts and command lines, in creation order: what lists need.
    pub async fn summaries(
        db: &impl ConnectionTrait,
        project: Option<ProjectId>,
    ) -> StoreResult<Vec<TaskSummary>> {
        let rows: Vec<SummaryRow> = bulk_json(
            db,
            "SELECT json_group_array(json_array(id, project_id, title, runtime, model, kind, \
             created_by_run, approval, created_at, updated_at, parent_id) ORDER BY id) FROM tasks WHERE ?1 IS NULL OR project_id = ?1",
            project,
            "task summaries",
        )
        .await?;
        rows.into_iter().map(summary_from_row).collect()
    }

    pub async fn by_id(db: &impl ConnectionTrait, id: TaskId) -> StoreResult<Option<Task>> {
        tasks::Entity::find_by_id(id.to_string())
            .one(db)
            .await?
            .map(task_from_row)
            .transpose()
    }

    /// The subtasks of an orchestrate task, oldest first.
    pub async fn children(db: &impl ConnectionTrait, parent: TaskId) -> StoreResult<Vec<Task>> {
        tasks::Entity::find()
            .filter(tasks::Column::ParentId.eq(parent.to_string()))
            .order_by_asc(tasks::Column::CreatedAt)
            .order_by_asc(tasks::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(task_from_row)
            .collect()
    }

    /// Tasks with exactly this title (after trimming), optionally within one project.
    pub async fn by_title(
        db: &impl ConnectionTrait,
        title: &str,
        project: Option<ProjectId>,
    ) -> StoreResult<Vec<Task>> {
        let mut query = tasks::Entity::find()
            .filter(tasks::Column::Title.eq(title.trim()))
            .order_by_asc(tasks::Column::Id);
        if let Some(project) = project {
            query = query.filter(tasks::Column::ProjectId.eq(project.to_string()));
        }
        query
            .all(db)
            .await?
            .into_iter()
            .map(task_from_row)
            .collect()
    }

    /// The tasks a run's agent created, oldest first, each with the idempotency key it gave.
    pub async fn created_by_run(
        db: &impl ConnectionTrait,
        run: RunId,
    ) -> StoreResult<Vec<(TaskId, Option<String>)>> {
        let rows: Vec<(String, Option<String>)> = tasks::Entity::find()
            .select_only()
            .column(tasks::Column::Id)
            .column(tasks::Column::IdempotencyKey)
            .filter(tasks::Column::CreatedByRun.eq(run.to_string()))
            .order_by_asc(tasks::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        rows.into_iter()
            .map(|(task, key)| Ok((id("task id", &task)?, key)))
            .collect()
    }

    /// How many tasks of every project wait for a person's approval.
    pub async fn count_proposed(db: &impl ConnectionTrait) -> StoreResult<u64> {
        Ok(tasks::Entity::find()
            .filter(tasks::Column::Approval.eq(corral_core::Approval::Proposed.as_str()))
            .count(db)
            .await?)
    }

    pub async fn count(db: &impl ConnectionTrait, project: ProjectId) -> StoreResult<u64> {
        Ok(tasks::Entity::find()
            .filter(tasks::Column::ProjectId.eq(project.to_string()))
            .count(db)
            .await?)
    }

    /// Dependency edges as (task, runs after), within one project or across all.
    pub async fn edges(
        db: &impl ConnectionTrait,
        project: Option<ProjectId>,
    ) -> StoreResult<Vec<(TaskId, TaskId)>> {
        let rows: Vec<(String, String)> = bulk_json(
            db,
            "SELECT json_group_array(json_array(e.task_id, e.depends_on_id)) FROM task_edges e \
             JOIN tasks t ON t.id = e.task_id WHERE ?1 IS NULL OR t.project_id = ?1",
            project,
            "task edges",
        )
        .await?;
        rows.into_iter()
            .map(|(task, after)| {
                Ok((
                    id("edge task id", &task)?,
                    id("edge dependency id", &after)?,
                ))
            })
            .collect()
    }
}

/// Runs a query that aggregates its rows into one JSON array and parses it. For lists of
/// thousands of rows this is several times faster than fetching row by row, where the driver
/// pays per row and per value. `?1` is the optional project id.
async fn bulk_json<T: serde::de::DeserializeOwned>(
    db: &impl ConnectionTrait,
    sql: &str,
    project: Option<ProjectId>,
    what: &'static str,
) -> StoreResult<Vec<T>> {
    let stmt = Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [project.map(|p| p.to_string()).into()],
    );
    let Some(row) = db.query_one_raw(stmt).await? else {
        return Ok(Vec::new());
    };
    let json: String = row.try_get_by_index(0)?;
    serde_json::from_str(&json).map_err(|e| StoreError::corrupt(what, e))
}

#[derive(Debug)]
pub struct TaskMutation;

impl TaskMutation {
    pub async fn insert(db: &impl ConnectionTrait, task: &Task) -> StoreResult<()> {
        tasks::Entity::insert(task_to_row(task)?.into_active_model().reset_all())
            .exec_without_returning(db)
            .await?;
        Ok(())
    }

    /// Inserts a task and the tasks it runs after in one transaction. `idempotency_key`: the
    /// key the creating agent gave (see `TaskQuery::created_by_run`).
    pub async fn insert_with_edges(
        db: &DatabaseConnection,
        task: &Task,
        after: &[TaskId],
        idempotency_key: Option<&str>,
    ) -> StoreResult<()> {
        let txn = db.begin().await?;
        let mut row = task_to_row(task)?;
        row.idempotency_key = idempotency_key.map(str::to_string);
        tasks::Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(&txn)
            .await?;
        for dep in after {
            Self::add_edge(&txn, task.id, *dep).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Inserts many tasks in one statement per chunk (bulk imports, benchmarks).
    pub async fn insert_many(db: &impl ConnectionTrait, tasks: &[Task]) -> StoreResult<()> {
        for chunk in tasks.chunks(500) {
            let rows = chunk
                .iter()
                .map(|t| Ok(task_to_row(t)?.into_active_model().reset_all()))
                .collect::<StoreResult<Vec<_>>>()?;
            tasks::Entity::insert_many(rows)
                .exec_without_returning(db)
                .await?;
        }
        Ok(())
    }

    pub async fn update(db: &impl ConnectionTrait, task: &Task) -> StoreResult<()> {
        let mut row = task_to_row(task)?.into_active_model().reset_all();
        // Set once, when an agent created the task.
        row.idempotency_key = sea_orm::ActiveValue::NotSet;
        row.update(db).await?;
        Ok(())
    }

    /// Deletes the task and its edges (cascade).
    pub async fn delete(db: &impl ConnectionTrait, id: TaskId) -> StoreResult<bool> {
        let res = tasks::Entity::delete_by_id(id.to_string()).exec(db).await?;
        Ok(res.rows_affected > 0)
    }

    pub async fn add_edge(
        db: &impl ConnectionTrait,
        task: TaskId,
        after: TaskId,
    ) -> StoreResult<()> {
        let row = task_edges::Model {
            task_id: task.to_string(),
            depends_on_id: after.to_string(),
        };
        task_edges::Entity::insert(row.into_active_model().reset_all())
            .on_conflict_do_nothing()
            .exec_without_returning(db)
            .await?;
        Ok(())
    }

    pub async fn remove_edge(
        db: &impl ConnectionTrait,
        task: TaskId,
        after: TaskId,
    ) -> StoreResult<bool> {
        let res = task_edges::Entity::delete_many()
            .filter(task_edges::Column::TaskId.eq(task.to_string()))
            .filter(task_edges::Column::DependsOnId.eq(after.to_string()))
            .exec(db)
            .await?;
        Ok(res.rows_affected > 0)
    }
}
