use corral_core::{CreatedBy, ImageChoice, RunState, Runtime, TaskKind, TaskSummary};
use corral_store::{
    ProjectMutation, ProjectQuery, RunMutation, RunQuery, SettingMutation, SettingQuery,
    TaskMutation, TaskQuery,
};

use crate::{project, run, task, temp_store};

#[tokio::test]
async fn projects_round_trip_and_names_are_unique() {
    let (_dir, store) = temp_store().await;
    let db = store.db();
    let mut p = project("Ünïcode project");
    p.workflow.set("verify", "cargo test").expect("set");
    p.workflow.set("env.FOO", "bar baz").expect("set");
    p.workflow.image = ImageChoice::Agent {
        image: "me/agent:1".into(),
    };
    ProjectMutation::insert(db, &p).await.expect("insert");
    assert_eq!(
        ProjectQuery::by_id(db, p.id).await.expect("q"),
        Some(p.clone())
    );
    assert_eq!(
        ProjectQuery::by_name(db, "Ünïcode project")
            .await
            .expect("q"),
        Some(p.clone())
    );

    let dup = project("Ünïcode project");
    let err = ProjectMutation::insert(db, &dup)
        .await
        .expect_err("duplicate name");
    assert!(err.is_unique_violation(), "{err}");

    p.workflow.set("network", "host").expect("set");
    p.name = "renamed".into();
    ProjectMutation::update(db, &p).await.expect("update");
    assert_eq!(ProjectQuery::all(db).await.expect("all"), vec![p.clone()]);
    assert!(ProjectMutation::delete(db, p.id).await.expect("delete"));
    assert!(
        !ProjectMutation::delete(db, p.id)
            .await
            .expect("delete again")
    );
    assert!(ProjectQuery::all(db).await.expect("all").is_empty());
}

