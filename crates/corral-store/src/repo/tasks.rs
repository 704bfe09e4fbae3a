//! The `tasks` and `task_edges` tables.

use corral_core::{ProjectId, Task, TaskId};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use crate::convert::{id, task_from_row, task_to_row};
use crate::entity::{task_edges, tasks};
use crate::error::StoreResult;

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

    pub async fn by_id(db: &impl ConnectionTrait, id: TaskId) -> StoreResult<Option<Task>> {
        tasks::Entity::find_by_id(id.to_string())
            .one(db)
            .await?
            .map(task_from_row)
            .transpose()
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
        let mut query = task_edges::Entity::find();
        if let Some(project) = project {
            query = query.filter(
                task_edges::Column::TaskId.in_subquery(
                    Query::select()
                        .column(tasks::Column::Id)
                        .from(tasks::Entity)
                        .and_where(tasks::Column::ProjectId.eq(project.to_string()))
                        .to_owned(),
                ),
            );
        }
        query
            .all(db)
            .await?
            .into_iter()
            .map(|e| {
                Ok((
                    id("edge task id", &e.task_id)?,
                    id("edge dependency id", &e.depends_on_id)?,
                ))
            })
            .collect()
    }
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

    /// Inserts a task and the tasks it runs after in one transaction.
    pub async fn insert_with_edges(
        db: &DatabaseConnection,
        task: &Task,
        after: &[TaskId],
    ) -> StoreResult<()> {
        let txn = db.begin().await?;
        Self::insert(&txn, task).await?;
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
        task_to_row(task)?
            .into_active_model()
            .reset_all()
            .update(db)
            .await?;
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
