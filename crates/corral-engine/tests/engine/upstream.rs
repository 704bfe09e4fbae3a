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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_the_user_merged_meanwhile_is_skipped_as_already_there() {
    let f = Fixture::new().await;
    let p = local_project(&f).await;
    let a = task(&f, &p, "A", "echo a > a.txt").await;
    let b = task(&f, &p, "B", "test -f a.txt && echo b > b.txt").await;
    f.engine.add_dependency(b, a).await.expect("dependency");
    let ran_a = run_to_end(&f, a).await;
    assert_eq!(ran_a.state, RunState::Succeeded);
    // The user merges A's branch with their own git, on the checked-out main.
    let repo = f.dir.path().join("proj");
    let branch = ran_a.branch.clone().expect("branch");
    corral_testkit::git(&repo, &["merge", "-q", "--no-edit", &branch]);

    let ran_b = run_to_end(&f, b).await;
    assert_eq!(ran_b.state, RunState::Succeeded, "{ran_b:?}");
    let upstream = f.engine.run_upstream(ran_b.id).await.expect("upstream");
    assert_eq!(upstream.len(), 1);
    assert!(
        !upstream[0].merged,
        "already in the project branch: nothing to merge"
    );
    // A is done: its result is in the project branch.
    let a_view = f.engine.task(a).await.expect("task");
    assert_eq!(a_view.status, corral_core::TaskStatus::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_branch_deleted_by_hand_fails_the_dependant_saying_how_to_restore_it() {
    let f = Fixture::new().await;
    let p = local_project(&f).await;
    let a = task(&f, &p, "A", "echo a > a.txt").await;
    let b = task(&f, &p, "B", "echo b > b.txt").await;
    f.engine.add_dependency(b, a).await.expect("dependency");
    let ran_a = run_to_end(&f, a).await;
    let branch = ran_a.branch.clone().expect("branch");
    let commit = ran_a.result_commit.clone().expect("result");
    let repo = f.dir.path().join("proj");
    corral_testkit::git(&repo, &["branch", "-q", "-D", &branch]);
    // And git collects the commit: it is gone from the repository.
    corral_testkit::git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
    corral_testkit::git(&repo, &["gc", "-q", "--prune=now"]);

    let ran_b = run_to_end(&f, b).await;
    let failure = ran_b.state.failure().expect("failed").clone();
    assert_eq!(failure.kind, FailKind::UpstreamMissing, "{failure:?}");
    assert!(failure.message.contains(&branch), "{}", failure.message);
    assert!(
        failure
            .message
            .contains(&format!("git branch {branch} {commit}")),
        "{}",
        failure.message
    );
    assert!(
        !Path::new(&ran_b.checkout_path.clone().unwrap_or_default())
            .join("b.txt")
            .exists(),
        "B never ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_keeps_what_a_waiting_dependant_needs() {
    let f = Fixture::new().await;
    let p = local_project(&f).await;
    f.engine
        .set_project_settings(
            p.id,
            &[
                ("retention-runs".to_string(), "0".to_string()),
                ("retention-days".to_string(), "0".to_string()),
            ],
        )
        .await
        .expect("settings");
    let a = task(&f, &p, "A", "echo a > a.txt").await;
    let m = task(&f, &p, "M", "echo m > m.txt").await;
    let b = task(
        &f,
        &p,
        "B",
        "test -f a.txt && test -f m.txt && echo b > b.txt",
    )
    .await;
    f.engine.add_dependency(b, a).await.expect("dependency");
    f.engine.add_dependency(b, m).await.expect("dependency");
    let ran_a = run_to_end(&f, a).await;
    let ran_m = run_to_end(&f, m).await;
    // M is merged by Corral (the user is on another branch); A is not merged.
    let repo = f.dir.path().join("proj");
    corral_testkit::git(&repo, &["checkout", "-q", "-b", "side"]);
    f.engine.merge_run(ran_m.id).await.expect("merge M");
    corral_testkit::git(&repo, &["checkout", "-q", "main"]);
    tokio::time::sleep(Duration::from_millis(5)).await;

    let report = f.engine.gc(false).await.expect("gc");
    assert!(report.checkouts_removed.contains(&ran_a.id), "{report:?}");
    let a_branch = ran_a.branch.clone().expect("branch");
    assert!(
        !report.branches_removed.contains(&a_branch),
        "A's unmerged result stays for B: {report:?}"
    );
    assert!(
        corral_git::branch_exists(&repo, &a_branch).expect("branches"),
        "A's branch is still there"
    );
    // M's branch goes (its work is in main), and B still starts from both.
    let ran_b = run_to_end(&f, b).await;
    assert_eq!(ran_b.state, RunState::Succeeded, "{ran_b:?}");
    let checkout = ran_b.checkout_path.clone().expect("checkout");
    for file in ["a.txt", "m.txt", "b.txt"] {
        assert!(Path::new(&checkout).join(file).exists(), "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependants_diff_against_the_project_branch_shows_its_upstream_work_too() {
    let f = Fixture::new().await;
    let p = local_project(&f).await;
    let a = task(&f, &p, "A", "echo a > a.txt").await;
    let b = task(&f, &p, "B", "echo b > b.txt").await;
    f.engine.add_dependency(b, a).await.expect("dependency");
    run_to_end(&f, a).await;
    let run = run_to_end(&f, b).await;
    let paths = |files: Vec<corral_git::FileDiff>| {
        let mut p: Vec<String> = files.into_iter().map(|d| d.path).collect();
        p.sort();
        p
    };
    let own = f
        .engine
        .run_diff_against(run.id, corral_engine::DiffAgainst::RunBase, 0)
        .await
        .expect("diff");
    assert_eq!(paths(own), ["b.txt"]);
    let whole = f
        .engine
        .run_diff_against(run.id, corral_engine::DiffAgainst::ProjectBranch, 0)
        .await
        .expect("diff");
    assert_eq!(paths(whole), ["a.txt", "b.txt"]);
    let file = f
        .engine
        .run_file_diff_against(
            run.id,
            "a.txt",
            corral_engine::DiffAgainst::ProjectBranch,
            1 << 20,
        )
        .await
        .expect("file diff");
    assert!(file.is_some(), "a.txt differs from the project branch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_branch_ref_rewritten_in_the_checkout_does_not_change_the_diff() {
    let f = Fixture::new().await;
    let p = local_project(&f).await;
    let a = task(&f, &p, "A", "echo a > a.txt").await;
    // The sandbox points the checkout's idea of the project branch at its own result, which
    // would hide the upstream work from a diff taken against that ref.
    let b = task(
        &f,
        &p,
        "B",
        "echo b > b.txt; git add -A; git -c user.email=x@y -c user.name=x commit -qm b; \
         git update-ref refs/remotes/origin/main HEAD",
    )
    .await;
    f.engine.add_dependency(b, a).await.expect("dependency");
    run_to_end(&f, a).await;
    let run = run_to_end(&f, b).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    let mut paths: Vec<String> = f
        .engine
        .run_diff_against(run.id, corral_engine::DiffAgainst::ProjectBranch, 0)
        .await
        .expect("diff")
        .into_iter()
        .map(|d| d.path)
        .collect();
    paths.sort();
    assert_eq!(paths, ["a.txt", "b.txt"], "taken from the recorded start");
}
