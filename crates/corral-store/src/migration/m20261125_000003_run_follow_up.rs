//! A follow-up run: which finished run it continues (same checkout, branch and agent session)
//! and the message it sends the agent.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    FollowUpOf,
    FollowUpMessage,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Runs::Table)
                    .add_column(text_null(Runs::FollowUpOf))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Runs::Table)
                    .add_column(text_null(Runs::FollowUpMessage))
                    .take(),
            )
            .await
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Runs::FollowUpMessage, Runs::FollowUpOf] {
            manager
                .alter_table(Table::alter().table(Runs::Table).drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
