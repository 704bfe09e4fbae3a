//! The `graph_runs` table: projects whose task graph is being run, and since when.

use corral_core::{ProjectId, Timestamp};
use sea_orm::{ConnectionTrait, Statement};

use crate::convert::id;
use crate::error::StoreResult;

#[derive(Debug)]
pub struct GraphRuns;

impl GraphRuns {
    /// Starts a graph run of `project` at `now`; one already running keeps its start. Returns
    /// when the graph run started and whether it was running already.
    pub async fn start(
        db: &impl ConnectionTrait,
        project: ProjectId,
        now: Timestamp,
    ) -> StoreResult<(Timestamp, bool)> {
        if let Some(since) = Self::since(db, project).await? {
            return Ok((since, true));
        }
        let stmt = Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT OR IGNORE INTO graph_runs (project_id, started_at) VALUES (?1, ?2)",
            [project.to_string().into(), now.0.into()],
        );
        db.execute_raw(stmt).await?;
        let since = Self::since(db, project).await?.unwrap_or(now);
        Ok((since, since != now))
    }

    /// When the graph run of `project` started, if one is running.
    pub async fn since(
        db: &impl ConnectionTrait,
        project: ProjectId,
    ) -> StoreResult<Option<Timestamp>> {
        let stmt = Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT started_at FROM graph_runs WHERE project_id = ?1",
            [project.to_string().into()],
        );
        Ok(match db.query_one_raw(stmt).await? {
            Some(row) => Some(Timestamp(row.try_get_by_index(0)?)),
            None => None,
        })
    }

    /// Every graph run in progress.
    pub async fn active(db: &impl ConnectionTrait) -> StoreResult<Vec<(ProjectId, Timestamp)>> {
        let stmt = Statement::from_string(
            db.get_database_backend(),
            "SELECT project_id, started_at FROM graph_runs ORDER BY started_at",
        );
        let mut out = Vec::new();
        for row in db.query_all_raw(stmt).await? {
            let project: String = row.try_get_by_index(0)?;
            let since: i64 = row.try_get_by_index(1)?;
            out.push((id("graph run project", &project)?, Timestamp(since)));
        }
        Ok(out)
    }

    /// Ends the graph run of `project` (nothing new starts; live runs go on).
    pub async fn stop(db: &impl ConnectionTrait, project: ProjectId) -> StoreResult<bool> {
        let stmt = Statement::from_sql_and_values(
            db.get_database_backend(),
            "DELETE FROM graph_runs WHERE project_id = ?1",
            [project.to_string().into()],
        );
        Ok(db.execute_raw(stmt).await?.rows_affected() > 0)
    }
}
