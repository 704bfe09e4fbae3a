//! Agents' questions (MCP `ask_human`) in full: the questions with their options (`ask_json`),
//! where each is (`state`: pending, answered, cancelled), the checked answer (`answer_json`),
//! when the answer reached the agent, and the run's task and project so the inbox lists them
//! without a join. The old `question` column keeps the first question's text.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InputRequests {
    Table,
    State,
    AskJson,
    AnswerJson,
    DeliveredAt,
    TaskId,
    ProjectId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            text(InputRequests::State).default("pending").to_owned(),
            text_null(InputRequests::AskJson).to_owned(),
            text_null(InputRequests::AnswerJson).to_owned(),
            big_integer_null(InputRequests::DeliveredAt).to_owned(),
            text_null(InputRequests::TaskId).to_owned(),
            text_null(InputRequests::ProjectId).to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(InputRequests::Table)
                        .add_column(&mut column)
                        .take(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_input_requests_state")
                    .table(InputRequests::Table)
                    .col(InputRequests::State)
                    .to_owned(),
            )
            .await
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_input_requests_state")
                    .table(InputRequests::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            InputRequests::ProjectId,
            InputRequests::TaskId,
            InputRequests::DeliveredAt,
            InputRequests::AnswerJson,
            InputRequests::AskJson,
            InputRequests::State,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(InputRequests::Table)
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
