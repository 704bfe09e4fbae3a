//! One number that moves whenever anything a task listing is made of changes, in any process:
//! the projects, tasks, their edges, runs, questions, and the log events a listing reads
//! (progress lines, overlaps, the upstream work a run started from). Triggers keep it, so
//! every writer (the app, `corral` commands, an older build) moves it; a listing computed at one
//! number is still right while the number has not moved.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose every change moves the number.
const TABLES: [&str; 5] = ["projects", "tasks", "task_edges", "runs", "input_requests"];
/// The log events a listing reads.
const EVENT_KINDS: &str = "'progress', 'overlap', 'upstream_merged'";
const BUMP: &str = "UPDATE change_version SET version = version + 1 WHERE id = 1;";

fn triggers() -> Vec<(String, String)> {
    let mut triggers = Vec::new();
    for table in TABLES {
        for op in ["INSERT", "UPDATE", "DELETE"] {
            let name = format!("trg_change_version_{table}_{}", op.to_lowercase());
            triggers.push((
                name.clone(),
                format!("CREATE TRIGGER {name} AFTER {op} ON {table} BEGIN {BUMP} END"),
            ));
        }
    }
    triggers.push((
        "trg_change_version_run_events_insert".into(),
        format!(
            "CREATE TRIGGER trg_change_version_run_events_insert AFTER INSERT ON run_events \
             WHEN NEW.kind IN ({EVENT_KINDS}) BEGIN {BUMP} END"
        ),
    ));
    triggers.push((
        "trg_change_version_run_events_delete".into(),
        format!(
            "CREATE TRIGGER trg_change_version_run_events_delete AFTER DELETE ON run_events \
             WHEN OLD.kind IN ({EVENT_KINDS}) BEGIN {BUMP} END"
        ),
    ));
    triggers
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE change_version (id INTEGER PRIMARY KEY CHECK (id = 1), \
             version INTEGER NOT NULL)",
        )
        .await?;
        db.execute_unprepared("INSERT INTO change_version (id, version) VALUES (1, 0)")
            .await?;
        for (_, sql) in triggers() {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in triggers() {
            db.execute_unprepared(&format!("DROP TRIGGER {name}"))
                .await?;
        }
        db.execute_unprepared("DROP TABLE change_version").await?;
        Ok(())
    }
}
