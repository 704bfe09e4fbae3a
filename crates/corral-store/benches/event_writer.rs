//! EventWriter append rate and memory: 1M small events through the writer into a real SQLite
//! file, with the process's resident memory sampled along the way. Prints figures; asserts
//! nothing about speed. Run: `cargo bench -p corral-store --bench event_writer`.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use std::time::Instant;

use corral_core::{
    CreatedBy, OutputStream, Project, ProjectId, RepoSource, Run, RunEventBody, RunId, RunState,
    StepName, Task, TaskId, TaskKind, Timestamp, Workflow,
};
use corral_store::{
    EventWriter, NewRunEvent, ProjectMutation, RunEventQuery, RunMutation, Store, TaskMutation,
    WriterConfig,
};

const EVENTS: u64 = 1_000_000;

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

async fn seed(store: &Store, runs: usize) -> anyhow::Result<Vec<RunId>> {
    let project = Project {
        id: ProjectId::new(),
        name: "bench".into(),
        source: RepoSource::Local {
            path: "/tmp/bench".into(),
        },
        default_branch: Some("main".into()),
        workflow: Workflow::default(),
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    };
    ProjectMutation::insert(store.db(), &project).await?;
    let task = Task {
        id: TaskId::new(),
        project_id: project.id,
        title: "bench".into(),
        prompt: String::new(),
        runtime: None,
        model: None,
        command: None,
        kind: TaskKind::Work,
        parent: None,
        created_by: CreatedBy::Human,
        approval: corral_core::Approval::Approved,
        max_attempts: 1,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    };
    TaskMutation::insert(store.db(), &task).await?;
    let mut ids = Vec::new();
    for _ in 0..runs {
        let run = Run {
            state: RunState::Running,
            ..Run::queued(task.id, project.id, 1, Timestamp(0))
        };
        RunMutation::insert(store.db(), &run).await?;
        ids.push(run.id);
    }
    Ok(ids)
}

async fn scenario(label: &str, producers: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.db")).await?;
    let runs = seed(&store, producers).await?;
    let writer = EventWriter::spawn(store.db().clone(), WriterConfig::default());
    let rss_start = rss_kib("VmRSS:");
    let started = Instant::now();
    let per = EVENTS / producers as u64;
    let mut handles = Vec::new();
    for run_id in runs.clone() {
        let writer = writer.clone();
        handles.push(tokio::spawn(async move {
            let mut peak = 0;
            for i in 0..per {
                let event = NewRunEvent {
                    run_id,
                    at: Timestamp(i as i64),
                    body: RunEventBody::Output {
                        step: StepName::Agent,
                        stream: OutputStream::Stdout,
                        line: format!("compiling crate number {i} of the build"),
                        offset: None,
                    },
                };
                writer.append(event).await?;
                if i % 100_000 == 0 {
                    peak = peak.max(rss_kib("VmRSS:"));
                }
            }
            anyhow::Ok(peak)
        }));
    }
    let mut peak = 0;
    for h in handles {
        peak = peak.max(h.await??);
    }
    writer.flush().await?;
    let elapsed = started.elapsed();
    let rss_end = rss_kib("VmRSS:");
    let mut stored = 0;
    for run in &runs {
        stored += RunEventQuery::count(store.db(), *run).await?;
    }
    anyhow::ensure!(stored == per * producers as u64, "stored {stored} events");
    let db_bytes = std::fs::metadata(dir.path().join("bench.db"))?.len()
        + std::fs::metadata(dir.path().join("bench.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "event_writer/{label}: {stored} events in {:.2} s = {:.0} events/s; RSS start {} MiB, peak sampled {} MiB, end {} MiB (process high-water {} MiB); db {:.0} MiB",
        elapsed.as_secs_f64(),
        stored as f64 / elapsed.as_secs_f64(),
        rss_start / 1024,
        peak.max(rss_end) / 1024,
        rss_end / 1024,
        rss_kib("VmHWM:") / 1024,
        db_bytes as f64 / 1_048_576.0,
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        scenario("1 run", 1).await?;
        scenario("8 runs interleaved", 8).await
    })
}
