//! Task listings are kept as computed while nothing they are made of changed: a change made by
//! another process (another `Engine` on the same data dir, as `corral` beside the app) shows in
//! the next listing, and so does a run's end.

use std::time::Duration;

use corral_core::TaskStatus;
use corral_engine::{Config, Engine};

use crate::runs::{task, wait};
use crate::{Fixture, s};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_shows_what_another_process_changed() {
    let f = Fixture::new().await;
    let other = Engine::open(Config::new(f.dir.path().join("data")))
        .await
        .expect("a second engine on the same data dir");
    let repo = f.repo("proj");
    let p = f.engine.add_project(s(&repo), None).await.expect("project");
    let p = f
        .engine
        .set_project_settings(p.id, &[("sandbox".into(), "local".into())])
        .await
        .expect("settings");
    let first = task(&f, &p, "First", "echo first > first.txt").await;
    let listed = f
        .engine
        .list_task_summaries(Some(p.id))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    // Listed again with nothing changed: the same.
    assert_eq!(
        f.engine
            .list_task_summaries(Some(p.id))
            .await
            .expect("list"),
        listed
    );
    // The other process adds a task after the first.
    let second = other
        .create_task(corral_engine::NewTask {
            project_id: p.id,
            title: "Second".into(),
            command: Some(vec!["true".into()]),
            after: vec![first],
            ..Default::default()
        })
        .await
        .expect("task")
        .task
        .id;
    let listed = f
        .engine
        .list_task_summaries(Some(p.id))
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    let second_view = listed.iter().find(|v| v.task.id == second).expect("listed");
    assert_eq!(second_view.depends_on, vec![first]);
    assert_eq!(second_view.status, TaskStatus::Backlog);
    // The other process runs the first task: its end shows here.
    let run = other.start_run(first).await.expect("start");
    wait(&f, run.id, Duration::from_secs(60)).await;
    let listed = f
        .engine
        .list_task_summaries(Some(p.id))
        .await
        .expect("list");
    let first_view = listed.iter().find(|v| v.task.id == first).expect("listed");
    assert_eq!(first_view.status, TaskStatus::Review, "{first_view:?}");
    // Merged by hand into the project branch (no database change): the task is done.
    let branch = other
        .run(run.id)
        .await
        .expect("run")
        .branch
        .expect("branch");
    let merged = std::process::Command::new("git")
        .args(["-C", s(&repo), "merge", "-q", "--no-edit", &branch])
        .status()
        .expect("git");
    assert!(merged.success());
    let listed = f
        .engine
        .list_task_summaries(Some(p.id))
        .await
        .expect("list");
    let first_view = listed.iter().find(|v| v.task.id == first).expect("listed");
    assert_eq!(first_view.status, TaskStatus::Done, "{first_view:?}");
}
