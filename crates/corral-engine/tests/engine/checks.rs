//! A project's checks (`verify=`, `verify.NAME=`) in the local sandbox: each its own step with a
//! recorded result, the result committed before them, and merging gated on them.

use std::time::{Duration, Instant};

use corral_core::{CheckOutcome, FailKind, Project, RunEventBody, RunState};

use crate::Fixture;
use crate::local_runs::local_project;
use crate::runs::{task, wait};

/// The project's repository on disk.
fn repo_of(p: &Project) -> std::path::PathBuf {
    match &p.source {
        corral_core::RepoSource::Local { path } => path.clone(),
        other => panic!("not local: {other:?}"),
    }
}

async fn events(f: &Fixture, run: corral_core::RunId) -> Vec<RunEventBody> {
    f.engine
        .run_events(run, 0, 2_000_000)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.body)
        .collect()
}

fn project_branch_file(repo: &std::path::Path, file: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["show", &format!("HEAD:{file}")])
        .current_dir(repo)
        .output()
        .expect("git show");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_checks_run_in_order_each_recorded_and_a_command_task_fails_without_retry() {
    let f = Fixture::new().await;
    let p = local_project(
        &f,
        &[
            ("verify", "echo unnamed"),
            ("verify.build", "test -f made.txt && echo built"),
            (
                "verify.test",
                "echo running tests; echo 1 failed >&2; exit 4",
            ),
            ("verify.lint", "echo clean"),
        ],
    )
    .await;
    let t = task(&f, &p, "Make", "echo work > made.txt").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    let failure = run.state.failure().expect("failed").clone();
    assert_eq!(failure.kind, FailKind::VerifyFailed, "{failure:?}");
    assert_eq!(failure.message, "checks failed: `test` (exited with 4)");
    let got: Vec<(&str, CheckOutcome, Option<i64>, &str)> = run
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.outcome, c.exit_code, c.tail.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("verify", CheckOutcome::Passed, Some(0), "unnamed"),
            ("build", CheckOutcome::Passed, Some(0), "built"),
            (
                "test",
                CheckOutcome::Failed,
                Some(4),
                "running tests\n1 failed"
            ),
            // Every check runs, so every failure is known at once.
            ("lint", CheckOutcome::Passed, Some(0), "clean"),
        ]
    );
    assert!(run.checks.iter().all(|c| c.attempt == 1));
    assert_eq!(run.verify_attempt, 1);
    let log = events(&f, run.id).await;
    let started: Vec<&str> = log
        .iter()
        .filter_map(|e| match e {
            RunEventBody::CheckStarted { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["verify", "build", "test", "lint"]);
    assert!(
        log.iter().any(|e| matches!(e, RunEventBody::Note { text }
            if text.contains("no retry: the task is a command"))),
        "{log:?}"
    );
    assert!(
        !log.iter()
            .any(|e| matches!(e, RunEventBody::VerifyRetry { .. })),
        "a command task is never retried"
    );
    // The result was committed before the checks and is kept: it merges only when forced.
    assert!(run.result_commit.is_some(), "{run:?}");
    let refused = f.engine.merge_run(run.id).await.expect_err("refused");
    assert_eq!(refused.kind(), corral_engine::ErrorKind::NotMergeable);
    assert!(refused.to_string().contains("--force"), "{refused}");
    let preview = f.engine.merge_preview(run.id).await.expect("preview");
    assert!(
        matches!(&preview.how, corral_engine::MergeHow::Refused(why) if why.contains("checks failed")),
        "{preview:?}"
    );
    let repo = repo_of(&p);
    assert_eq!(project_branch_file(&repo, "made.txt"), None);
    let merged = f.engine.force_merge_run(run.id).await.expect("forced");
    assert!(merged.merged_commit.is_some());
    assert_eq!(
        project_branch_file(&repo, "made.txt").as_deref(),
        Some("work\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_past_its_timeout_fails_and_the_next_check_still_runs() {
    let f = Fixture::new().await;
    let p = local_project(
        &f,
        &[
            ("verify.slow", "echo waiting; sleep 300"),
            ("verify.after", "echo after"),
            ("verify-timeout", "2s"),
        ],
    )
    .await;
    let t = task(&f, &p, "Quick", "echo done > done.txt").await;
    let started = Instant::now();
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert!(started.elapsed() < Duration::from_secs(60));
    let failure = run.state.failure().expect("failed").clone();
    assert_eq!(failure.kind, FailKind::VerifyFailed, "{failure:?}");
    assert!(
        failure
            .message
            .contains("`slow` (ran past verify-timeout and was stopped)"),
        "{failure:?}"
    );
    assert_eq!(run.checks.len(), 2, "{:?}", run.checks);
    assert_eq!(run.checks[0].outcome, CheckOutcome::TimedOut);
    assert_eq!(run.checks[0].exit_code, None);
    assert_eq!(run.checks[0].tail, "waiting");
    assert_eq!(run.checks[1].outcome, CheckOutcome::Passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_printing_a_million_lines_keeps_them_all_and_its_result_holds_only_the_tail() {
    let f = Fixture::new().await;
    let p = local_project(&f, &[("verify.noisy", "seq 1 1000000; exit 1")]).await;
    let t = task(&f, &p, "Noise", "true").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(600)).await;
    let check = &run.checks[0];
    assert_eq!(check.outcome, CheckOutcome::Failed);
    assert!(
        check.tail.ends_with("\n999999\n1000000"),
        "{}",
        &check.tail[check.tail.len().saturating_sub(80)..]
    );
    assert!(
        check.tail.chars().count() <= corral_core::check::TAIL_CHARS + 50,
        "{}",
        check.tail.len()
    );
    assert!(check.tail.lines().count() <= corral_core::check::TAIL_LINES + 1);
    let kept = events(&f, run.id)
        .await
        .into_iter()
        .filter(|e| {
            matches!(e, RunEventBody::Output { step, .. } if *step == corral_core::StepName::Verify)
        })
        .count();
    assert_eq!(kept, 1_000_000, "every line is in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_deletes_the_checkout_fails_the_run_and_the_result_committed_before_stays() {
    let f = Fixture::new().await;
    let p = local_project(&f, &[("verify.wreck", "rm -rf \"$PWD\"; sleep 5")]).await;
    let t = task(&f, &p, "Keep", "echo kept > kept.txt").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    let failure = run.state.failure().expect("failed").clone();
    assert_eq!(failure.kind, FailKind::RunFilesRemoved, "{failure:?}");
    assert!(failure.message.contains("checkout"), "{failure:?}");
    let commit = run.result_commit.clone().expect("result kept");
    let repo = repo_of(&p);
    let out = std::process::Command::new("git")
        .args(["show", &format!("{commit}:kept.txt")])
        .current_dir(&repo)
        .output()
        .expect("git show");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "kept\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_is_refused_while_the_checks_run_and_allowed_once_they_pass() {
    let f = Fixture::new().await;
    let p = local_project(
        &f,
        &[("verify.slow", "while [ ! -f go ]; do sleep 0.1; done")],
    )
    .await;
    let t = task(&f, &p, "Slow check", "echo x > x.txt").await;
    let run = f.engine.start_run(t).await.expect("start");
    let limit = Instant::now() + Duration::from_secs(60);
    let verifying = loop {
        let r = f.engine.run(run.id).await.expect("run");
        if r.state == RunState::Verifying {
            break r;
        }
        assert!(Instant::now() < limit, "never verifying: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let refused = f.engine.merge_run(run.id).await.expect_err("refused");
    assert!(
        refused.to_string().contains("its checks are running"),
        "{refused}"
    );
    let forced = f.engine.force_merge_run(run.id).await.expect_err("refused");
    assert!(forced.to_string().contains("its checks are running"));
    let preview = f.engine.merge_preview(run.id).await.expect("preview");
    assert!(
        matches!(preview.how, corral_engine::MergeHow::Refused(_)),
        "{preview:?}"
    );
    let checkout = verifying.checkout_path.clone().expect("checkout");
    std::fs::write(std::path::Path::new(&checkout).join("go"), b"").expect("go");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    f.engine.merge_run(run.id).await.expect("merged");
    let repo = repo_of(&p);
    assert_eq!(project_branch_file(&repo, "x.txt").as_deref(), Some("x\n"));
    assert_eq!(
        project_branch_file(&repo, "go"),
        None,
        "what a check leaves in the checkout is not the result"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merge_preview_reads_the_result_commit_whatever_became_of_the_run_branch() {
    let f = Fixture::new().await;
    let p = local_project(&f, &[("verify.ok", "true")]).await;
    let t = task(&f, &p, "Kept", "echo kept > kept.txt").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    let repo = repo_of(&p);
    let branch = run.branch.clone().expect("branch");
    crate::git(&repo, &["branch", "-D", &branch]);
    let preview = f.engine.merge_preview(run.id).await.expect("preview");
    assert_eq!(
        preview.how,
        corral_engine::MergeHow::FastForward,
        "{preview:?}"
    );
    f.engine.merge_run(run.id).await.expect("merged");
    assert_eq!(
        project_branch_file(&repo, "kept.txt").as_deref(),
        Some("kept\n")
    );
}
