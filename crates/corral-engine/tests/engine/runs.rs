//! Runs against the real Docker daemon with the locally built busybox image.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use corral_core::{OutputStream, Project, RunEventBody, RunId, RunState, Runtime, StepName};
use corral_engine::NewTask;

use crate::{Fixture, git, s};

const IMAGE: &str = "corral-test/busybox:1";

pub fn test_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-test-image.sh");
        let ok = std::process::Command::new("bash")
            .arg(script)
            .arg(IMAGE)
            .status()
            .expect("runs")
            .success();
        assert!(ok, "building the test image failed");
    });
}

async fn project(f: &Fixture, settings: &[(&str, &str)]) -> Project {
    test_image();
    let repo = f.repo("proj");
    let p = f.engine.add_project(s(&repo), None).await.expect("project");
    let mut pairs = vec![("agent-image".to_string(), IMAGE.to_string())];
    pairs.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    f.engine
        .set_project_settings(p.id, &pairs)
        .await
        .expect("settings")
}

pub async fn task(f: &Fixture, p: &Project, title: &str, script: &str) -> corral_core::TaskId {
    let new = NewTask {
        project_id: p.id,
        title: title.into(),
        command: Some(vec!["sh".into(), "-c".into(), script.into()]),
        ..Default::default()
    };
    f.engine.create_task(new).await.expect("task").task.id
}

