//! The `tasks` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub prompt: String,
    pub runtime: Option<String>,
    pub model: Option<String>,
    /// JSON array of strings: the argument vector of a custom runtime.
    pub command_json: Option<String>,
    pub kind: String,
    pub parent_id: Option<String>,
    /// The run whose agent created this task; NULL when a human did.
    pub created_by_run: Option<String>,
    /// approved | proposed | rejected.
    pub approval: String,
    /// The key the creating agent gave, so a retried call finds the task it made.
    pub idempotency_key: Option<String>,
    pub max_attempts: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
