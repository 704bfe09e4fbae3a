//! Graph runs in progress (`corral graph run`, Run all): one row per project whose graph is
//! being run, with when it started. Kept in the database so a graph run survives the process
//! that started it: the next process that schedules carries on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GraphRuns {
    Table,
    ProjectId,
    StartedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(GraphRuns::Table)
                    .if_not_exists()
                    .col(text(GraphRuns::ProjectId).primary_key())
                    .col(big_integer(GraphRuns::StartedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_graph_runs_project")
                            .from(GraphRuns::Table, GraphRuns::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GraphRuns::Table).to_owned())
            .await
    }
}
