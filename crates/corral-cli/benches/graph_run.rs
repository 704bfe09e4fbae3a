//! A graph run of a random DAG: 200 custom-command tasks (each sleeps 0.1 s and writes a file),
//! `max-runs=4`, the local sandbox, scheduled by the engine in this process as the app does.
//! Prints the wall time against the ideal bound computed from the graph and the measured task
//! times (the longer of the critical path and the total work over 4 slots), the latency from an
//! upstream task's success to its dependant being started (p50/p95), and this process's peak
//! memory. Asserts nothing about speed.
//! Run: `cargo bench -p corral-cli --bench graph_run`.
#![allow(
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)] // benchmarks: a failure is the report

use std::collections::HashMap;
use std::time::{Duration, Instant};

use corral_core::{Run, TaskId};
use corral_engine::{Config, Engine, NewTask};

const TASKS: usize = 200;
const WIDTH: f64 = 4.0;

/// A small deterministic generator (xorshift), so every run of the bench has the same graph.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn pct(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let repo = dir.path().join("dag");
    corral_testkit::make_repo(&repo);
    let engine = Engine::open(Config::new(dir.path().join("data"))).await?;
    let project = engine
        .add_project(repo.to_str().expect("utf-8 path"), None)
        .await?;
    let settings = [("sandbox", "local"), ("max-runs", "4")];
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    engine.set_project_settings(project.id, &settings).await?;

    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut ids: Vec<TaskId> = Vec::with_capacity(TASKS);
    let mut deps: HashMap<TaskId, Vec<TaskId>> = HashMap::new();
    let mut edges = 0;
    for i in 0..TASKS {
        let mut after = Vec::new();
        if i > 0 {
            for _ in 0..rng.below(3) {
                let dep = ids[rng.below(i)];
                if !after.contains(&dep) {
                    after.push(dep);
                }
            }
        }
        edges += after.len();
        let task = engine
            .create_task(NewTask {
                project_id: project.id,
                title: format!("t{i:03}"),
                command: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    format!("sleep 0.1; echo {i} > f{i}.txt"),
                ]),
                after: after.clone(),
                ..Default::default()
            })
            .await?;
        ids.push(task.task.id);
        deps.insert(task.task.id, after);
    }
    let memory_before = peak_memory_kib();

    let started = Instant::now();
    engine.run_graph(project.id).await?;
    engine.start_scheduler();
    let deadline = started + Duration::from_secs(600);
    while engine.graph_running_since(project.id).await?.is_some() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the graph run did not end in 10 min"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = started.elapsed();

    let runs: HashMap<TaskId, Run> = engine
        .project_runs(project.id)
        .await?
        .into_iter()
        .map(|r| (r.task_id, r))
        .collect();
    let failed = runs
        .values()
        .filter(|r| r.state != corral_core::RunState::Succeeded)
        .inspect(|r| eprintln!("not succeeded: {}", r.state))
        .count();
    anyhow::ensure!(
        runs.len() == TASKS && failed == 0,
        "{} runs, {failed} not succeeded",
        runs.len()
    );
    // Each task's own time, from leaving the queue to its end.
    let took = |t: &TaskId| -> i64 {
        let r = &runs[t];
        r.finished_at.map_or(0, |f| f.0) - r.started_at.map_or(0, |s| s.0)
    };
    let work: i64 = ids.iter().map(took).sum();
    // The critical path, weighted by the measured times (ids are in topological order).
    let mut finish: HashMap<TaskId, i64> = HashMap::new();
    for id in &ids {
        let ready = deps[id].iter().map(|d| finish[d]).max().unwrap_or(0);
        finish.insert(*id, ready + took(id));
    }
    let critical = finish.values().copied().max().unwrap_or(0);
    // The same bound with each task at its nominal 0.1 s: what is left above it is Corral's
    // per-run cost (a checkout clone, the commit, publishing the branch, the watcher).
    let mut depth: HashMap<TaskId, usize> = HashMap::new();
    for id in &ids {
        let d = deps[id].iter().map(|d| depth[d]).max().unwrap_or(0) + 1;
        depth.insert(*id, d);
    }
    let longest = depth.values().copied().max().unwrap_or(0);
    let nominal = (longest as f64 * 100.0).max(TASKS as f64 * 100.0 / WIDTH);
    let bound = (critical as f64).max(work as f64 / WIDTH);
    // From the last upstream's success to the dependant's run being made (scheduled), and to it
    // leaving the queue (started: a slot was free).
    let mut scheduled = Vec::new();
    let mut started_after = Vec::new();
    for id in &ids {
        let Some(upstream_done) = deps[id]
            .iter()
            .filter_map(|d| runs[d].finished_at.map(|t| t.0))
            .max()
        else {
            continue;
        };
        let run = &runs[id];
        scheduled.push(run.created_at.0 - upstream_done);
        if let Some(s) = run.started_at {
            started_after.push(s.0 - upstream_done);
        }
    }
    scheduled.sort_unstable();
    started_after.sort_unstable();

    println!("graph run: {TASKS} tasks, {edges} dependencies, max-runs 4, local sandbox, 2 cores");
    println!(
        "  wall {:.2} s; ideal bound {:.2} s (critical path {:.2} s, work {:.2} s / 4); ratio {:.2}",
        wall.as_secs_f64(),
        bound / 1000.0,
        critical as f64 / 1000.0,
        work as f64 / 1000.0,
        wall.as_secs_f64() * 1000.0 / bound
    );
    println!(
        "  mean task time (queue left to end) {:.0} ms",
        work as f64 / TASKS as f64
    );
    println!(
        "  nominal bound at 0.1 s a task: {:.2} s (longest chain {longest} tasks); ratio {:.1}",
        nominal / 1000.0,
        wall.as_secs_f64() * 1000.0 / nominal
    );
    println!(
        "  upstream success -> dependant scheduled: p50 {} ms, p95 {} ms, max {} ms ({} dependants)",
        pct(&scheduled, 0.5),
        pct(&scheduled, 0.95),
        scheduled.last().copied().unwrap_or(0),
        scheduled.len()
    );
    println!(
        "  upstream success -> dependant started (slot taken): p50 {} ms, p95 {} ms",
        pct(&started_after, 0.5),
        pct(&started_after, 0.95)
    );
    println!(
        "  engine peak memory: {} MiB (before the graph run {} MiB)",
        peak_memory_kib().unwrap_or(0) / 1024,
        memory_before.unwrap_or(0) / 1024
    );
    engine.close().await?;
    Ok(())
}
