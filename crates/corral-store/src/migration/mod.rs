//! Forward-only schema migrations, one per file (`DeriveMigrationName` takes the file name).
//! A migration is never edited once released: user data must survive every upgrade.

use sea_orm_migration::prelude::*;

mod m20261125_000001_create_tables;
mod m20261125_000002_run_merged_commit;
mod m20261125_000003_run_follow_up;
mod m20261203_000001_run_fail_kind;
mod m20261203_000002_run_events_kind_index;
mod m20261203_000003_graph_runs;
mod m20261204_000001_network_allowlist;
mod m20261205_000001_agent_tasks;
mod m20261205_000002_questions;
mod m20261206_000001_consult_runs;
mod m20261206_000002_change_version;
mod m20261207_000001_run_checks;
mod m20261207_000002_review_comments;
mod m20261208_000001_routed_questions;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_tables::Migration),
            Box::new(m20261125_000002_run_merged_commit::Migration),
            Box::new(m20261125_000003_run_follow_up::Migration),
            Box::new(m20261203_000001_run_fail_kind::Migration),
            Box::new(m20261203_000002_run_events_kind_index::Migration),
            Box::new(m20261203_000003_graph_runs::Migration),
            Box::new(m20261204_000001_network_allowlist::Migration),
            Box::new(m20261205_000001_agent_tasks::Migration),
            Box::new(m20261205_000002_questions::Migration),
            Box::new(m20261206_000001_consult_runs::Migration),
            Box::new(m20261206_000002_change_version::Migration),
            Box::new(m20261207_000001_run_checks::Migration),
            Box::new(m20261207_000002_review_comments::Migration),
            Box::new(m20261208_000001_routed_questions::Migration),
        ]
    }
}
