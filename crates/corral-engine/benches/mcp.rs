//! What a run's MCP server costs (issue 16): the round trip of `list_tasks` on a 1,000-task
//! project through the relay (p50/p95), the relay's memory, and 20 runs calling tools at once.
//! The relay is the real binary (`corral-relay link`, as Corral starts it in a container) run
//! here as a child process whose stdin/stdout are the link; the client speaks newline-delimited
//! JSON-RPC to its MCP port on 127.0.0.1, as `corral-relay mcp` does for an agent. Prints
//! numbers; asserts nothing about them.
//!
//!   cargo bench -p corral-engine --bench mcp
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::cast_possible_truncation
)] // a benchmark: a failure is the report
#![allow(clippy::disallowed_methods)] // its blocking calls stall no engine but its own

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use corral_core::{Project, RunId, RunState};
use corral_engine::{Config, Engine, NewTask};
use corral_relay::{Mux, Role, Service};
use corral_testkit::percentile_ms;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

const TASKS: usize = 1000;
const CALLS: usize = 300;
const RUNS: usize = 20;
const CALLS_PER_RUN: usize = 50;

/// A JSON-RPC client on any byte stream, after the MCP handshake.
struct Client<R, W> {
    lines: tokio::io::Lines<BufReader<R>>,
    writer: W,
    id: u64,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Client<R, W> {
    async fn new(reader: R, writer: W) -> Self {
        let mut client = Client {
            lines: BufReader::new(reader).lines(),
            writer,
            id: 0,
        };
        client
            .request(
                "initialize",
                json!({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}),
            )
            .await;
        client
            .send(json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await;
        client
    }

    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        self.send(json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))
            .await;
        loop {
            let line = self.lines.next_line().await.unwrap().expect("an answer");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == id {
                return message;
            }
        }
    }

    /// One `list_tasks` call (`limit`: none for the default); how many tasks it listed.
    async fn list_tasks(&mut self, limit: Option<usize>) -> usize {
        let arguments = match limit {
            Some(limit) => json!({ "limit": limit }),
            None => json!({}),
        };
        let answer = self
            .request(
                "tools/call",
                json!({"name":"list_tasks","arguments":arguments}),
            )
            .await;
        let text = answer["result"]["content"][0]["text"].as_str().unwrap();
        let listed: Value = serde_json::from_str(text).unwrap();
        listed["tasks"].as_array().unwrap().len()
    }
}

fn repo(dir: &Path) -> String {
    corral_testkit::make_repo(dir);
    dir.display().to_string()
}

