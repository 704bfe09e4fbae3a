//! The `input_requests` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "input_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub run_id: String,
    pub question: String,
    /// JSON array of strings, when the agent offered choices.
    pub choices_json: Option<String>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub created_at: i64,
    pub answered_at: Option<i64>,
    /// pending | answered | cancelled.
    pub state: String,
    /// The questions, their options and the context (`corral_core::Ask`).
    pub ask_json: Option<String>,
    /// The checked answer (`corral_core::Answer`).
    pub answer_json: Option<String>,
    pub delivered_at: Option<i64>,
    pub task_id: Option<String>,
    pub project_id: Option<String>,
    /// A question to another agent: the consult run that answers it.
    pub consult_run_id: Option<String>,
    /// A subtask's question: the orchestrator run that sees it first.
    pub routed_to_run_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
