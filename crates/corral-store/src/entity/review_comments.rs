//! The `review_comments` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_comments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The run whose result was reviewed.
    pub run_id: String,
    /// The follow-up run the comments were sent in.
    pub sent_in_run: Option<String>,
    pub path: String,
    pub line: i64,
    pub code: String,
    pub text: String,
    pub author_json: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
