//! The `runs` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub task_id: String,
    pub project_id: String,
    pub attempt: i32,
    pub state: String,
    pub fail_reason: Option<String>,
    pub fail_kind: Option<String>,
    pub container_id: Option<String>,
    pub checkout_path: Option<String>,
    pub branch: Option<String>,
    pub base_commit: Option<String>,
    pub result_commit: Option<String>,
    pub exit_code: Option<i64>,
    pub agent_session_id: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The commit the result was merged as, once merged.
    pub merged_commit: Option<String>,
    /// The finished run this one follows up (same checkout, branch and agent session).
    pub follow_up_of: Option<String>,
    pub follow_up_message: Option<String>,
    /// The run whose agent this one answers (`ask_agent`), and what it was asked.
    pub consult_of: Option<String>,
    pub consult_json: Option<String>,
    /// The verification attempt the run is on, from 1.
    pub verify_attempt: i32,
    /// The latest attempt's check results (`Vec<CheckResult>` as JSON).
    pub checks_json: Option<String>,
    /// When a person set the run aside from the inbox (its checks had failed).
    pub dismissed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
