//! Records the kind of a run's failure (docker_unreachable, agent_exit, ...) beside its message,
//! so front ends branch on it. Failures recorded before it read as `unknown`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    FailKind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Runs::Table)
                    .add_column(text_null(Runs::FailKind))
                    .take(),
            )
            .await
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Runs::Table)
                    .drop_column(Runs::FailKind)
                    .take(),
            )
            .await
    }
}
