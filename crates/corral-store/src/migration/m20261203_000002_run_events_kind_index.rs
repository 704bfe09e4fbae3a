//! An index on (run, kind, seq) of run events: a run's state timeline (its `state_changed`
//! entries) and its last output offsets are found without reading a long log whole (a run of
//! 1,000,000 lines opens at its end at once).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RunEvents {
    Table,
    RunId,
    Kind,
    Seq,
}

const INDEX: &str = "idx_run_events_run_kind_seq";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(RunEvents::Table)
                    .col(RunEvents::RunId)
                    .col(RunEvents::Kind)
                    .col(RunEvents::Seq)
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(RunEvents::Table).to_owned())
            .await
    }
}
