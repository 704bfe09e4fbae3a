//! Start-up of `corral task list` on a database with 10,000 tasks (and 5,000 dependencies):
//! wall time of the real binary, process start to exit, output to a pipe. Prints figures;
//! asserts nothing about speed. Run: `cargo bench -p corral-cli --bench task_list_startup`.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use corral_testkit::git;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use corral_core::{CreatedBy, Task, TaskId, TaskKind, Timestamp};
use corral_engine::{Config, Engine};
use corral_store::{Store, TaskMutation};

const TASKS: usize = 10_000;
const SAMPLES: usize = 30;

async fn seed(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo)?;
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("f"), "x")?;
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "x"]);
    let data = dir.join("data");
    let engine = Engine::open(Config::new(&data)).await?;
    let project = engine
        .add_project(repo.to_str().unwrap_or_default(), Some("bench"))
        .await?;
    engine.close().await?;

    let store = Store::open(&data.join("corral.db")).await?;
    let tasks: Vec<Task> = (0..TASKS)
        .map(|i| Task {
            id: TaskId::new(),
            project_id: project.id,
            title: format!("Task {i}: refactor module {i} and update its tests"),
            prompt: format!("Please refactor module {i}.\nKeep behaviour the same."),
            runtime: None,
            model: None,
            command: None,
            kind: TaskKind::Work,
            parent: None,
            created_by: CreatedBy::Human,
            approval: corral_core::Approval::Approved,
            max_attempts: 1,
            created_at: Timestamp(i as i64),
            updated_at: Timestamp(i as i64),
        })
        .collect();
    TaskMutation::insert_many(store.db(), &tasks).await?;
    // Every odd task runs after the even one before it.
    for pair in tasks.chunks(2) {
        if let [a, b] = pair {
            TaskMutation::add_edge(store.db(), b.id, a.id).await?;
        }
    }
    store.close().await?;
    Ok(data)
}

fn time(data: &std::path::Path, args: &[&str]) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES + 2 {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(args)
            .env("CORRAL_DATA_DIR", data)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()?;
        let took = started.elapsed();
        anyhow::ensure!(out.status.success(), "corral {args:?} failed");
        let lists_tasks = args.first() == Some(&"task");
        anyhow::ensure!(
            !lists_tasks || out.stdout.len() > TASKS * 40,
            "printed the whole list"
        );
        samples.push(took);
    }
    samples.drain(..2); // warm the page cache
    samples.sort();
    Ok(samples)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let data = rt.block_on(seed(dir.path()))?;
    if let Some(keep) = std::env::var_os("CORRAL_BENCH_KEEP") {
        println!("seeded data dir copied to {}", keep.to_string_lossy());
        Command::new("cp")
            .arg("-r")
            .arg(&data)
            .arg(&keep)
            .status()?;
    }
    for args in [
        vec!["project", "list"],
        vec!["task", "list", "--project", "bench"],
        vec!["task", "list"],
        vec!["task", "list", "--json"],
    ] {
        let s = time(&data, &args)?;
        println!(
            "task_list_startup/`corral {}` with {TASKS} tasks: min {:.1} ms, median {:.1} ms, p90 {:.1} ms, max {:.1} ms ({SAMPLES} runs)",
            args.join(" "),
            ms(s[0]),
            ms(s[s.len() / 2]),
            ms(s[s.len() * 9 / 10]),
            ms(s[s.len() - 1]),
        );
    }
    Ok(())
}
