//! The first schema: projects, tasks and their edges, runs, run events, file changes, input
//! requests and settings.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Name,
    SourceJson,
    DefaultBranch,
    WorkflowJson,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    ProjectId,
    Title,
    Prompt,
    Runtime,
    Model,
    CommandJson,
    Kind,
    ParentId,
    CreatedByRun,
    MaxAttempts,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TaskEdges {
    Table,
    TaskId,
    DependsOnId,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
    TaskId,
    ProjectId,
    Attempt,
    State,
    FailReason,
    ContainerId,
    CheckoutPath,
    Branch,
    BaseCommit,
    ResultCommit,
    ExitCode,
    AgentSessionId,
    InputTokens,
    OutputTokens,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum RunEvents {
    Table,
    RunId,
    Seq,
    At,
    Kind,
    Payload,
}

#[derive(DeriveIden)]
enum FileChanges {
    Table,
    RunId,
    Seq,
    At,
    Path,
    Kind,
    Size,
}

#[derive(DeriveIden)]
enum InputRequests {
    Table,
    Id,
    RunId,
    Question,
    ChoicesJson,
    Answer,
    AnsweredBy,
    CreatedAt,
    AnsweredAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
    UpdatedAt,
}

fn cascade<T: IntoIden, C: IntoIden>(
    name: &str,
    from: (T, C),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(text(Projects::Id).primary_key())
                    .col(text(Projects::Name).unique_key())
                    .col(text(Projects::SourceJson))
                    .col(text_null(Projects::DefaultBranch))
                    .col(text(Projects::WorkflowJson))
                    .col(big_integer(Projects::CreatedAt))
                    .col(big_integer(Projects::UpdatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(text(Tasks::Id).primary_key())
                    .col(text(Tasks::ProjectId))
                    .col(text(Tasks::Title))
                    .col(text(Tasks::Prompt))
                    .col(text_null(Tasks::Runtime))
                    .col(text_null(Tasks::Model))
                    .col(text_null(Tasks::CommandJson))
                    .col(text(Tasks::Kind))
                    .col(text_null(Tasks::ParentId))
                    .col(text_null(Tasks::CreatedByRun))
                    .col(integer(Tasks::MaxAttempts))
                    .col(big_integer(Tasks::CreatedAt))
                    .col(big_integer(Tasks::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_tasks_project",
                        (Tasks::Table, Tasks::ProjectId),
                        (Projects::Table, Projects::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tasks_parent")
                            .from(Tasks::Table, Tasks::ParentId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tasks_project")
                    .table(Tasks::Table)
                    .col(Tasks::ProjectId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TaskEdges::Table)
                    .col(text(TaskEdges::TaskId))
                    .col(text(TaskEdges::DependsOnId))
                    .primary_key(
                        Index::create()
                            .col(TaskEdges::TaskId)
                            .col(TaskEdges::DependsOnId),
                    )
                    .foreign_key(&mut cascade(
                        "fk_edges_task",
                        (TaskEdges::Table, TaskEdges::TaskId),
                        (Tasks::Table, Tasks::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_edges_depends_on",
                        (TaskEdges::Table, TaskEdges::DependsOnId),
                        (Tasks::Table, Tasks::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_edges_depends_on")
                    .table(TaskEdges::Table)
                    .col(TaskEdges::DependsOnId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Runs::Table)
                    .col(text(Runs::Id).primary_key())
                    .col(text(Runs::TaskId))
                    .col(text(Runs::ProjectId))
                    .col(integer(Runs::Attempt))
                    .col(text(Runs::State))
                    .col(text_null(Runs::FailReason))
                    .col(text_null(Runs::ContainerId))
                    .col(text_null(Runs::CheckoutPath))
                    .col(text_null(Runs::Branch))
                    .col(text_null(Runs::BaseCommit))
                    .col(text_null(Runs::ResultCommit))
                    .col(big_integer_null(Runs::ExitCode))
                    .col(text_null(Runs::AgentSessionId))
                    .col(big_integer(Runs::InputTokens).default(0))
                    .col(big_integer(Runs::OutputTokens).default(0))
                    .col(big_integer(Runs::CreatedAt))
                    .col(big_integer_null(Runs::StartedAt))
                    .col(big_integer_null(Runs::FinishedAt))
                    .foreign_key(&mut cascade(
                        "fk_runs_task",
                        (Runs::Table, Runs::TaskId),
                        (Tasks::Table, Tasks::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_runs_project",
                        (Runs::Table, Runs::ProjectId),
                        (Projects::Table, Projects::Id),
                    ))
                    .take(),
            )
            .await?;
        for (name, col) in [
            ("idx_runs_task", Runs::TaskId),
            ("idx_runs_state", Runs::State),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Runs::Table)
                        .col(col)
                        .take(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(RunEvents::Table)
                    .col(text(RunEvents::RunId))
                    .col(big_integer(RunEvents::Seq))
                    .col(big_integer(RunEvents::At))
                    .col(text(RunEvents::Kind))
                    .col(text(RunEvents::Payload))
                    .primary_key(Index::create().col(RunEvents::RunId).col(RunEvents::Seq))
                    .foreign_key(&mut cascade(
                        "fk_run_events_run",
                        (RunEvents::Table, RunEvents::RunId),
                        (Runs::Table, Runs::Id),
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FileChanges::Table)
                    .col(text(FileChanges::RunId))
                    .col(big_integer(FileChanges::Seq))
                    .col(big_integer(FileChanges::At))
                    .col(text(FileChanges::Path))
                    .col(text(FileChanges::Kind))
                    .col(big_integer_null(FileChanges::Size))
                    .primary_key(
                        Index::create()
                            .col(FileChanges::RunId)
                            .col(FileChanges::Seq),
                    )
                    .foreign_key(&mut cascade(
                        "fk_file_changes_run",
                        (FileChanges::Table, FileChanges::RunId),
                        (Runs::Table, Runs::Id),
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InputRequests::Table)
                    .col(text(InputRequests::Id).primary_key())
                    .col(text(InputRequests::RunId))
                    .col(text(InputRequests::Question))
                    .col(text_null(InputRequests::ChoicesJson))
                    .col(text_null(InputRequests::Answer))
                    .col(text_null(InputRequests::AnsweredBy))
                    .col(big_integer(InputRequests::CreatedAt))
                    .col(big_integer_null(InputRequests::AnsweredAt))
                    .foreign_key(&mut cascade(
                        "fk_input_requests_run",
                        (InputRequests::Table, InputRequests::RunId),
                        (Runs::Table, Runs::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_input_requests_run")
                    .table(InputRequests::Table)
                    .col(InputRequests::RunId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(text(Settings::Key).primary_key())
                    .col(text(Settings::Value))
                    .col(big_integer(Settings::UpdatedAt))
                    .take(),
            )
            .await?;
        Ok(())
    }

    /// Used only by the migration test (up, down, up): releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Settings::Table.into_iden(),
            InputRequests::Table.into_iden(),
            FileChanges::Table.into_iden(),
            RunEvents::Table.into_iden(),
            Runs::Table.into_iden(),
            TaskEdges::Table.into_iden(),
            Tasks::Table.into_iden(),
            Projects::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
