//! Run figures against the real Docker daemon and the locally built busybox image. Prints
//! numbers; asserts nothing about speed. Run: `cargo bench -p corral-engine --bench runs`.
//!
//! - start overhead: `start_run` until the task's command runs, against a baseline of
//!   `git worktree add` + `docker create` + `docker start` + `docker exec`, timed the same way:
//!   the command prints the host's /proc/uptime (the kernel clock is shared with containers).
//! - log pump: a command printing 1,000,000 lines; lines persisted per second; peak RSS.
//! - 20 concurrent runs of a small command: wall time and the engine's CPU time.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report
#![allow(clippy::disallowed_methods)] // their blocking calls stall no engine but their own

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use corral_core::{RunEventBody, RunState, StepName};
use corral_engine::{Config, Engine, NewTask};

const IMAGE: &str = "corral-test/busybox:1";

fn sh(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "b")
        .env("GIT_AUTHOR_EMAIL", "b@example.com")
        .env("GIT_COMMITTER_NAME", "b")
        .env("GIT_COMMITTER_EMAIL", "b@example.com")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

fn proc_stat(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn repo(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    for i in 0..200 {
        std::fs::write(repo.join(format!("f{i}.txt")), format!("file {i}\n")).expect("write");
    }
    sh(&repo, "git", &["init", "-q", "-b", "main"]);
    sh(&repo, "git", &["add", "."]);
    sh(&repo, "git", &["commit", "-qm", "x"]);
    repo
}

async fn wait(engine: &Engine, run: corral_core::RunId) -> corral_core::Run {
    loop {
        let r = engine.run(run).await.expect("run");
        if r.state.is_terminal() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn first_line(engine: &Engine, run: corral_core::RunId) -> f64 {
    let events = engine.run_events(run, 0, 100_000).await.expect("events");
    events
        .iter()
        .find_map(|e| match &e.body {
            RunEventBody::Output {
                step: StepName::Agent,
                line,
                ..
            } => line.split_whitespace().next()?.parse().ok(),
            _ => None,
        })
        .expect("the command printed the uptime")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-test-image.sh");
    assert!(
        Command::new("bash")
            .arg(script)
            .arg(IMAGE)
            .status()
            .expect("runs")
            .success()
    );
    let dir = tempfile::tempdir().expect("temp");
    let repo = repo(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let engine = Engine::open(Config::new(dir.path().join("data"))).await.expect("engine");
        let project = engine.add_project(repo.to_str().expect("utf-8"), Some("bench")).await.expect("project");
        let settings = [("agent-image", IMAGE), ("max-runs", "20")];
        let pairs: Vec<(String, String)> = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        engine.set_project_settings(project.id, &pairs).await.expect("settings");
        let task = |title: &str, script: &str| NewTask {
            project_id: project.id,
            title: title.into(),
            command: Some(vec!["sh".into(), "-c".into(), script.into()]),
            ..Default::default()
        };

        // Start overhead.
        let uptime_task = engine.create_task(task("uptime", "cat /proc/uptime")).await.expect("task").task.id;
        let mut corral = Vec::new();
        let mut baseline = Vec::new();
        for i in 0..7 {
            let t0 = uptime();
            let run = engine.start_run(uptime_task).await.expect("start");
            let done = wait(&engine, run.id).await;
            assert_eq!(done.state, RunState::Succeeded, "{done:?}");
            corral.push(first_line(&engine, run.id).await - t0);

            let wt = dir.path().join(format!("wt{i}"));
            let t0 = uptime();
            sh(&repo, "git", &["worktree", "add", "-q", "-b", &format!("base-{i}"), wt.to_str().expect("utf-8"), "main"]);
            let id = sh(dir.path(), "docker", &["create", "--network", "none", "-v", &format!("{}:/workspace", wt.display()), IMAGE, "sleep", "infinity"]);
            sh(dir.path(), "docker", &["start", &id]);
            let printed = sh(dir.path(), "docker", &["exec", &id, "cat", "/proc/uptime"]);
            baseline.push(printed.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()).expect("uptime") - t0);
            sh(dir.path(), "docker", &["rm", "-f", &id]);
        }
        let (c, b) = (median(corral), median(baseline));
        println!("runs/start overhead: corral start_run -> command runs: median {:.0} ms; baseline (git worktree add + docker create/start/exec): median {:.0} ms; ratio {:.2}x (clock resolution 10 ms)", c * 1000.0, b * 1000.0, c / b);

        // Log pump.
        let pump = engine.create_task(task("pump", "seq 1 1000000")).await.expect("task").task.id;
        let rss_before = proc_stat("VmRSS:");
        let t = Instant::now();
        let run = engine.start_run(pump).await.expect("start");
        let done = wait(&engine, run.id).await;
        let took = t.elapsed().as_secs_f64();
        let peak = proc_stat("VmHWM:");
        assert_eq!(done.state, RunState::Succeeded, "{done:?}");
        // Count in pages, so the check does not hold a million events at once.
        let (mut lines, mut after) = (0usize, 0i64);
        loop {
            let page = engine.run_events(run.id, after, 10_000).await.expect("events");
            let Some(last) = page.last() else { break };
            after = last.seq;
            lines += page.iter().filter(|e| matches!(e.body, RunEventBody::Output { .. })).count();
        }
        println!(
            "runs/log pump: {lines} lines persisted in {took:.2} s (whole run) = {:.0} lines/s; engine RSS before {} MiB, peak during the run (VmHWM) {} MiB",
            lines as f64 / took,
            rss_before / 1024,
            peak / 1024
        );

        // 20 concurrent runs.
        let mut tasks = Vec::new();
        for i in 0..20 {
            tasks.push(engine.create_task(task(&format!("small {i}"), "echo hello > hello.txt; ls")).await.expect("task").task.id);
        }
        let cpu0 = cpu_seconds();
        let t = Instant::now();
        let mut runs = Vec::new();
        for t in &tasks {
            runs.push(engine.start_run(*t).await.expect("start").id);
        }
        for r in runs {
            let done = wait(&engine, r).await;
            assert_eq!(done.state, RunState::Succeeded, "{done:?}");
        }
        println!(
            "runs/20 concurrent runs: all succeeded in {:.2} s wall; engine CPU {:.2} s",
            t.elapsed().as_secs_f64(),
            cpu_seconds() - cpu0
        );
    });
}