pub async fn wait(f: &Fixture, run: RunId, limit: Duration) -> corral_core::Run {
    let start = Instant::now();
    loop {
        let r = f.engine.run(run).await.expect("run");
        if r.state.is_terminal() {
            return r;
        }
        assert!(
            start.elapsed() < limit,
            "run still {} after {limit:?}",
            r.state
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn outputs(f: &Fixture, run: RunId, step: StepName) -> Vec<(OutputStream, String)> {
    f.engine
        .run_events(run, 0, 1_000_000)
        .await
        .expect("events")
        .into_iter()
        .filter_map(|e| match e.body {
            RunEventBody::Output {
                step: s,
                stream,
                line,
                ..
            } if s == step => Some((stream, line)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_commits_its_work_on_its_branch_and_records_every_line() {
    let f = Fixture::new().await;
    let p = project(
        &f,
        &[
            ("setup", "echo preparing"),
            ("verify", "test -f out/result.txt"),
        ],
    )
    .await;
    let t = task(&f, &p, "Write a result", "mkdir -p out; i=0; while [ $i -lt 500 ]; do echo line $i; i=$((i+1)); done; echo warn >&2; echo done > out/result.txt").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    assert_eq!(run.exit_code, Some(0));

    let agent = outputs(&f, run.id, StepName::Agent).await;
    let stdout: Vec<&str> = agent
        .iter()
        .filter(|(s, _)| *s == OutputStream::Stdout)
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(stdout.len(), 500);
    assert!(
        stdout
            .iter()
            .enumerate()
            .all(|(i, l)| *l == format!("line {i}")),
        "every line, in order"
    );
    assert_eq!(
        agent
            .iter()
            .filter(|(s, _)| *s == OutputStream::Stderr)
            .count(),
        1
    );
    assert_eq!(
        outputs(&f, run.id, StepName::Setup).await,
        vec![(OutputStream::Stdout, "preparing".to_string())]
    );

    // The branch is in the user's repository with the file; their own branch is untouched.
    let repo = f.dir.path().join("proj");
    let branch = run.branch.clone().expect("branch");
    assert!(branch.starts_with("corral/write-a-result-"), "{branch}");
    let shown = std::process::Command::new("git")
        .args(["show", &format!("{branch}:out/result.txt")])
        .current_dir(&repo)
        .output()
        .expect("git");
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "done\n");
    assert!(
        !repo.join("out").exists(),
        "the user's working tree is untouched"
    );
    git(&repo, &["diff", "--quiet", "HEAD"]);

    let diff = f.engine.run_diff(run.id, 1 << 20).await.expect("diff");
    assert_eq!(
        diff.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(),
        ["out/result.txt"]
    );
    // The container is gone; the task shows the result for review.
    let container = run.container_id.clone().expect("container id");
    let sandbox = corral_sandbox::DockerSandbox::connect(None)
        .await
        .expect("docker");
    assert!(!sandbox.is_running(&container).await.expect("inspect"));
    assert_eq!(
        f.engine.task(t).await.expect("task").status,
        corral_core::TaskStatus::Review
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_setup_command_and_verify_each_fail_the_run_with_their_reason() {
    let f = Fixture::new().await;
    let p = project(&f, &[("setup", "exit 3")]).await;
    let t = task(&f, &p, "A", "true").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(
        run.state,
        RunState::Failed {
            reason: corral_core::FailReason::new(
                corral_core::FailKind::SetupFailed,
                "the setup command exited with 3"
            )
        }
    );

    let p = f
        .engine
        .set_project_settings(
            p.id,
            &[
                ("setup".into(), "".into()),
                ("verify".into(), "echo checking; exit 2".into()),
            ],
        )
        .await
        .expect("settings");
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(
        run.state,
        RunState::Failed {
            reason: corral_core::FailReason::new(
                corral_core::FailKind::VerifyFailed,
                "checks failed: `verify` (exited with 2)"
            )
        }
    );
    assert_eq!(
        outputs(&f, run.id, StepName::Verify).await,
        vec![(OutputStream::Stdout, "checking".to_string())]
    );
    assert_eq!(run.attempt, 2);

    let t2 = task(&f, &p, "B", "echo bad input >&2; exit 5").await;
    let run = f.engine.start_run(t2).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(
        run.state,
        RunState::Failed {
            reason: corral_core::FailReason::new(
                corral_core::FailKind::CommandExit,
                "the task's command exited with 5"
            )
        }
    );
    assert_eq!(run.exit_code, Some(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_step_promptly_and_keeps_the_logs() {
    let f = Fixture::new().await;
    let p = project(&f, &[]).await;
    let t = task(&f, &p, "Slow", "echo started; sleep 60; echo never").await;
    let run = f.engine.start_run(t).await.expect("start");
    until_line(&f, run.id, "started", Duration::from_secs(30)).await;
    let asked = Instant::now();
    f.engine.cancel_run(run.id).await.expect("cancel");
    let run = wait(&f, run.id, Duration::from_secs(20)).await;
    assert_eq!(run.state, RunState::Cancelled);
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "prompt: {:?}",
        asked.elapsed()
    );
    assert_eq!(
        outputs(&f, run.id, StepName::Agent).await,
        vec![(OutputStream::Stdout, "started".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_runs_wait_in_queued_for_the_projects_limit() {
    let f = Fixture::new().await;
    let p = project(&f, &[("max-runs", "1")]).await;
    let a = task(&f, &p, "A", "sleep 1; echo a").await;
    let b = task(&f, &p, "B", "echo b").await;
    let run_a = f.engine.start_run(a).await.expect("start a");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run_b = f.engine.start_run(b).await.expect("start b");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        f.engine.run(run_b.id).await.expect("b").state,
        RunState::Queued,
        "b waits for a's slot"
    );
    let run_a = wait(&f, run_a.id, Duration::from_secs(60)).await;
    let run_b = wait(&f, run_b.id, Duration::from_secs(60)).await;
    assert_eq!(
        (run_a.state.clone(), run_b.state.clone()),
        (RunState::Succeeded, RunState::Succeeded)
    );
    assert!(run_b.started_at.expect("b started") >= run_a.finished_at.expect("a finished"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_output_is_recorded_not_fatal_and_only_custom_tasks_can_run_yet() {
    let f = Fixture::new().await;
    let p = project(&f, &[]).await;
    // Invalid UTF-8, a 10 MB line, and a last line without a newline.
    let t = task(&f, &p, "Odd", "printf 'bad \\377 byte\\n'; head -c 10485760 /dev/zero | tr '\\0' x; echo; printf 'no newline'").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    let lines = outputs(&f, run.id, StepName::Agent).await;
    assert!(
        lines[0].1.starts_with("bad ") && lines[0].1.contains('\u{FFFD}'),
        "{:?}",
        lines[0]
    );
    assert_eq!(
        lines.iter().filter(|(_, l)| l.starts_with("xxx")).count(),
        10,
        "10 MB in 1 MiB pieces"
    );
    assert_eq!(lines.last().map(|(_, l)| l.as_str()), Some("no newline"));

    let agent_task = f
        .engine
        .create_task(NewTask {
            project_id: p.id,
            title: "Agent".into(),
            runtime: Some(Runtime::ClaudeCode),
            ..Default::default()
        })
        .await
        .expect("task");
    let err = f
        .engine
        .start_run(agent_task.task.id)
        .await
        .expect_err("not yet");
    assert_eq!(err.kind().as_str(), "not_runnable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_a_succeeded_run_makes_its_task_done_and_is_refused_when_unsafe() {
    let f = Fixture::new().await;
    let p = project(&f, &[]).await;
    let t = task(
        &f,
        &p,
        "Add a file",
        "echo merged > merged.txt && echo more >> README",
    )
    .await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(run.state, RunState::Succeeded);

    // The user has main checked out and has changed README, which the run changed too: git
    // refuses, naming it, and nothing changes.
    let repo = f.dir.path().join("proj");
    std::fs::write(repo.join("README"), "my own words").expect("write");
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let err = f
        .engine
        .merge_run(run.id)
        .await
        .expect_err("the user's changes are in the way");
    assert_eq!(err.kind().as_str(), "merge_blocked_by_changes");
    assert!(err.to_string().contains("README"), "{err}");
    assert!(err.fix().expect("fix").contains("stash"), "{:?}", err.fix());
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head, "nothing moved");
    assert_eq!(
        std::fs::read_to_string(repo.join("README")).expect("read"),
        "my own words"
    );
    assert!(!repo.join("merged.txt").exists());

    // Changes to other files are no obstacle: merged where the user is, their work kept.
    git(&repo, &["checkout", "--", "README"]);
    std::fs::write(repo.join("notes.txt"), "mine").expect("write");
    let merged = f.engine.merge_run(run.id).await.expect("merge");
    assert_eq!(
        merged.merged_commit, run.result_commit,
        "a fast-forward to the run's result"
    );
    assert_eq!(
        f.engine.task(t).await.expect("task").status,
        corral_core::TaskStatus::Done
    );
    let shown = std::process::Command::new("git")
        .args(["show", "main:merged.txt"])
        .current_dir(&repo)
        .output()
        .expect("git");
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "merged\n");
    // In the user's working tree too, beside their own untracked file.
    assert_eq!(
        std::fs::read_to_string(repo.join("merged.txt")).expect("merged"),
        "merged\n"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("notes.txt")).expect("notes"),
        "mine"
    );

    let bad = task(&f, &p, "Fails", "exit 1").await;
    let failed = f.engine.start_run(bad).await.expect("start");
    let failed = wait(&f, failed.id, Duration::from_secs(60)).await;
    assert_eq!(
        f.engine
            .merge_run(failed.id)
            .await
            .expect_err("failed run")
            .kind()
            .as_str(),
        "not_mergeable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_style_squash_puts_a_run_in_as_one_commit_named_after_its_task() {
    let f = Fixture::new().await;
    let p = project(&f, &[("merge-style", "squash")]).await;
    let t = task(&f, &p, "Two files", "echo a > a.txt && echo b > b.txt").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(run.state, RunState::Succeeded);
    let repo = f.dir.path().join("proj");
    let before = git(&repo, &["rev-parse", "HEAD"]);
    let merged = f.engine.merge_run(run.id).await.expect("merge");
    assert_ne!(
        merged.merged_commit, run.result_commit,
        "a new commit, not the run's"
    );
    assert_eq!(
        git(&repo, &["rev-parse", "HEAD^"]),
        before,
        "one commit on main"
    );
    assert_eq!(git(&repo, &["log", "-1", "--format=%s"]), "Two files");
    assert!(repo.join("a.txt").exists() && repo.join("b.txt").exists());
    assert_eq!(
        f.engine.task(t).await.expect("task").status,
        corral_core::TaskStatus::Done,
        "the squashed result counts as merged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_follows_retention_fails_closed_and_never_touches_live_runs() {
    let f = Fixture::new().await;
    let p = project(&f, &[("retention-runs", "1"), ("retention-days", "0")]).await;
    let t = task(&f, &p, "Small", "echo x > x.txt").await;
    let mut done = Vec::new();
    for _ in 0..3 {
        let r = f.engine.start_run(t).await.expect("start");
        done.push(wait(&f, r.id, Duration::from_secs(60)).await);
    }
    let repo = f.dir.path().join("proj");
    git(&repo, &["checkout", "-q", "-b", "side"]);
    f.engine
        .merge_run(done[0].id)
        .await
        .expect("merge the oldest");
    let slow = task(&f, &p, "Slow", "sleep 30").await;
    let live = f.engine.start_run(slow).await.expect("start");
    let start = Instant::now();
    while f.engine.run(live.id).await.expect("run").state != RunState::Running {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the live run never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let checkout =
        |r: &corral_core::Run| std::path::PathBuf::from(r.checkout_path.clone().expect("checkout"));

    let dry = f
        .engine
        .gc_with_stuck_limit(true, Duration::ZERO)
        .await
        .expect("dry run");
    assert_eq!(
        dry.checkouts_removed,
        vec![done[1].id, done[0].id],
        "all but the newest finished run"
    );
    assert!(dry.bytes_reclaimed > 0);
    assert!(
        dry.stuck_runs_failed.is_empty(),
        "a run driven here is never stuck"
    );
    assert!(
        checkout(&done[0]).exists() && checkout(&done[1]).exists(),
        "a dry run removes nothing"
    );

    let real = f
        .engine
        .gc_with_stuck_limit(false, Duration::ZERO)
        .await
        .expect("gc");
    assert_eq!(real.checkouts_removed, dry.checkouts_removed);
    assert!(!checkout(&done[0]).exists() && !checkout(&done[1]).exists());
    assert!(
        checkout(&done[2]).exists(),
        "the newest finished run is kept"
    );
    let live_now = f.engine.run(live.id).await.expect("run");
    assert!(
        checkout(&live_now).exists() && live_now.state == RunState::Running,
        "live runs are untouched"
    );
    // Only the merged run's branch goes; the unmerged one stays for review.
    assert_eq!(
        real.branches_removed,
        vec![done[0].branch.clone().expect("branch")]
    );
    let branches = std::process::Command::new("git")
        .args(["branch", "--list", "corral/*"])
        .current_dir(&repo)
        .output()
        .expect("git");
    let branches = String::from_utf8_lossy(&branches.stdout);
    assert!(
        !branches.contains(done[0].branch.as_deref().expect("b"))
            && branches.contains(done[1].branch.as_deref().expect("b")),
        "{branches}"
    );
    f.engine.cancel_run(live.id).await.expect("cancel");
    wait(&f, live.id, Duration::from_secs(20)).await;
}

/// Waits until the task's step has printed `line`.
pub async fn until_line(f: &Fixture, run: RunId, line: &str, limit: Duration) {
    let start = Instant::now();
    while !outputs(f, run, StepName::Agent)
        .await
        .iter()
        .any(|(_, l)| l == line)
    {
        if start.elapsed() >= limit {
            let run = f.engine.run(run).await.map(|r| r.state.to_string());
            panic!("the step never printed {line:?} (run: {run:?})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn until_running(f: &Fixture, run: RunId) {
    let start = Instant::now();
    while f.engine.run(run).await.expect("run").state != RunState::Running {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the run never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_or_project_with_a_live_run_cannot_be_deleted() {
    let f = Fixture::new().await;
    let p = project(&f, &[]).await;
    let t = task(&f, &p, "Slow", "sleep 30").await;
    let run = f.engine.start_run(t).await.expect("start");
    until_running(&f, run.id).await;
    let err = f.engine.delete_task(t).await.expect_err("live run");
    assert_eq!(err.kind().as_str(), "task_busy");
    let err = f.engine.remove_project(p.id).await.expect_err("live run");
    assert_eq!(err.kind().as_str(), "project_busy");
    assert!(err.to_string().contains("1 live run"), "{err}");
    f.engine.cancel_run(run.id).await.expect("cancel");
    wait(&f, run.id, Duration::from_secs(20)).await;
    f.engine
        .delete_task(t)
        .await
        .expect("deletable once finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_folder_removed_by_hand_fails_the_run_cleanly() {
    let f = Fixture::new().await;
    let p = project(&f, &[]).await;
    let t = task(&f, &p, "Slow", "echo begun; sleep 30").await;
    let run = f.engine.start_run(t).await.expect("start");
    until_running(&f, run.id).await;
    let run_dir = f.dir.path().join("data/runs").join(run.id.to_string());
    assert!(run_dir.is_dir(), "{}", run_dir.display());
    // As a person's `rm -rf` would, again while Corral is still writing into it.
    let mut removed = std::fs::remove_dir_all(&run_dir);
    for _ in 0..50 {
        if removed.is_ok() || !run_dir.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        removed = std::fs::remove_dir_all(&run_dir);
    }
    assert!(!run_dir.exists(), "removed by hand: {removed:?}");
    let done = wait(&f, run.id, Duration::from_secs(20)).await;
    match done.state {
        RunState::Failed { reason } => assert!(
            // Removed while the step ran, or (when the removal wins the race) before it began.
            reason.message.contains("was removed while the step ran")
                || reason
                    .message
                    .contains("was removed before the agent step started"),
            "{reason}"
        ),
        other => panic!("expected a failed run, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_printing_a_million_lines_is_recorded_whole_and_in_order() {
    let f = Fixture::new().await;
    let p = project(&f, &[]).await;
    let t = task(&f, &p, "Loud", "seq 1 1000000").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(300)).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    let mut expected = 1u64;
    let mut from = 0;
    loop {
        let page = f
            .engine
            .run_events(run.id, from, 50_000)
            .await
            .expect("events");
        let Some(last) = page.last() else { break };
        from = last.seq;
        for e in &page {
            if let RunEventBody::Output { line, .. } = &e.body {
                assert_eq!(line, &expected.to_string(), "line {expected}");
                expected += 1;
            }
        }
    }
    assert_eq!(expected - 1, 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dockerfile_in_the_repository_is_built_with_progress_and_a_broken_one_fails_the_run() {
    let f = Fixture::new().await;
    test_image();
    let repo = f.repo("proj");
    std::fs::create_dir_all(repo.join("env")).expect("mkdir");
    std::fs::write(
        repo.join("env/Dockerfile"),
        format!("FROM {IMAGE}\nCOPY hello.txt /hello.txt\nRUN echo built > /built-marker\n"),
    )
    .expect("write");
    std::fs::write(repo.join("env/hello.txt"), "hello from the context\n").expect("write");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "dockerfile"]);
    let p = f.engine.add_project(s(&repo), None).await.expect("project");
    let p = f
        .engine
        .set_project_settings(
            p.id,
            &[
                ("dockerfile".to_string(), "env/Dockerfile".to_string()),
                ("build-network".to_string(), "none".to_string()),
            ],
        )
        .await
        .expect("settings");
    let t = task(&f, &p, "In built image", "cat /built-marker /hello.txt").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(120)).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    assert_eq!(
        outputs(&f, run.id, StepName::Agent).await,
        vec![
            (OutputStream::Stdout, "built".to_string()),
            (OutputStream::Stdout, "hello from the context".to_string()),
        ]
    );
    let notes: Vec<String> = f
        .engine
        .run_events(run.id, 0, 10_000)
        .await
        .expect("events")
        .into_iter()
        .filter_map(|e| match e.body {
            RunEventBody::Note { text } => Some(text),
            _ => None,
        })
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("building corral-build/")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("RUN echo built")),
        "the build's own lines are in the log: {notes:?}"
    );

    // A new commit builds a new image; cleanup then removes the older build, not the newer.
    let tag_of = |run: &corral_core::Run| {
        let base = run.base_commit.clone().expect("base commit");
        format!("corral-build/{}:{}", p.id, &base[..12])
    };
    let first = tag_of(&run);
    // Docker dates images to the second: the next build must be a later one to be the newer.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(repo.join("env/hello.txt"), "hello again\n").expect("write");
    git(&repo, &["commit", "-qam", "context changed"]);
    let again = f.engine.start_run(t).await.expect("start");
    let again = wait(&f, again.id, Duration::from_secs(120)).await;
    assert_eq!(again.state, RunState::Succeeded, "{again:?}");
    let second = tag_of(&again);
    assert_ne!(first, second);
    let docker = corral_sandbox::DockerSandbox::connect(None)
        .await
        .expect("docker");
    assert!(docker.has_image(&first).await.expect("inspect"));
    let report = f.engine.gc(false).await.expect("gc");
    assert!(report.images_removed.contains(&first), "{report:?}");
    assert!(!report.images_removed.contains(&second), "{report:?}");
    assert!(!docker.has_image(&first).await.expect("inspect"));
    assert!(docker.has_image(&second).await.expect("inspect"));

    std::fs::write(
        repo.join("env/Dockerfile"),
        format!("FROM {IMAGE}\nRUN echo broken; exit 3\n"),
    )
    .expect("write");
    git(&repo, &["commit", "-qam", "broken"]);
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(120)).await;
    match run.state {
        RunState::Failed { reason } => {
            assert!(
                reason.message.starts_with("building image `corral-build/"),
                "{reason}"
            );
            assert!(
                reason.message.contains("returned a non-zero code: 3"),
                "{reason}"
            );
        }
        other => panic!("expected failed, got {other}"),
    }
}

fn file_changes(events: &[corral_core::RunEvent]) -> Vec<(String, corral_core::FileChangeKind)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            RunEventBody::FileChanged { path, change, .. } => Some((path.clone(), *change)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_the_command_touches_are_recorded_live_and_announced() {
    use corral_core::FileChangeKind::{Created, Removed};
    let f = Fixture::new().await;
    let p = project(&f, &[]).await;
    let mut bus = f.engine.subscribe();
    let t = task(
        &f,
        &p,
        "Touch files",
        "echo a > a.txt; sleep 0.3; echo b >> a.txt; mkdir -p src; echo x > 'src/with space.rs'; \
         sleep 0.3; rm a.txt; echo keep > keep.txt; sleep 0.5",
    )
    .await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    let events = f
        .engine
        .run_events(run.id, 0, 100_000)
        .await
        .expect("events");
    let changes = file_changes(&events);
    let first = |path: &str| changes.iter().find(|(p, _)| p == path).map(|(_, k)| *k);
    assert_eq!(first("a.txt"), Some(Created), "{changes:?}");
    assert_eq!(
        changes
            .iter()
            .rev()
            .find(|(p, _)| p == "a.txt")
            .map(|(_, k)| *k),
        Some(Removed),
        "{changes:?}"
    );
    assert_eq!(first("src/with space.rs"), Some(Created), "{changes:?}");
    assert_eq!(first("keep.txt"), Some(Created), "{changes:?}");
    // Each change is also a file_changes row with the seq of its log entry.
    let rows = f.engine.run_file_changes(run.id).await.expect("rows");
    assert_eq!(rows.len(), changes.len());
    // The live announcements ended with the two files that differ from the base.
    let mut last_count = None;
    while let Ok(event) = bus.try_recv() {
        if let corral_engine::EngineEvent::FilesChanged {
            run_id, changed, ..
        } = event
            && run_id == run.id
        {
            last_count = Some(changed);
        }
    }
    assert_eq!(last_count, Some(2));
    let diff = f.engine.run_diff(run.id, 1 << 20).await.expect("diff");
    assert_eq!(
        diff.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(),
        ["keep.txt", "src/with space.rs"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_deleted_mid_run_fails_the_run_cleanly() {
    let f = Fixture::new().await;
    let p = project(&f, &[]).await;
    let t = task(&f, &p, "Slow", "echo begun; sleep 30").await;
    let run = f.engine.start_run(t).await.expect("start");
    // Mid-step: once the command has printed.
    until_line(&f, run.id, "begun", Duration::from_secs(30)).await;
    let checkout = f
        .engine
        .run(run.id)
        .await
        .expect("run")
        .checkout_path
        .expect("checkout");
    std::fs::remove_dir_all(&checkout).expect("rm -rf checkout");
    let done = wait(&f, run.id, Duration::from_secs(20)).await;
    match done.state {
        RunState::Failed { reason } => assert!(
            reason
                .message
                .contains("was deleted while the agent step ran"),
            "{reason}"
        ),
        other => panic!("expected a failed run, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_silent_past_the_inactivity_timeout_is_stopped_and_fails_saying_so() {
    let f = Fixture::new().await;
    let p = project(&f, &[("inactivity-timeout", "2s")]).await;
    let t = task(&f, &p, "Hangs", "echo started; sleep 60").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(40)).await;
    assert_eq!(
        run.state,
        RunState::Failed {
            reason: corral_core::FailReason::new(
                corral_core::FailKind::Inactivity,
                "the agent step printed nothing for 2 s and was stopped (project setting \
                     inactivity-timeout)"
            )
        }
    );
    assert_eq!(
        outputs(&f, run.id, StepName::Agent).await,
        vec![(OutputStream::Stdout, "started".to_string())]
    );
}
