//! A project's checks: the verification attempt a run is on (`verify_attempt`, from 1), the
//! latest attempt's check results (`checks_json`; every attempt's are in the log), and when a
//! person set aside a run whose checks failed (`dismissed_at`: it leaves the inbox).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    VerifyAttempt,
    ChecksJson,
    DismissedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for mut column in [
            integer(Runs::VerifyAttempt).default(1).take(),
            text_null(Runs::ChecksJson),
            big_integer_null(Runs::DismissedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Runs::Table)
                        .add_column(&mut column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Runs::DismissedAt, Runs::ChecksJson, Runs::VerifyAttempt] {
            manager
                .alter_table(Table::alter().table(Runs::Table).drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
