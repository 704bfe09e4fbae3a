//! Review comments: a person's (or an agent reviewer's) comments on lines of a run's result,
//! kept with the reviewed run (`run_id`) and the follow-up run they started (`sent_in_run`),
//! each with the code on its line when it was written. Deleted with the reviewed run.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReviewComments {
    Table,
    Id,
    RunId,
    SentInRun,
    Path,
    Line,
    Code,
    Text,
    AuthorJson,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
}

const BY_RUN: &str = "idx_review_comments_run";
const BY_SENT: &str = "idx_review_comments_sent_in_run";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReviewComments::Table)
                    .col(text(ReviewComments::Id).primary_key())
                    .col(text(ReviewComments::RunId))
                    .col(text_null(ReviewComments::SentInRun))
                    .col(text(ReviewComments::Path))
                    .col(big_integer(ReviewComments::Line))
                    .col(text(ReviewComments::Code))
                    .col(text(ReviewComments::Text))
                    .col(text(ReviewComments::AuthorJson))
                    .col(big_integer(ReviewComments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_review_comments_run")
                            .from(ReviewComments::Table, ReviewComments::RunId)
                            .to(Runs::Table, Runs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for (name, column) in [
            (BY_RUN, ReviewComments::RunId),
            (BY_SENT, ReviewComments::SentInRun),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ReviewComments::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReviewComments::Table).to_owned())
            .await
    }
}