#[tokio::test]
async fn tasks_and_edges_round_trip_and_cascade() {
    let (_dir, store) = temp_store().await;
    let db = store.db();
    let p = project("p");
    let other = project("other");
    ProjectMutation::insert(db, &p).await.expect("insert");
    ProjectMutation::insert(db, &other).await.expect("insert");

    let a = task(p.id, "A");
    let mut b = task(p.id, "B");
    b.runtime = Some(Runtime::Custom);
    b.command = Some(vec!["sh".into(), "-c".into(), "echo 'hi there'".into()]);
    b.kind = TaskKind::Orchestrate;
    b.parent = Some(a.id);
    b.model = Some("m".into());
    let c = task(other.id, "A");
    for t in [&a, &b, &c] {
        TaskMutation::insert(db, t).await.expect("insert task");
    }
    assert_eq!(
        TaskQuery::by_id(db, b.id).await.expect("q"),
        Some(b.clone())
    );
    assert_eq!(
        TaskQuery::list(db, Some(p.id)).await.expect("list"),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(TaskQuery::list(db, None).await.expect("list").len(), 3);
    assert_eq!(
        TaskQuery::by_title(db, " A ", None)
            .await
            .expect("by title")
            .len(),
        2
    );
    assert_eq!(
        TaskQuery::by_title(db, "A", Some(p.id))
            .await
            .expect("by title"),
        vec![a.clone()]
    );
    assert_eq!(TaskQuery::count(db, p.id).await.expect("count"), 2);
    let summaries = TaskQuery::summaries(db, Some(p.id))
        .await
        .expect("summaries");
    assert_eq!(
        summaries,
        vec![TaskSummary::from(&a), TaskSummary::from(&b)]
    );
    assert_eq!(TaskQuery::summaries(db, None).await.expect("all").len(), 3);

    TaskMutation::add_edge(db, b.id, a.id).await.expect("edge");
    TaskMutation::add_edge(db, b.id, a.id)
        .await
        .expect("same edge again is a no-op");
    assert_eq!(
        TaskQuery::edges(db, Some(p.id)).await.expect("edges"),
        vec![(b.id, a.id)]
    );
    assert!(
        TaskQuery::edges(db, Some(other.id))
            .await
            .expect("edges")
            .is_empty()
    );

    let mut edited = b.clone();
    edited.title = "B2".into();
    edited.created_by = CreatedBy::Run(corral_core::RunId::new());
    TaskMutation::update(db, &edited).await.expect("update");
    assert_eq!(TaskQuery::by_id(db, b.id).await.expect("q"), Some(edited));

    // Deleting A removes the edge and clears B's parent.
    assert!(TaskMutation::delete(db, a.id).await.expect("delete"));
    assert!(TaskQuery::edges(db, None).await.expect("edges").is_empty());
    assert_eq!(
        TaskQuery::by_id(db, b.id)
            .await
            .expect("q")
            .expect("b")
            .parent,
        None
    );

    // Deleting a project deletes its tasks.
    ProjectMutation::delete(db, other.id)
        .await
        .expect("delete project");
    assert_eq!(TaskQuery::list(db, None).await.expect("list").len(), 1);
}

#[tokio::test]
async fn a_failed_checks_run_waits_on_a_decision_until_a_newer_run_merged_or_set_aside() {
    let (_dir, store) = temp_store().await;
    let db = store.db();
    let p = project("p");
    ProjectMutation::insert(db, &p).await.expect("insert");
    let t = task(p.id, "T");
    TaskMutation::insert(db, &t).await.expect("insert");
    let red = |mut r: corral_core::Run| {
        r.state = RunState::Failed {
            reason: corral_core::FailReason::new(corral_core::FailKind::VerifyFailed, "red"),
        };
        r.result_commit = Some("abc".into());
        r.checks = vec![corral_core::CheckResult {
            name: "test".into(),
            command: "npm test".into(),
            attempt: 3,
            outcome: corral_core::CheckOutcome::Failed,
            exit_code: Some(1),
            duration_ms: 1200,
            tail: "1 failed".into(),
        }];
        r.verify_attempt = 3;
        r
    };
    let first = red(run(&t));
    RunMutation::insert(db, &first).await.expect("insert");
    assert_eq!(
        RunQuery::by_id(db, first.id).await.expect("q"),
        Some(first.clone()),
        "checks and attempt round-trip"
    );
    let waiting = RunQuery::awaiting_decision(db).await.expect("q");
    assert_eq!(waiting, vec![first.clone()]);
    assert_eq!(RunQuery::count_awaiting_decision(db).await.expect("n"), 1);
    let latest = RunQuery::latest_states(db, None).await.expect("latest");
    assert_eq!(latest[&t.id].checks, first.checks);

    // A newer run of the task decides it (and its checks, none yet, are the task's).
    let second = run(&t);
    RunMutation::insert(db, &second).await.expect("insert");
    assert_eq!(RunQuery::count_awaiting_decision(db).await.expect("n"), 0);
    let latest = RunQuery::latest_states(db, None).await.expect("latest");
    assert!(latest[&t.id].checks.is_empty());

    let t2 = task(p.id, "T2");
    TaskMutation::insert(db, &t2).await.expect("insert");
    let third = red(run(&t2));
    RunMutation::insert(db, &third).await.expect("insert");
    assert_eq!(RunQuery::count_awaiting_decision(db).await.expect("n"), 1);
    let mut dismissed = third.clone();
    dismissed.dismissed_at = Some(corral_core::Timestamp(5));
    RunMutation::update_fields(db, &dismissed)
        .await
        .expect("dismiss");
    assert_eq!(RunQuery::count_awaiting_decision(db).await.expect("n"), 0);
    let dismissed = RunQuery::by_id(db, third.id)
        .await
        .expect("q")
        .expect("run");
    assert_eq!(dismissed.dismissed_at, Some(corral_core::Timestamp(5)));

    // A subtask's red run is its orchestrator's to decide on while the orchestrator runs.
    let mut goal = task(p.id, "Goal");
    goal.kind = corral_core::TaskKind::Orchestrate;
    TaskMutation::insert(db, &goal).await.expect("insert");
    let mut sub = task(p.id, "Sub");
    sub.parent = Some(goal.id);
    TaskMutation::insert(db, &sub).await.expect("insert");
    let mut orchestrating = run(&goal);
    orchestrating.state = RunState::Running;
    RunMutation::insert(db, &orchestrating)
        .await
        .expect("insert");
    RunMutation::insert(db, &red(run(&sub)))
        .await
        .expect("insert");
    assert_eq!(RunQuery::count_awaiting_decision(db).await.expect("n"), 0);
    orchestrating.state = RunState::Succeeded;
    RunMutation::update_state(db, &orchestrating)
        .await
        .expect("ended");
    assert_eq!(RunQuery::count_awaiting_decision(db).await.expect("n"), 1);
}

#[tokio::test]
async fn runs_round_trip_and_latest_state_wins() {
    let (_dir, store) = temp_store().await;
    let db = store.db();
    let p = project("p");
    ProjectMutation::insert(db, &p).await.expect("insert");
    let t = task(p.id, "T");
    TaskMutation::insert(db, &t).await.expect("insert");

    let mut first = run(&t);
    first.state = RunState::Failed {
        reason: corral_core::FailReason::new(
            corral_core::FailKind::VerifyFailed,
            "verify exited with 2",
        ),
    };
    first.exit_code = Some(2);
    first.branch = Some("corral/t-1234".into());
    RunMutation::insert(db, &first).await.expect("insert run");
    assert_eq!(
        RunQuery::by_id(db, first.id).await.expect("q"),
        Some(first.clone())
    );
    assert_eq!(
        RunQuery::count_live(db, Some(p.id), None)
            .await
            .expect("count"),
        0
    );

    let mut second = run(&t);
    RunMutation::insert(db, &second).await.expect("insert run");
    assert_eq!(
        RunQuery::count_live(db, Some(p.id), Some(t.id))
            .await
            .expect("count"),
        1
    );
    let latest = RunQuery::latest_states(db, Some(p.id))
        .await
        .expect("latest");
    assert_eq!(
        latest.get(&t.id),
        Some(&corral_store::LatestRun {
            id: second.id,
            created_at: second.created_at,
            finished_at: None,
            state: RunState::Queued,
            merged_by_corral: false,
            result_commit: None,
            checks: Vec::new(),
        })
    );

    second.state = RunState::Succeeded;
    second.input_tokens = 1200;
    RunMutation::update(db, &second).await.expect("update");
    assert_eq!(
        RunQuery::for_task(db, t.id).await.expect("for task"),
        vec![first, second]
    );
    assert_eq!(
        RunQuery::count_live(db, None, None).await.expect("count"),
        0
    );
}

#[tokio::test]
async fn settings_upsert() {
    let (_dir, store) = temp_store().await;
    let db = store.db();
    assert_eq!(SettingQuery::get(db, "theme").await.expect("get"), None);
    SettingMutation::set(db, "theme", "dark", 1)
        .await
        .expect("set");
    SettingMutation::set(db, "theme", "light", 2)
        .await
        .expect("set again");
    assert_eq!(
        SettingQuery::get(db, "theme")
            .await
            .expect("get")
            .as_deref(),
        Some("light")
    );
    assert_eq!(SettingQuery::all(db).await.expect("all").len(), 1);
}
