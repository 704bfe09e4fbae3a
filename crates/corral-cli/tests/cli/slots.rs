//! `max-runs` holds across processes: the app's engine and `corral run` commands share one
//! data dir's run slots, and a changed limit applies to the next queued run without a restart.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corral_core::{RunState, TaskId};
use corral_engine::{Config, Engine};

use super::Env;

/// A task whose command marks its start and end in `log`, with a pause between.
fn add_marking_task(env: &Env, title: &str, log: &Path, pause: &str) {
    let script = format!(
        "echo start {title} >> '{log}'; sleep {pause}; echo end {title} >> '{log}'",
        log = log.display()
    );
    env.sh_task("r", title, &script);
}

/// The most tasks ever between their start and end marks at once.
fn most_at_once(log: &Path) -> usize {
    let text = std::fs::read_to_string(log).expect("marks");
    let (mut now, mut most) = (0usize, 0usize);
    for line in text.lines() {
        if line.starts_with("start ") {
            now += 1;
            most = most.max(now);
        } else if line.starts_with("end ") {
            now = now.saturating_sub(1);
        }
    }
    most
}

fn spawn_corral_run(env: &Env, title: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", title])
        .env("CORRAL_DATA_DIR", &env.data)
        .env_remove("CORRAL_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("corral run starts")
}

async fn task_id(engine: &Engine, title: &str) -> TaskId {
    engine
        .list_tasks(None)
        .await
        .expect("tasks")
        .into_iter()
        .find(|t| t.task.title == title)
        .map(|t| t.task.id)
        .expect("task")
}

async fn until_finished(engine: &Engine, titles: &[&str]) -> Vec<RunState> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut states = Vec::new();
        for title in titles {
            let id = task_id(engine, title).await;
            let runs = engine.list_runs(Some(id)).await.expect("runs");
            states.extend(runs.first().map(|r| r.state.clone()));
        }
        if states.len() == titles.len() && states.iter().all(RunState::is_terminal) {
            return states;
        }
        assert!(Instant::now() < deadline, "runs did not finish: {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_runs_holds_across_the_app_and_cli_processes_and_a_change_applies_at_once() {
    let env = Env::new();
    // Host processes: the marks of every run land in one file.
    env.project("r", &["sandbox=local", "max-runs=1"]);
    let log = env.dir.path().join("marks.log");
    for title in ["A", "B", "C", "D"] {
        add_marking_task(&env, title, &log, "1");
    }
    // The app's engine drives two runs while two `corral run` processes drive the others.
    let engine = Engine::open(Config::new(env.data.clone()))
        .await
        .expect("the app's engine");
    for title in ["A", "B"] {
        let id = task_id(&engine, title).await;
        engine.start_run(id).await.expect("start");
    }
    let mut children: Vec<Child> = ["C", "D"]
        .iter()
        .map(|t| spawn_corral_run(&env, t))
        .collect();
    let states = until_finished(&engine, &["A", "B", "C", "D"]).await;
    for child in &mut children {
        child.wait().expect("corral run ends");
    }
    assert!(
        states.iter().all(|s| *s == RunState::Succeeded),
        "{states:?}"
    );
    assert_eq!(
        most_at_once(&log),
        1,
        "max-runs=1 across both processes: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // E holds the only slot; F waits. Raising max-runs lets F start while E still runs.
    std::fs::remove_file(&log).expect("fresh marks");
    add_marking_task(&env, "E", &log, "4");
    add_marking_task(&env, "F", &log, "0");
    let e = engine
        .start_run(task_id(&engine, "E").await)
        .await
        .expect("start E");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("start E")) {
        assert!(Instant::now() < deadline, "E did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let f = engine
        .start_run(task_id(&engine, "F").await)
        .await
        .expect("start F");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        engine.run(f.id).await.expect("F").state,
        RunState::Queued,
        "F waits for E's slot"
    );
    env.ok(&["project", "set", "r", "max-runs=2"]);
    let states = until_finished(&engine, &["E", "F"]).await;
    assert!(
        states.iter().all(|s| *s == RunState::Succeeded),
        "{states:?}"
    );
    let marks = std::fs::read_to_string(&log).expect("marks");
    let f_ended = marks.find("end F").expect("F ended");
    let e_ended = marks.find("end E").expect("E ended");
    assert!(
        f_ended < e_ended,
        "F ran while E still held its slot once max-runs was 2: {marks}"
    );
    let e = engine.run(e.id).await.expect("E");
    assert_eq!(e.state, RunState::Succeeded);
    engine.close().await.expect("close");
}
