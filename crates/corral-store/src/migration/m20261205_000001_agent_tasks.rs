//! Tasks agents create through Corral's MCP server: whether a task waits for a person's
//! approval (`approval`: approved, proposed, rejected; every earlier task is approved), the key
//! an agent gave so a retried call does not create twice, and an index to find a run's tasks.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Approval,
    IdempotencyKey,
    CreatedByRun,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tasks::Table)
                    .add_column(text(Tasks::Approval).default("approved"))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tasks::Table)
                    .add_column(text_null(Tasks::IdempotencyKey))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tasks_created_by_run")
                    .table(Tasks::Table)
                    .col(Tasks::CreatedByRun)
                    .to_owned(),
            )
            .await
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_tasks_created_by_run")
                    .table(Tasks::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Tasks::IdempotencyKey, Tasks::Approval] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tasks::Table)
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
