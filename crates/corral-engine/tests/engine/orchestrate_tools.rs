//! An orchestrator's tools over its subtasks once they run, spoken to directly: reading a
//! subtask's result, retrying and cancelling it, a subtask's question routed to it (answered
//! or passed on), nesting, and the run slots orchestrators keep.

use std::time::Duration;

use corral_core::{TaskKind, TaskStatus};
use corral_engine::NewTask;
use serde_json::json;

use crate::Fixture;
use crate::mcp::{Client, live_run, logged};
use crate::orchestrate::live_orchestrator;
use crate::runs::wait;

/// Waits until `title` (a subtask of `parent`) has the status `want`.
async fn subtask_status(f: &Fixture, parent: corral_core::TaskId, title: &str, want: TaskStatus) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let subtasks = f.engine.subtasks(parent).await.expect("subtasks");
        let now = subtasks
            .iter()
            .find(|s| s.task.title == title)
            .map(|s| s.status);
        if now == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "`{title}` is {now:?}, never {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrator_reads_a_subtasks_result_retries_it_and_cancels_another() {
    let f = Fixture::new().await;
    let (p, worker) = live_run(&f, &[("agent-permissions", "bypass")]).await;
    let (goal, run) = live_orchestrator(&f, &p).await;
    let mut mcp = Client::connect(&f, run.id).await;
    let sh = |script: &str| json!(["sh", "-c", script]);
    mcp.ok(
        "create_subtask",
        json!({"title": "Write", "command": sh("printf 'one\\ntwo\\n' > notes.txt")}),
    )
    .await;
    mcp.ok(
        "create_subtask",
        json!({"title": "Slow", "command": sh("sleep 30")}),
    )
    .await;
    mcp.ok(
        "create_subtask",
        json!({"title": "After slow", "command": sh("true"), "after": ["Slow"]}),
    )
    .await;
    subtask_status(&f, goal.task.id, "Write", TaskStatus::Review).await;

    // Its result: state, the files changed with counts, one file's diff.
    let result = mcp
        .ok(
            "get_subtask_result",
            json!({"subtask": "Write", "path": "notes.txt"}),
        )
        .await;
    assert_eq!(result["run"]["state"], "succeeded", "{result}");
    assert_eq!(
        result["files"],
        json!([{"path": "notes.txt", "status": "added", "added": 2, "removed": 0}]),
        "{result}"
    );
    let patch = result["diff"]["patch"].as_str().unwrap_or_default();
    assert!(patch.contains("+one") && patch.contains("+two"), "{result}");
    let missing = mcp
        .refused(
            "get_subtask_result",
            json!({"subtask": "Write", "path": "other.txt"}),
        )
        .await;
    assert!(missing.contains("`other.txt` is not among"), "{missing}");
    let foreign = mcp
        .refused("get_subtask_result", json!({"subtask": "Asker"}))
        .await;
    assert!(foreign.contains("not one of your subtasks"), "{foreign}");

    // A retry runs it again (a command line has no session to resume).
    let live = mcp
        .refused(
            "retry_subtask",
            json!({"subtask": "Slow", "feedback": "faster"}),
        )
        .await;
    assert!(live.contains("still running"), "{live}");
    let first = result["run"]["id"].clone();
    let retried = mcp
        .ok(
            "retry_subtask",
            json!({"subtask": "Write", "feedback": "again"}),
        )
        .await;
    assert_ne!(retried["run"], first, "{retried}");
    let runs = f.engine.list_runs(None).await.expect("runs");
    let again = runs
        .iter()
        .find(|r| r.id.to_string() == retried["run"].as_str().unwrap_or_default())
        .expect("the retry's run");
    wait(&f, again.id, Duration::from_secs(60)).await;

    // Cancelling stops its run, leaves it out, and what runs after it never starts.
    let cancelled = mcp.ok("cancel_subtask", json!({"subtask": "Slow"})).await;
    assert_eq!(cancelled["runs_stopped"], 1, "{cancelled}");
    subtask_status(&f, goal.task.id, "Slow", TaskStatus::Cancelled).await;
    subtask_status(&f, goal.task.id, "After slow", TaskStatus::Blocked).await;
    let no_retry = mcp
        .refused(
            "retry_subtask",
            json!({"subtask": "Slow", "feedback": "again"}),
        )
        .await;
    assert!(no_retry.contains("was cancelled"), "{no_retry}");
    let listed = mcp.ok("list_subtasks", json!({})).await;
    let left_out: Vec<&str> = listed["subtasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["left_out"] == true)
        .filter_map(|s| s["title"].as_str())
        .collect();
    assert_eq!(left_out, ["Slow"], "{listed}");
    f.engine.cancel_run(run.id).await.expect("cancel");
    f.engine.cancel_run(worker).await.expect("cancel");
    wait(&f, run.id, Duration::from_secs(30)).await;
}

