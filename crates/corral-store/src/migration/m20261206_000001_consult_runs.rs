//! Consult runs (MCP `ask_agent`): a run that answers another run's agent records the asking
//! run (`consult_of`, indexed: a run's consults are listed under it, and a task's own runs leave
//! them out) and what it was asked (`consult_json`). A question to an agent records the consult
//! run answering it (`consult_run_id`), which keeps it out of a person's inbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    ConsultOf,
    ConsultJson,
}

#[derive(DeriveIden)]
enum InputRequests {
    Table,
    ConsultRunId,
}

const INDEX: &str = "idx_runs_consult_of";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in [text_null(Runs::ConsultOf), text_null(Runs::ConsultJson)] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Runs::Table)
                        .add_column(&mut column)
                        .take(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(InputRequests::Table)
                    .add_column(text_null(InputRequests::ConsultRunId))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Runs::Table)
                    .col(Runs::ConsultOf)
                    .to_owned(),
            )
            .await
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Runs::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(InputRequests::Table)
                    .drop_column(InputRequests::ConsultRunId)
                    .take(),
            )
            .await?;
        for column in [Runs::ConsultJson, Runs::ConsultOf] {
            manager
                .alter_table(Table::alter().table(Runs::Table).drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
