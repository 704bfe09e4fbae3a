//! A dependant starts from its upstream tasks' work: a diamond (A; B and C after A; D after B
//! and C) gives D a checkout with A's, B's and C's work and a diff of its own work only; work
//! that does not merge fails D in preparing, saying where, with nothing half-merged.

use std::path::Path;
use std::time::Duration;

use corral_core::{FailKind, Project, RunState, TaskId};

use crate::runs::{task, wait};
use crate::{Fixture, s};

async fn local_project(f: &Fixture) -> Project {
    let repo = f.repo("proj");
    let p = f.engine.add_project(s(&repo), None).await.expect("project");
    f.engine
        .set_project_settings(p.id, &[("sandbox".to_string(), "local".to_string())])
        .await
        .expect("settings")
}

async fn run_to_end(f: &Fixture, t: TaskId) -> corral_core::Run {
    let run = f.engine.start_run(t).await.expect("start");
    wait(f, run.id, Duration::from_secs(60)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependant_starts_from_the_work_of_every_task_it_runs_after() {
    let f = Fixture::new().await;
    let p = local_project(&f).await;
    let a = task(&f, &p, "A", "echo a > a.txt").await;
    let b = task(&f, &p, "B", "test -f a.txt && echo b > b.txt").await;
    let c = task(&f, &p, "C", "test -f a.txt && echo c > c.txt").await;
    let d = task(
        &f,
        &p,
        "D",
        "test -f a.txt && test -f b.txt && test -f c.txt && echo d > d.txt",
    )
    .await;
    for (t, after) in [(b, a), (c, a), (d, b), (d, c)] {
        f.engine.add_dependency(t, after).await.expect("dependency");
    }
    for t in [a, b, c] {
        let run = run_to_end(&f, t).await;
        assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    }
    let run = run_to_end(&f, d).await;
    assert_eq!(
        run.state,
        RunState::Succeeded,
        "D saw A's, B's and C's files: {run:?}"
    );
    let checkout = run.checkout_path.clone().expect("checkout");
    for file in ["a.txt", "b.txt", "c.txt", "d.txt"] {
        assert!(Path::new(&checkout).join(file).exists(), "{file}");
    }
    // Its diff is its own work: the base is the merged upstream work.
    let diff = f.engine.run_diff(run.id, 0).await.expect("diff");
    let paths: Vec<&str> = diff.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["d.txt"]);
    // A came in through B (already there when C was merged); each upstream is recorded.
    let upstream = f.engine.run_upstream(run.id).await.expect("upstream");
    let tasks: Vec<TaskId> = upstream.iter().map(|u| u.task).collect();
    assert_eq!(tasks, [a, b, c]);
    assert!(upstream.iter().any(|u| u.merged));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_work_that_conflicts_fails_the_dependant_naming_the_paths() {
    let f = Fixture::new().await;
    let p = local_project(&f).await;
    let b = task(&f, &p, "B", "echo from-b > shared.txt").await;
    let c = task(&f, &p, "C", "echo from-c > shared.txt").await;
    let d = task(&f, &p, "D", "echo d > d.txt").await;
    for (t, after) in [(d, b), (d, c)] {
        f.engine.add_dependency(t, after).await.expect("dependency");
    }
    for t in [b, c] {
        assert_eq!(run_to_end(&f, t).await.state, RunState::Succeeded);
    }
    let run = run_to_end(&f, d).await;
    let RunState::Failed { reason } = &run.state else {
        panic!("expected a failed run, got {}", run.state);
    };
    assert_eq!(reason.kind, FailKind::UpstreamConflict, "{reason}");
    assert!(reason.message.contains("shared.txt"), "{reason}");
    assert!(reason.message.contains("`C`"), "names the task: {reason}");
    assert!(
        run.started_at.is_some() && run.exit_code.is_none(),
        "failed before its command"
    );
}