/// A local project of `TASKS` tasks, with `runs` of them running (a `sleep`), whose run ids
/// come back once they run.
async fn project(engine: &Engine, dir: &Path, runs: usize) -> (Project, Vec<RunId>) {
    let p = engine.add_project(&repo(dir), None).await.unwrap();
    let settings = [
        ("sandbox".to_string(), "local".to_string()),
        ("max-runs".to_string(), "64".to_string()),
    ];
    let p = engine.set_project_settings(p.id, &settings).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..TASKS {
        let command = (i < runs).then(|| vec!["sleep".into(), "600".into()]);
        let view = engine
            .create_task(NewTask {
                project_id: p.id,
                title: format!("Task {i}"),
                prompt: format!("Do thing number {i}"),
                runtime: command
                    .is_none()
                    .then_some(corral_core::Runtime::ClaudeCode),
                command,
                ..Default::default()
            })
            .await
            .unwrap();
        ids.push(view.task.id);
    }
    let mut runs_started = Vec::new();
    for task in ids.iter().take(runs) {
        runs_started.push(engine.start_run(*task).await.unwrap().id);
    }
    for run in &runs_started {
        while engine.run(*run).await.unwrap().state != RunState::Running {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (p, runs_started)
}

/// The project's first task.
async fn project_first_task(
    engine: &Engine,
    project: corral_core::ProjectId,
) -> corral_core::TaskId {
    engine.list_task_summaries(Some(project)).await.unwrap()[0]
        .task
        .id
}

fn vm(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Config::new(dir.path().join("data")))
        .await
        .unwrap();
    let (project, runs) = project(&engine, &dir.path().join("repo"), RUNS).await;
    // The engine's own part: listing the project's tasks with their statuses, in process;
    // computed afresh (a task changed before each listing), and again with nothing changed.
    let first = project_first_task(&engine, project.id).await;
    let mut cold = Vec::with_capacity(50);
    let mut warm = Vec::with_capacity(50);
    for i in 0..50 {
        let update = corral_engine::TaskUpdate {
            title: Some(format!("Task 0 ({i})")),
            ..Default::default()
        };
        engine.update_task(first, update).await.unwrap();
        let started = Instant::now();
        engine.list_task_summaries(Some(project.id)).await.unwrap();
        cold.push(started.elapsed());
        let started = Instant::now();
        engine.list_task_summaries(Some(project.id)).await.unwrap();
        warm.push(started.elapsed());
    }
    for (times, what) in [
        (&mut cold, "computed afresh"),
        (&mut warm, "nothing changed since"),
    ] {
        times.sort();
        println!(
            "the engine lists {TASKS} tasks with their statuses ({what}): p50 {:.2} ms, p95 {:.2} ms",
            percentile_ms(times, 0.5),
            percentile_ms(times, 0.95)
        );
    }

    // 1. One run through the real relay binary: the link is its stdin/stdout.
    let relay = corral_sandbox::install_relay(&dir.path().join("bin")).unwrap();
    let mut child = tokio::process::Command::new(&relay)
        .arg("link")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let relay_pid = child.id().unwrap();
    let (to_relay, from_relay) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let (mux, mut incoming) = Mux::start(from_relay, to_relay, Role::Engine);
    assert!(mux.peer_ready().await, "the relay said hello");
    let served = engine.clone();
    let run = runs[0];
    tokio::spawn(async move {
        while let Some((door, stream)) = incoming.recv().await {
            if Service::from_door(door) == Some(Service::Mcp) {
                let engine = served.clone();
                tokio::spawn(async move { engine.serve_mcp(run, stream).await });
            }
        }
    });
    let idle_kib = vm(relay_pid, "VmRSS:");
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", Service::Mcp.port()))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let (r, w) = tcp.into_split();
    let mut client = Client::new(r, w).await;
    let cases = [
        (None, false, "the default 100 shown"),
        (
            None,
            true,
            "the default 100 shown, a task changed before each call",
        ),
        (Some(TASKS), false, "all shown"),
    ];
    for (limit, changed, what) in cases {
        assert_eq!(client.list_tasks(limit).await, limit.unwrap_or(100));
        let mut times = Vec::with_capacity(CALLS);
        for i in 0..CALLS {
            if changed {
                let update = corral_engine::TaskUpdate {
                    title: Some(format!("Task 0 [{i}]")),
                    ..Default::default()
                };
                engine.update_task(first, update).await.unwrap();
            }
            let started = Instant::now();
            client.list_tasks(limit).await;
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "list_tasks on {TASKS} tasks through the relay ({what}): p50 {:.2} ms, p95 {:.2} ms ({CALLS} calls)",
            percentile_ms(&times, 0.5),
            percentile_ms(&times, 0.95)
        );
    }
    let mut ping_times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        client.request("ping", json!({})).await;
        ping_times.push(started.elapsed());
    }
    ping_times.sort();
    println!(
        "an MCP ping through the relay (the path alone): p50 {:.2} ms, p95 {:.2} ms",
        percentile_ms(&ping_times, 0.5),
        percentile_ms(&ping_times, 0.95)
    );
    println!(
        "the relay's memory: {idle_kib} KiB resident idle, {} KiB peak after the calls",
        vm(relay_pid, "VmHWM:")
    );

    // 2. 20 runs calling tools at once, each over its own link (the relay's multiplexer over
    //    an in-memory pipe, as each container has its own relay).
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for run in runs.iter().copied() {
        let engine = engine.clone();
        calls.spawn(async move {
            let (a, b) = tokio::io::duplex(256 * 1024);
            let (ar, aw) = tokio::io::split(a);
            let (br, bw) = tokio::io::split(b);
            let (relay, _) = Mux::start(ar, aw, Role::Relay);
            let (_engine_end, mut incoming) = Mux::start(br, bw, Role::Engine);
            tokio::spawn(async move {
                let _keep = _engine_end;
                while let Some((_door, stream)) = incoming.recv().await {
                    let engine = engine.clone();
                    tokio::spawn(async move { engine.serve_mcp(run, stream).await });
                }
            });
            let stream = relay.open(Service::Mcp.door()).unwrap();
            let (r, w) = tokio::io::split(stream);
            let mut client = Client::new(r, w).await;
            let mut times = Vec::with_capacity(CALLS_PER_RUN);
            for _ in 0..CALLS_PER_RUN {
                let t = Instant::now();
                client.list_tasks(None).await;
                times.push(t.elapsed());
            }
            times
        });
    }
    let mut all = Vec::new();
    while let Some(times) = calls.join_next().await {
        all.extend(times.unwrap());
    }
    let wall = started.elapsed();
    all.sort();
    println!(
        "{RUNS} runs calling list_tasks at once ({} calls): p50 {:.1} ms, p95 {:.1} ms, {:.0} calls/s overall",
        all.len(),
        percentile_ms(&all, 0.5),
        percentile_ms(&all, 0.95),
        all.len() as f64 / wall.as_secs_f64()
    );
    for run in runs {
        let _ = engine.cancel_run(run).await;
    }
    let _ = child.kill().await;
}
