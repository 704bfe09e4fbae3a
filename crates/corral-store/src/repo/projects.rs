//! The `projects` table.

use corral_core::{Project, ProjectId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};

use crate::convert::{project_from_row, project_to_row};
use crate::entity::projects;
use crate::error::StoreResult;

#[derive(Debug)]
pub struct ProjectQuery;

impl ProjectQuery {
    /// Every project, by name.
    pub async fn all(db: &impl ConnectionTrait) -> StoreResult<Vec<Project>> {
        projects::Entity::find()
            .order_by_asc(projects::Column::Name)
            .all(db)
            .await?
            .into_iter()
            .map(project_from_row)
            .collect()
    }

    pub async fn by_id(db: &impl ConnectionTrait, id: ProjectId) -> StoreResult<Option<Project>> {
        projects::Entity::find_by_id(id.to_string())
            .one(db)
            .await?
            .map(project_from_row)
            .transpose()
    }

    pub async fn by_name(db: &impl ConnectionTrait, name: &str) -> StoreResult<Option<Project>> {
        projects::Entity::find()
            .filter(projects::Column::Name.eq(name))
            .one(db)
            .await?
            .map(project_from_row)
            .transpose()
    }
}

#[derive(Debug)]
pub struct ProjectMutation;

impl ProjectMutation {
    pub async fn insert(db: &impl ConnectionTrait, project: &Project) -> StoreResult<()> {
        projects::Entity::insert(project_to_row(project)?.into_active_model().reset_all())
            .exec_without_returning(db)
            .await?;
        Ok(())
    }

    pub async fn update(db: &impl ConnectionTrait, project: &Project) -> StoreResult<()> {
        project_to_row(project)?
            .into_active_model()
            .reset_all()
            .update(db)
            .await?;
        Ok(())
    }

    /// Deletes the project; its tasks, runs and their logs go with it (foreign-key cascade).
    pub async fn delete(db: &impl ConnectionTrait, id: ProjectId) -> StoreResult<bool> {
        let res = projects::Entity::delete_by_id(id.to_string())
            .exec(db)
            .await?;
        Ok(res.rows_affected > 0)
    }
}
