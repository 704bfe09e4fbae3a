//! Questions up the tree: a subtask's question goes first to the run of its orchestrator
//! (`routed_to_run_id`), which answers it or passes it on to a person; while it is routed it is
//! not in a person's inbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InputRequests {
    Table,
    RoutedToRunId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(InputRequests::Table)
                    .add_column(text_null(InputRequests::RoutedToRunId))
                    .take(),
            )
            .await
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(InputRequests::Table)
                    .drop_column(InputRequests::RoutedToRunId)
                    .take(),
            )
            .await
    }
}
