//! A run's MCP server, spoken to as an agent's MCP client would (newline-delimited JSON-RPC over
//! a pipe): it reads the queue, proposes tasks, and turns every bad call into a tool error the
//! agent reads while the engine goes on. The run is a real one (a local `sleep`), live while the
//! tools are called.

use std::time::Duration;

use corral_core::{Approval, CreatedBy, Project, RunEventBody, RunId, TaskStatus, ToolOutcome};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

use crate::runs::{task, wait};
use crate::{Fixture, s};

/// An MCP client on one connection to a run's server.
pub struct Client {
    lines: Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
    writer: tokio::io::WriteHalf<DuplexStream>,
    next_id: u64,
}

impl Client {
    /// Connects to `run`'s server and does the handshake.
    pub async fn connect(f: &Fixture, run: RunId) -> Client {
        let (ours, theirs) = tokio::io::duplex(8 << 20);
        let engine = f.engine.clone();
        tokio::spawn(async move { engine.serve_mcp(run, theirs).await });
        let (reader, writer) = tokio::io::split(ours);
        let mut client = Client {
            lines: BufReader::new(reader).lines(),
            writer,
            next_id: 0,
        };
        let init = client
            .request(
                "initialize",
                json!({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"0"}}),
            )
            .await;
        assert_eq!(init["result"]["serverInfo"]["name"], "corral", "{init}");
        client
            .send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string())
            .await;
        client
    }

    pub async fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).await.expect("write");
        self.writer.write_all(b"\n").await.expect("write");
        self.writer.flush().await.expect("flush");
    }

    /// Sends a request and returns its response (notifications on the way are skipped).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}).to_string())
            .await;
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
                .await
                .expect("an answer in time")
                .expect("read")
                .expect("the server is still there");
            let message: Value = serde_json::from_str(&line).expect("JSON from the server");
            if message["id"] == id {
                return message;
            }
        }
    }

    /// Calls a tool: whether it failed, and its text.
    pub async fn call(&mut self, tool: &str, arguments: Value) -> (bool, String) {
        let answer = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await;
        let result = &answer["result"];
        assert!(
            result.is_object(),
            "a tool result, not a protocol error: {answer}"
        );
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (result["isError"] == true, text)
    }

    pub async fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let (failed, text) = self.call(tool, arguments).await;
        assert!(!failed, "{tool} failed: {text}");
        serde_json::from_str(&text).expect("JSON text")
    }

    pub async fn refused(&mut self, tool: &str, arguments: Value) -> String {
        let (failed, text) = self.call(tool, arguments).await;
        assert!(failed, "{tool} should have failed: {text}");
        text
    }

    pub async fn tool_names(&mut self) -> Vec<String> {
        let list = self.request("tools/list", json!({})).await;
        list["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// A local project with `settings`, and a live run of a task that sleeps.
pub async fn live_run(f: &Fixture, settings: &[(&str, &str)]) -> (Project, RunId) {
    let repo = f.repo("proj");
    let p = f.engine.add_project(s(&repo), None).await.expect("project");
    let mut pairs = vec![("sandbox".to_string(), "local".to_string())];
    pairs.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let p = f
        .engine
        .set_project_settings(p.id, &pairs)
        .await
        .expect("settings");
    let t = task(f, &p, "Asker", "sleep 60").await;
    let run = f.engine.start_run(t).await.expect("start");
    // Its command runs (as an agent would be, calling its tools).
    for _ in 0..600 {
        if f.engine.run(run.id).await.expect("run").state == corral_core::RunState::Running {
            return (p, run.id);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the run never started");
}

/// The run's log once `done` holds for it (events are written in batches, a moment later).
pub async fn logged(
    f: &Fixture,
    run: RunId,
    done: impl Fn(&[corral_core::RunEvent]) -> bool,
) -> Vec<corral_core::RunEvent> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = f.engine.run_events(run, 0, 100_000).await.expect("events");
        if done(&events) || std::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The run's recorded tool calls, once there are `count` of them.
async fn tool_calls(f: &Fixture, run: RunId, count: usize) -> Vec<corral_core::ToolCall> {
    let calls = |events: &[corral_core::RunEvent]| -> Vec<corral_core::ToolCall> {
        events
            .iter()
            .filter_map(|e| match &e.body {
                RunEventBody::ToolCall { call } => Some(call.clone()),
                _ => None,
            })
            .collect()
    };
    calls(&logged(f, run, |events| calls(events).len() >= count).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reads_the_queue_and_proposes_a_task_a_person_approves() {
    let f = Fixture::new().await;
    let (p, run) = live_run(&f, &[]).await;
    let mut mcp = Client::connect(&f, run).await;
    let names = mcp.tool_names().await;
    for tool in [
        "list_tasks",
        "get_task",
        "create_task",
        "add_dependency",
        "report_progress",
    ] {
        assert!(names.iter().any(|n| n == tool), "{tool} in {names:?}");
    }

    let listed = mcp.ok("list_tasks", json!({})).await;
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["tasks"][0]["title"], "Asker");
    assert_eq!(listed["tasks"][0]["yours"], true);
    assert_eq!(listed["tasks"][0]["status"], "running");

    let made = mcp
        .ok(
            "create_task",
            json!({"title": "Write the docs", "prompt": "Document the cart API", "runtime": "codex",
                   "after": ["Asker"], "idempotency_key": "docs-1"}),
        )
        .await;
    assert_eq!(made["status"], "proposed", "{made}");
    assert_eq!(made["created"], true);
    // A retried call with the same key finds it instead of making another.
    let again = mcp
        .ok(
            "create_task",
            json!({"title": "Write the docs", "prompt": "Document the cart API", "idempotency_key": "docs-1"}),
        )
        .await;
    assert_eq!(
        (again["id"].clone(), again["created"].clone()),
        (made["id"].clone(), json!(false))
    );

    let tasks = f.engine.list_tasks(Some(p.id)).await.expect("tasks");
    assert_eq!(tasks.len(), 2);
    let docs = tasks
        .iter()
        .find(|t| t.task.title == "Write the docs")
        .expect("docs");
    assert_eq!(docs.status, TaskStatus::Proposed);
    assert_eq!(docs.task.created_by, CreatedBy::Run(run));
    assert_eq!(docs.task.approval, Approval::Proposed);
    assert_eq!(docs.task.runtime, Some(corral_core::Runtime::Codex));
    assert_eq!(docs.depends_on.len(), 1);

    // It cannot run until a person approves it.
    let refused = f
        .engine
        .start_run(docs.task.id)
        .await
        .expect_err("proposed");
    assert_eq!(refused.kind(), corral_engine::ErrorKind::NotRunnable);
    assert!(
        refused.to_string().contains("corral task approve"),
        "{refused}"
    );
    let approved = f.engine.approve_task(docs.task.id).await.expect("approve");
    assert_eq!(approved.status, TaskStatus::Backlog, "waits for Asker");
    let twice = f
        .engine
        .reject_task(docs.task.id)
        .await
        .expect_err("decided");
    assert_eq!(twice.kind(), corral_engine::ErrorKind::NotProposed);

    let got = mcp
        .ok("get_task", json!({"task": docs.task.id.to_string()}))
        .await;
    assert_eq!(got["prompt"], "Document the cart API");
    assert_eq!(got["depends_on"][0]["title"], "Asker");
    assert!(got["latest_run"].is_null());
    let mine = mcp.ok("get_task", json!({"task": "Asker"})).await;
    assert_eq!(mine["latest_run"]["state"], "running", "{mine}");

    mcp.ok(
        "report_progress",
        json!({"text": "  reading\nthe cart code  "}),
    )
    .await;
    let progress = |e: &corral_core::RunEvent| matches!(&e.body, RunEventBody::Progress { text } if text == "reading the cart code");
    let events = logged(&f, run, |events| events.iter().any(progress)).await;
    assert!(events.iter().any(progress));
    // The card shows the latest line.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    mcp.ok("report_progress", json!({"text": "writing the tests"}))
        .await;
    let asker = f.engine.run(run).await.expect("run").task_id;
    let mut shown = None;
    for _ in 0..100 {
        shown = f.engine.task(asker).await.expect("task").progress;
        if shown.as_deref() == Some("writing the tests") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(shown.as_deref(), Some("writing the tests"));

    // Every call is in the run's log: the tool, its arguments, what came back.
    let calls = tool_calls(&f, run, 7).await;
    let tools: Vec<&str> = calls.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(
        tools,
        [
            "list_tasks",
            "create_task",
            "create_task",
            "get_task",
            "get_task",
            "report_progress",
            "report_progress"
        ]
    );
    assert!(calls.iter().all(|c| c.outcome.is_ok()), "{calls:?}");
    assert!(
        calls[1].arguments.contains("\"prompt_bytes\":21"),
        "{:?}",
        calls[1]
    );
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_get_tool_errors_and_the_engine_goes_on() {
    let f = Fixture::new().await;
    let (p, run) = live_run(&f, &[("agent-task-limit", "2")]).await;
    let other_repo = f.repo("other");
    let other = f
        .engine
        .add_project(s(&other_repo), None)
        .await
        .expect("other");
    let foreign = task(&f, &other, "Foreign", "true").await;
    let mut mcp = Client::connect(&f, run).await;

    let huge = "x".repeat(2 << 20);
    let too_big = mcp
        .refused("create_task", json!({"title": "Huge", "prompt": huge}))
        .await;
    assert!(too_big.contains("prompt"), "{too_big}");
    let unknown = mcp
        .refused(
            "create_task",
            json!({"title": "T", "prompt": "p", "runtime": "gpt-9000"}),
        )
        .await;
    assert!(
        unknown.contains("claude-code"),
        "lists the runtimes: {unknown}"
    );
    let elsewhere = mcp
        .refused(
            "create_task",
            json!({"title": "T", "prompt": "p", "after": [foreign.to_string()]}),
        )
        .await;
    assert!(elsewhere.contains("no task"), "{elsewhere}");
    let custom = mcp
        .refused(
            "create_task",
            json!({"title": "T", "prompt": "p", "runtime": "custom"}),
        )
        .await;
    assert!(custom.contains("coding agents only"), "{custom}");
    let missing = mcp.refused("create_task", json!({"title": "T"})).await;
    assert!(missing.contains("prompt"), "{missing}");

    // A cycle among its own tasks is refused, naming it.
    mcp.ok("create_task", json!({"title": "A", "prompt": "a"}))
        .await;
    mcp.ok(
        "create_task",
        json!({"title": "B", "prompt": "b", "after": ["A"]}),
    )
    .await;
    let cycle = mcp
        .refused("add_dependency", json!({"task": "A", "after": "B"}))
        .await;
    assert!(
        cycle.contains("A -> B -> A") || cycle.contains("B -> A -> B"),
        "{cycle}"
    );
    // A person's task is not the agent's to rewire (agent-tasks=propose).
    let theirs = mcp
        .refused("add_dependency", json!({"task": "Asker", "after": "A"}))
        .await;
    assert!(theirs.contains("not created by this run"), "{theirs}");
    // The cap.
    let capped = mcp
        .refused("create_task", json!({"title": "C", "prompt": "c"}))
        .await;
    assert!(capped.contains("agent-task-limit=2"), "{capped}");
    let empty = mcp
        .refused("report_progress", json!({"text": "  \n "}))
        .await;
    assert!(empty.contains("empty"), "{empty}");
    let bad_status = mcp
        .refused("list_tasks", json!({"status": ["sleeping"]}))
        .await;
    assert!(bad_status.contains("needs_input"), "{bad_status}");

    // Malformed JSON-RPC is dropped; the connection still answers.
    mcp.send("{not json").await;
    mcp.send("\u{0}\u{1}garbage").await;
    let pong = mcp.request("ping", json!({})).await;
    assert!(pong["result"].is_object(), "{pong}");
    let nothing = mcp
        .request("tools/call", json!({"name": "rm_rf", "arguments": {}}))
        .await;
    assert!(nothing["error"].is_object(), "{nothing}");

    // Refusals are in the log as errors.
    let calls = tool_calls(&f, run, 11).await;
    assert!(calls.iter().any(|c| c.tool == "add_dependency"
        && matches!(&c.outcome, ToolOutcome::Error { message } if message.contains("cycle"))));
    assert_eq!(
        f.engine.list_tasks(Some(p.id)).await.expect("tasks").len(),
        3
    );

    // After the run was cancelled, every call is refused; the server stays up.
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
    let ended = mcp.refused("list_tasks", json!({})).await;
    assert!(ended.contains("has ended (cancelled)"), "{ended}");
    let late = Client::connect(&f, run)
        .await
        .refused("report_progress", json!({"text": "hi"}))
        .await;
    assert!(late.contains("has ended"), "{late}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_agent_tasks_deny_the_task_writing_tools_are_not_offered() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[("agent-tasks", "deny")]).await;
    let mut mcp = Client::connect(&f, run).await;
    let names = mcp.tool_names().await;
    assert!(names.iter().any(|n| n == "list_tasks"), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n == "create_task" || n == "add_dependency"),
        "{names:?}"
    );
    let answer = mcp
        .request(
            "tools/call",
            json!({"name": "create_task", "arguments": {"title": "x", "prompt": "y"}}),
        )
        .await;
    assert!(answer["error"].is_object(), "{answer}");
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_agent_tasks_allow_a_created_task_is_ready_at_once() {
    let f = Fixture::new().await;
    let (p, run) = live_run(&f, &[("agent-tasks", "allow")]).await;
    let mut mcp = Client::connect(&f, run).await;
    let made = mcp
        .ok(
            "create_task",
            json!({"title": "Now", "prompt": "go", "runtime": "claude-code"}),
        )
        .await;
    assert_eq!(made["status"], "ready", "{made}");
    let tasks = f.engine.list_tasks(Some(p.id)).await.expect("tasks");
    let now = tasks.iter().find(|t| t.task.title == "Now").expect("task");
    assert_eq!(now.task.approval, Approval::Approved);
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_task_blocks_the_tasks_after_it_and_agents_tasks_do_not_multiply() {
    let f = Fixture::new().await;
    let (p, run) = live_run(&f, &[("agent-tasks", "allow")]).await;
    let mut mcp = Client::connect(&f, run).await;
    // With allow, the agent's task can run at once...
    mcp.ok("create_task", json!({"title": "Child", "prompt": "c"}))
        .await;
    // ...but a run of a task an agent created proposes, whatever the setting.
    let grandchild = f
        .engine
        .create_task(corral_engine::NewTask {
            project_id: p.id,
            title: "Agent-made".into(),
            command: Some(vec!["sleep".into(), "60".into()]),
            created_by: CreatedBy::Run(run),
            ..Default::default()
        })
        .await
        .expect("task");
    let second = f.engine.start_run(grandchild.task.id).await.expect("start");
    for _ in 0..600 {
        if f.engine.run(second.id).await.expect("run").state == corral_core::RunState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut nested = Client::connect(&f, second.id).await;
    let made = nested
        .ok("create_task", json!({"title": "Grandchild", "prompt": "g"}))
        .await;
    assert_eq!(made["status"], "proposed", "{made}");
    // Rejected, it never runs, and a task after it is blocked.
    let id: corral_core::TaskId = made["id"].as_str().expect("id").parse().expect("id");
    let after = f
        .engine
        .create_task(corral_engine::NewTask {
            project_id: p.id,
            title: "After".into(),
            command: Some(vec!["true".into()]),
            after: vec![id],
            ..Default::default()
        })
        .await
        .expect("task");
    assert_eq!(after.status, TaskStatus::Backlog);
    f.engine.reject_task(id).await.expect("reject");
    assert_eq!(
        f.engine.task(after.task.id).await.expect("task").status,
        TaskStatus::Blocked
    );
    for r in [run, second.id] {
        f.engine.cancel_run(r).await.expect("cancel");
        wait(&f, r, Duration::from_secs(30)).await;
    }
}
