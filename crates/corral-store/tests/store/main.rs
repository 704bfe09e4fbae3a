//! Integration tests of the store against real SQLite files in temp dirs.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

mod change_version;
mod event_writer;
mod migrations;
mod repositories;

use corral_core::{
    CreatedBy, Project, ProjectId, RepoSource, Run, Task, TaskId, TaskKind, Timestamp, Workflow,
};
use corral_store::Store;

pub async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("corral.db"))
        .await
        .expect("opens");
    (dir, store)
}

pub fn project(name: &str) -> Project {
    Project {
        id: ProjectId::new(),
        name: name.to_string(),
        source: RepoSource::Local {
            path: format!("/tmp/{name}").into(),
        },
        default_branch: Some("main".into()),
        workflow: Workflow::default(),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    }
}

pub fn task(project: ProjectId, title: &str) -> Task {
    Task {
        id: TaskId::new(),
        project_id: project,
        title: title.to_string(),
        prompt: "do it".into(),
        runtime: None,
        model: None,
        command: None,
        kind: TaskKind::Work,
        parent: None,
        created_by: CreatedBy::Human,
        approval: corral_core::Approval::Approved,
        max_attempts: 1,
        created_at: Timestamp(2),
        updated_at: Timestamp(2),
    }
}

pub fn run(task: &Task) -> Run {
    Run::queued(task.id, task.project_id, 1, Timestamp(3))
}