/// A live run of the subtask `title` of `goal`, started now (it sleeps; its tools are called
/// directly).
async fn live_subtask(
    f: &Fixture,
    boss: &mut Client,
    goal: corral_core::TaskId,
    title: &str,
) -> corral_core::RunId {
    boss.ok(
        "create_subtask",
        json!({"title": title, "command": ["sleep", "60"]}),
    )
    .await;
    subtask_status(f, goal, title, TaskStatus::Running).await;
    let sub = f
        .engine
        .subtasks(goal)
        .await
        .expect("subtasks")
        .into_iter()
        .find(|s| s.task.title == title)
        .expect("the subtask");
    let run = f.engine.list_runs(Some(sub.task.id)).await.expect("runs")[0].id;
    for _ in 0..600 {
        if f.engine.run(run).await.expect("run").state == corral_core::RunState::Running {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("`{title}` never started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subtasks_question_goes_to_its_orchestrator_which_answers_it_or_passes_it_on() {
    let f = Fixture::new().await;
    let (p, worker) = live_run(&f, &[("agent-permissions", "bypass"), ("ask-wait", "1s")]).await;
    let (goal, run) = live_orchestrator(&f, &p).await;
    let mut boss = Client::connect(&f, run.id).await;
    let question = json!({"questions": [{"question": "Which database?", "options": [
        {"label": "SQLite"}, {"label": "Postgres"}]}], "context": "The cart needs storage"});

    // A subtask's question waits on the orchestrator, not in a person's inbox.
    let first = live_subtask(&f, &mut boss, goal.task.id, "First").await;
    let mut sub = Client::connect(&f, first).await;
    let pending = sub.ok("ask_human", question.clone()).await;
    assert_eq!(pending["answered"], false, "{pending}");
    assert!(
        pending["note"]
            .as_str()
            .unwrap_or_default()
            .contains("your orchestrator"),
        "{pending}"
    );
    let id = pending["request"].as_str().expect("id").to_string();
    assert!(f.engine.inbox().await.expect("inbox").is_empty());
    let refused = boss
        .refused("answer_subtask", json!({"request": "nonsense"}))
        .await;
    assert!(refused.contains("not a request id"), "{refused}");
    let refused = boss.refused("answer_subtask", json!({"request": id})).await;
    assert!(refused.contains("`answers`"), "{refused}");
    let wrong = boss
        .refused(
            "answer_subtask",
            json!({"request": id, "answers": [{"selected": ["MySQL"]}]}),
        )
        .await;
    assert!(wrong.contains("MySQL"), "{wrong}");
    // The orchestrator answers it: kept as its answer.
    boss.ok(
        "answer_subtask",
        json!({"request": id, "answers": [{"selected": ["Postgres"]}]}),
    )
    .await;
    let answered = f.engine.find_request(&id).await.expect("request");
    assert_eq!(answered.answered_by.as_deref(), Some("orchestrator"));
    assert!(f.engine.inbox().await.expect("inbox").is_empty());

    // Passed on: it waits in the inbox with the orchestrator's note.
    let second = live_subtask(&f, &mut boss, goal.task.id, "Second").await;
    let mut sub = Client::connect(&f, second).await;
    let pending = sub.ok("ask_human", question).await;
    let id = pending["request"].as_str().expect("id").to_string();
    boss.ok(
        "answer_subtask",
        json!({"request": id, "pass_on": "Prefer what the team runs already."}),
    )
    .await;
    let inbox = f.engine.inbox().await.expect("inbox");
    let Some(corral_engine::InboxItem::Question { request, .. }) = inbox.first() else {
        panic!("not in the inbox: {inbox:?}");
    };
    assert_eq!(request.id.to_string(), id);
    let context = request.ask.context.clone().unwrap_or_default();
    assert!(
        context.contains("The cart needs storage")
            && context.contains("Its orchestrator's note: Prefer what the team runs already."),
        "{context}"
    );
    let again = boss
        .refused(
            "answer_subtask",
            json!({"request": id, "answers": [{"selected": ["SQLite"]}]}),
        )
        .await;
    assert!(
        again.contains("not one of your subtasks' questions"),
        "{again}"
    );
    let logged = logged(&f, second, |events| {
        events.iter().any(|e| {
            matches!(&e.body, corral_core::RunEventBody::Note { text } if text.contains("passed the question on"))
        })
    })
    .await;
    assert!(logged.iter().any(|e| matches!(&e.body, corral_core::RunEventBody::Note { text } if text.contains("asks its orchestrator"))));
    f.engine.cancel_run(run.id).await.expect("cancel");
    f.engine.cancel_run(worker).await.expect("cancel");
    wait(&f, run.id, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subtask_orchestrates_only_where_the_project_lets_orchestrators_nest() {
    let f = Fixture::new().await;
    let (p, worker) = live_run(&f, &[("agent-permissions", "bypass")]).await;
    let (goal, run) = live_orchestrator(&f, &p).await;
    let mut mcp = Client::connect(&f, run.id).await;
    let nested = json!({"title": "Part", "prompt": "plan the part", "orchestrate": true});
    let refused = mcp.refused("create_subtask", nested.clone()).await;
    assert!(
        refused.contains("2 deep") && refused.contains("allows 1 (orchestrate-depth)"),
        "{refused}"
    );
    let command = mcp
        .refused(
            "create_subtask",
            json!({"title": "Cmd", "command": ["true"], "orchestrate": true}),
        )
        .await;
    assert!(command.contains("give a prompt"), "{command}");
    f.engine
        .set_project_settings(p.id, &[("orchestrate-depth".into(), "2".into())])
        .await
        .expect("settings");
    mcp.ok("create_subtask", nested).await;
    let part = f
        .engine
        .subtasks(goal.task.id)
        .await
        .expect("subtasks")
        .into_iter()
        .find(|s| s.task.title == "Part")
        .expect("created");
    assert_eq!(part.task.kind, TaskKind::Orchestrate);
    let bad = f
        .engine
        .set_project_settings(p.id, &[("orchestrate-depth".into(), "4".into())])
        .await
        .expect_err("at most 3");
    assert!(bad.to_string().contains("orchestrate-depth"), "{bad}");
    f.engine.cancel_run(run.id).await.expect("cancel");
    f.engine.cancel_run(worker).await.expect("cancel");
    wait(&f, run.id, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrator_that_would_leave_its_subtasks_no_run_slot_is_refused() {
    let f = Fixture::new().await;
    let (p, worker) = live_run(&f, &[("max-runs", "3")]).await;
    let (_goal, run) = live_orchestrator(&f, &p).await;
    let second = f
        .engine
        .create_task(NewTask {
            project_id: p.id,
            title: "Second goal".into(),
            command: Some(vec!["sleep".into(), "60".into()]),
            kind: TaskKind::Orchestrate,
            ..Default::default()
        })
        .await
        .expect("task");
    // Two orchestrators waiting would hold two of three slots: one is left for subtasks.
    let started = f.engine.start_run(second.task.id).await.expect("started");
    f.engine.cancel_run(started.id).await.expect("cancel");
    wait(&f, started.id, Duration::from_secs(30)).await;
    let p = f
        .engine
        .set_project_settings(p.id, &[("max-runs".into(), "2".into())])
        .await
        .expect("settings");
    let refused = f
        .engine
        .start_run(second.task.id)
        .await
        .expect_err("no slot would be left for subtasks");
    assert_eq!(refused.kind(), corral_engine::ErrorKind::NotRunnable);
    let text = refused.to_string();
    assert!(
        text.contains("(`Goal`)")
            && text.contains(&format!("corral project set {} max-runs=3", p.name)),
        "{text}"
    );
    f.engine.cancel_run(run.id).await.expect("cancel");
    f.engine.cancel_run(worker).await.expect("cancel");
    wait(&f, run.id, Duration::from_secs(30)).await;
}
