//! File-change latency through the whole engine: a file written in a live run's checkout until
//! its `file_changed` entry is in a committed batch (what the run view's stream receives),
//! p50/p95/p99 over 1,000 writes. Uses the local sandbox (no Docker needed; the watcher is the
//! same for both). Prints numbers; asserts nothing about speed.
//! Run: `cargo bench -p corral-engine --bench file_events`.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report
#![allow(clippy::disallowed_methods)] // their blocking calls stall no engine but their own

use corral_testkit::git;
use std::path::Path;
use std::time::{Duration, Instant};

use corral_core::{RunEventBody, RunState};
use corral_engine::{Config, Engine, NewTask};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn main() {
    let dir = tempfile::tempdir().expect("temp");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "x").expect("write");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "first"]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let engine = Engine::open(Config::new(dir.path().join("data")))
            .await
            .expect("engine");
        let project = engine
            .add_project(repo.to_str().expect("utf-8"), Some("bench"))
            .await
            .expect("project");
        engine
            .set_project_settings(project.id, &[("sandbox".to_string(), "local".to_string())])
            .await
            .expect("settings");
        let task = engine
            .create_task(NewTask {
                project_id: project.id,
                title: "wait".into(),
                command: Some(vec!["sleep".into(), "600".into()]),
                ..Default::default()
            })
            .await
            .expect("task")
            .task
            .id;
        let run = engine.start_run(task).await.expect("start");
        let checkout = loop {
            let r = engine.run(run.id).await.expect("run");
            if r.state == RunState::Running
                && let Some(path) = r.checkout_path
            {
                break path;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // Let the watcher's first rescan settle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut batches = engine.subscribe_run_events();
        let mut samples = Vec::with_capacity(1000);
        for i in 0..1000 {
            let name = format!("f{i}.txt");
            let start = Instant::now();
            std::fs::write(Path::new(&checkout).join(&name), "x").expect("write");
            'wait: loop {
                let batch = batches.recv().await.expect("batches");
                for event in batch.iter() {
                    if let RunEventBody::FileChanged { path, .. } = &event.body
                        && path == &name
                    {
                        break 'wait;
                    }
                }
            }
            samples.push(start.elapsed());
        }
        samples.sort();
        println!(
            "write in a live run's checkout -> committed file_changed entry, 1000 writes: \
             p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95),
            percentile(&samples, 0.99)
        );
        engine.cancel_run(run.id).await.expect("cancel");
        let start = Instant::now();
        while !engine.run(run.id).await.expect("run").state.is_terminal()
            && start.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}
