//! Runs in the local sandbox: host processes in the run's checkout, no Docker involved.

use std::time::{Duration, Instant};

use corral_core::{OutputStream, Project, RunEventBody, RunState, SandboxKind, StepName};

use crate::runs::{outputs, task, until_line, wait};
use crate::{Fixture, git, s};

/// A project on a fresh repository in the local sandbox, with `settings`.
pub(crate) async fn local_project(f: &Fixture, settings: &[(&str, &str)]) -> Project {
    let repo = f.repo("proj");
    let p = f.engine.add_project(s(&repo), None).await.expect("project");
    let mut pairs = vec![("sandbox".to_string(), "local".to_string())];
    pairs.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    f.engine
        .set_project_settings(p.id, &pairs)
        .await
        .expect("settings")
}

fn notes(events: &[corral_core::RunEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            RunEventBody::Note { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_run_works_in_its_checkout_on_the_host_and_says_it_is_not_isolated() {
    let f = Fixture::new().await;
    let p = local_project(
        &f,
        &[
            ("setup", "echo preparing"),
            ("verify", "test -f result.txt"),
            ("env.MARK", "m1"),
        ],
    )
    .await;
    let t = task(
        &f,
        &p,
        "Local work",
        "echo mark=$MARK; pwd; echo done > result.txt",
    )
    .await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    assert_eq!(run.sandbox_kind(), Some(SandboxKind::Local));
    assert!(
        run.container_id
            .as_deref()
            .is_some_and(|h| h.starts_with(corral_sandbox::LOCAL_HANDLE_PREFIX)),
        "{run:?}"
    );
    let checkout = run.checkout_path.clone().expect("checkout");
    assert_eq!(
        outputs(&f, run.id, StepName::Agent).await,
        vec![
            (OutputStream::Stdout, "mark=m1".to_string()),
            // A host process: it sees the checkout's host path, not /workspace.
            (OutputStream::Stdout, checkout.clone()),
        ]
    );
    assert_eq!(
        outputs(&f, run.id, StepName::Setup).await,
        vec![(OutputStream::Stdout, "preparing".to_string())]
    );
    let events = f
        .engine
        .run_events(run.id, 0, 10_000)
        .await
        .expect("events");
    assert!(
        notes(&events).iter().any(|n| n.contains("NOT isolated")),
        "{:?}",
        notes(&events)
    );
    let repo = f.dir.path().join("proj");
    let branch = run.branch.clone().expect("branch");
    let shown = std::process::Command::new("git")
        .args(["show", &format!("{branch}:result.txt")])
        .current_dir(&repo)
        .output()
        .expect("git");
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "done\n");
    git(&repo, &["diff", "--quiet", "HEAD"]);
}

fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie has ended; only its parent's bookkeeping is left.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_local_run_kills_its_processes_and_keeps_the_logs() {
    let f = Fixture::new().await;
    let p = local_project(&f, &[]).await;
    let t = task(&f, &p, "Slow", "echo $$ > pid.txt; echo started; sleep 60").await;
    let run = f.engine.start_run(t).await.expect("start");
    until_line(&f, run.id, "started", Duration::from_secs(30)).await;
    let checkout = f
        .engine
        .run(run.id)
        .await
        .expect("run")
        .checkout_path
        .expect("checkout");
    let pid: u32 = std::fs::read_to_string(std::path::Path::new(&checkout).join("pid.txt"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(!process_gone(pid), "the step runs");
    f.engine.cancel_run(run.id).await.expect("cancel");
    let run = wait(&f, run.id, Duration::from_secs(20)).await;
    assert_eq!(run.state, RunState::Cancelled);
    let start = Instant::now();
    while !process_gone(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "pid {pid} still runs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        outputs(&f, run.id, StepName::Agent).await,
        vec![(OutputStream::Stdout, "started".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_step_killed_from_outside_or_failing_fails_the_run_with_the_reason() {
    let f = Fixture::new().await;
    let p = local_project(&f, &[]).await;
    let t = task(&f, &p, "Fails", "echo bad >&2; exit 5").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(30)).await;
    assert_eq!(
        run.state,
        RunState::Failed {
            reason: corral_core::FailReason::new(
                corral_core::FailKind::CommandExit,
                "the task's command exited with 5"
            )
        }
    );
    assert_eq!(
        outputs(&f, run.id, StepName::Agent).await,
        vec![(OutputStream::Stderr, "bad".to_string())]
    );

    // Someone kills the step's whole process group: no exit status is ever written.
    let t = task(&f, &p, "Killed", "echo $$ > pid.txt; sleep 60").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run_dir = f
        .dir
        .path()
        .join("data/runs")
        .join(run.id.to_string())
        .join("sandbox");
    let start = Instant::now();
    let pgid = loop {
        if let Ok(text) = std::fs::read_to_string(run_dir.join("agent.pgid")) {
            break text.trim().to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let run = wait(&f, run.id, Duration::from_secs(20)).await;
    assert_eq!(
        run.state,
        RunState::Failed {
            reason: corral_core::FailReason::new(
                corral_core::FailKind::Sandbox,
                "the step's processes ended without recording an exit status"
            )
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_command_that_never_ends_is_stopped_at_verify_timeout() {
    let f = Fixture::new().await;
    let p = local_project(&f, &[("verify", "sleep 300"), ("verify-timeout", "2s")]).await;
    let t = task(&f, &p, "Quick", "echo done > done.txt").await;
    let run = f.engine.start_run(t).await.expect("start");
    // Stopped at the limit, not waited out (the command sleeps five minutes).
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    let failure = run.state.failure().expect("failed").clone();
    assert_eq!(
        failure.kind,
        corral_core::FailKind::VerifyFailed,
        "{failure:?}"
    );
    assert!(failure.message.contains("verify-timeout"), "{failure:?}");
}
