//! An orchestrate task's MCP tools, spoken to directly: only its run is offered them; subtasks
//! belong to it, run at once, stay within `max-subtasks`, and name only its own subtasks in
//! `after`.

use std::time::Duration;

use corral_core::{TaskKind, TaskStatus};
use corral_engine::NewTask;
use serde_json::json;

use crate::Fixture;
use crate::mcp::{Client, live_run};
use crate::runs::wait;

/// A running orchestrate task of `p` (its "agent" a `sleep`, its tools called directly).
pub(crate) async fn live_orchestrator(
    f: &Fixture,
    p: &corral_core::Project,
) -> (corral_engine::TaskView, corral_core::Run) {
    let goal = f
        .engine
        .create_task(NewTask {
            project_id: p.id,
            title: "Goal".into(),
            command: Some(vec!["sleep".into(), "60".into()]),
            kind: TaskKind::Orchestrate,
            ..Default::default()
        })
        .await
        .expect("task");
    let run = f.engine.start_run(goal.task.id).await.expect("start");
    for _ in 0..600 {
        if f.engine.run(run.id).await.expect("run").state == corral_core::RunState::Running {
            return (goal, run);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the orchestrator never started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_orchestrator_gets_subtasks_which_run_at_once_within_its_limit() {
    let f = Fixture::new().await;
    // Command-line subtasks only where agents may run commands without asking.
    let (p, worker) = live_run(
        &f,
        &[("max-subtasks", "2"), ("agent-permissions", "bypass")],
    )
    .await;
    let mut mcp = Client::connect(&f, worker).await;
    let names = mcp.tool_names().await;
    assert!(
        !names.iter().any(|n| n == "create_subtask" || n == "finish"),
        "a worker has no subtasks: {names:?}"
    );

    let (goal, run) = live_orchestrator(&f, &p).await;
    let mut mcp = Client::connect(&f, run.id).await;
    let names = mcp.tool_names().await;
    for tool in ["create_subtask", "list_subtasks", "finish", "list_tasks"] {
        assert!(names.iter().any(|n| n == tool), "{tool}: {names:?}");
    }
    let sub = |title: &str| json!({"title": title, "command": ["sh", "-c", "sleep 1"], "idempotency_key": title});
    let a = mcp.ok("create_subtask", sub("A")).await;
    assert_eq!(a["started"], true, "{a}");
    let again = mcp.ok("create_subtask", sub("A")).await;
    assert_eq!(
        (again["created"].clone(), again["id"].clone()),
        (json!(false), a["id"].clone())
    );
    let refused = mcp
        .refused(
            "create_subtask",
            json!({"title": "B", "command": ["true"], "after": ["Asker"]}),
        )
        .await;
    assert!(
        refused.contains("`Asker` is not one of your subtasks"),
        "{refused}"
    );
    let b = mcp
        .ok(
            "create_subtask",
            json!({"title": "B", "command": ["true"], "after": ["A"]}),
        )
        .await;
    assert_eq!(b["started"], false, "it waits for A: {b}");
    // Nor can add_dependency hang a subtask after a task outside its subtree.
    let outside = mcp
        .refused("add_dependency", json!({"task": "B", "after": "Asker"}))
        .await;
    assert!(outside.contains("`B` is a subtask"), "{outside}");
    let over = mcp.refused("create_subtask", sub("C")).await;
    assert!(over.contains("max-subtasks=2"), "{over}");
    let listed = mcp.ok("list_subtasks", json!({})).await;
    assert_eq!(
        listed["subtasks"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    let titles: Vec<&str> = listed["subtasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["title"].as_str())
        .collect();
    assert_eq!(titles, ["A", "B"], "{listed}");
    let refused = mcp.refused("finish", json!({"summary": "  "})).await;
    assert!(refused.contains("summary"), "{refused}");
    mcp.ok("finish", json!({"summary": "A then B."})).await;

    // B starts by itself once A has succeeded.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let subtasks = loop {
        let subtasks = f.engine.subtasks(goal.task.id).await.expect("subtasks");
        if subtasks
            .iter()
            .all(|s| matches!(s.status, TaskStatus::Review | TaskStatus::Done))
        {
            break subtasks;
        }
        let now: Vec<_> = subtasks.iter().map(|s| (&s.task.title, s.status)).collect();
        assert!(
            std::time::Instant::now() < deadline,
            "subtasks never all done: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(subtasks.iter().all(|s| s.task.parent == Some(goal.task.id)));
    // The board shows the orchestrator's progress.
    let listed = f
        .engine
        .list_task_summaries(Some(p.id))
        .await
        .expect("list");
    let card = listed
        .iter()
        .find(|v| v.task.id == goal.task.id)
        .expect("the orchestrator");
    assert_eq!(card.subtask_progress, Some((2, 2)));
    let worker_card = listed
        .iter()
        .find(|v| v.task.title == "Asker")
        .expect("task");
    assert_eq!(worker_card.subtask_progress, None);
    f.engine.cancel_run(run.id).await.expect("cancel");
    f.engine.cancel_run(worker).await.expect("cancel");
    wait(&f, run.id, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrator_is_refused_with_one_run_slot_it_would_keep_while_subtasks_wait() {
    let f = Fixture::new().await;
    let repo = f.repo("proj");
    let p = f
        .engine
        .add_project(crate::s(&repo), None)
        .await
        .expect("project");
    let p = f
        .engine
        .set_project_settings(
            p.id,
            &[
                ("sandbox".into(), "local".into()),
                ("max-runs".into(), "1".into()),
            ],
        )
        .await
        .expect("settings");
    let goal = f
        .engine
        .create_task(NewTask {
            project_id: p.id,
            title: "Goal".into(),
            command: Some(vec!["true".into()]),
            kind: TaskKind::Orchestrate,
            ..Default::default()
        })
        .await
        .expect("task");
    let refused = f.engine.start_run(goal.task.id).await.expect_err("refused");
    assert_eq!(refused.kind(), corral_engine::ErrorKind::NotRunnable);
    assert!(refused.to_string().contains("max-runs=2"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subtask_whose_key_is_missing_is_reported_to_its_orchestrator_not_lost() {
    let f = Fixture::new().await;
    let (p, worker) = live_run(&f, &[]).await;
    let (_goal, run) = live_orchestrator(&f, &p).await;
    let mut mcp = Client::connect(&f, run.id).await;
    // Its agents may not run commands without asking (local sandbox, edits): no command line.
    let refused = mcp
        .refused(
            "create_subtask",
            json!({"title": "Shell", "command": ["sh", "-c", "true"]}),
        )
        .await;
    assert!(refused.contains("agent-permissions"), "{refused}");
    let made = mcp
        .ok(
            "create_subtask",
            json!({"title": "Keyless", "prompt": "do it", "runtime": "cursor"}),
        )
        .await;
    assert_eq!(made["started"], false, "{made}");
    let note = made["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("cannot start") && note.contains("CURSOR_API_KEY"),
        "{made}"
    );
    f.engine.cancel_run(run.id).await.expect("cancel");
    f.engine.cancel_run(worker).await.expect("cancel");
    wait(&f, run.id, Duration::from_secs(30)).await;
}
