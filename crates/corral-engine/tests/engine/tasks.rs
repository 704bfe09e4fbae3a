use corral_core::{Runtime, TaskId, TaskStatus};
use corral_engine::{EngineEvent, NewTask, TaskUpdate};

use crate::{Fixture, s};

async fn project(f: &Fixture, name: &str) -> corral_core::Project {
    let repo = f.repo(name);
    f.engine.add_project(s(&repo), None).await.expect("project")
}

fn new(project: &corral_core::Project, title: &str, after: &[TaskId]) -> NewTask {
    NewTask {
        project_id: project.id,
        title: title.into(),
        prompt: "Do the thing.\nWith \"quotes\" and ünïcode.".into(),
        after: after.to_vec(),
        ..Default::default()
    }
}

#[tokio::test]
async fn creates_tasks_with_dependencies_and_derives_status() {
    let f = Fixture::new().await;
    let p = project(&f, "p").await;
    let mut events = f.engine.subscribe();
    let a = f.engine.create_task(new(&p, "A", &[])).await.expect("A");
    let b = f
        .engine
        .create_task(new(&p, "B", &[a.task.id]))
        .await
        .expect("B");
    assert_eq!(a.status, TaskStatus::Ready);
    assert_eq!(b.status, TaskStatus::Backlog, "B waits for A");
    assert_eq!(b.depends_on, vec![a.task.id]);
    assert!(matches!(
        events.try_recv(),
        Ok(EngineEvent::TaskCreated { .. })
    ));
    assert!(matches!(
        events.try_recv(),
        Ok(EngineEvent::TaskCreated { .. })
    ));

    let list = f.engine.list_tasks(Some(p.id)).await.expect("list");
    assert_eq!(
        list.iter()
            .map(|v| v.task.title.as_str())
            .collect::<Vec<_>>(),
        ["A", "B"]
    );
    assert_eq!(list[0].dependents, vec![b.task.id]);
    assert_eq!(
        list[0].task.prompt,
        "Do the thing.\nWith \"quotes\" and ünïcode."
    );
}

#[tokio::test]
async fn a_three_task_cycle_is_refused_and_named() {
    let f = Fixture::new().await;
    let p = project(&f, "p").await;
    let a = f
        .engine
        .create_task(new(&p, "A", &[]))
        .await
        .expect("A")
        .task
        .id;
    let b = f
        .engine
        .create_task(new(&p, "B", &[a]))
        .await
        .expect("B")
        .task
        .id;
    let c = f
        .engine
        .create_task(new(&p, "C", &[b]))
        .await
        .expect("C")
        .task
        .id;
    let err = f.engine.add_dependency(a, c).await.expect_err("cycle");
    assert_eq!(err.kind().as_str(), "dependency_cycle");
    assert_eq!(
        err.to_string(),
        "that dependency would create a cycle: A -> B -> C -> A"
    );
    assert!(
        f.engine.task(a).await.expect("A").depends_on.is_empty(),
        "nothing changed"
    );
}

#[tokio::test]
async fn self_and_cross_project_dependencies_are_refused() {
    let f = Fixture::new().await;
    let p = project(&f, "p").await;
    let q = project(&f, "q").await;
    let a = f
        .engine
        .create_task(new(&p, "A", &[]))
        .await
        .expect("A")
        .task
        .id;
    let x = f
        .engine
        .create_task(new(&q, "X", &[]))
        .await
        .expect("X")
        .task
        .id;
    let err = f.engine.add_dependency(a, a).await.expect_err("self");
    assert_eq!(err.kind().as_str(), "self_dependency");
    let err = f.engine.add_dependency(a, x).await.expect_err("cross");
    assert_eq!(err.kind().as_str(), "cross_project_dependency");
    assert!(
        err.to_string().contains("`p`") && err.to_string().contains("`q`"),
        "{err}"
    );
    let err = f
        .engine
        .create_task(new(&p, "B", &[x]))
        .await
        .expect_err("cross at create");
    assert_eq!(err.kind().as_str(), "cross_project_dependency");
    assert_eq!(
        f.engine.list_tasks(Some(p.id)).await.expect("list").len(),
        1,
        "B not created"
    );
}

#[tokio::test]
async fn dependencies_can_be_added_and_removed() {
    let f = Fixture::new().await;
    let p = project(&f, "p").await;
    let a = f
        .engine
        .create_task(new(&p, "A", &[]))
        .await
        .expect("A")
        .task
        .id;
    let b = f
        .engine
        .create_task(new(&p, "B", &[]))
        .await
        .expect("B")
        .task
        .id;
    let view = f.engine.add_dependency(b, a).await.expect("add");
    assert_eq!(view.status, TaskStatus::Backlog);
    let view = f.engine.remove_dependency(b, a).await.expect("remove");
    assert_eq!(view.status, TaskStatus::Ready);
    let err = f
        .engine
        .remove_dependency(b, a)
        .await
        .expect_err("not there");
    assert_eq!(err.kind().as_str(), "dependency_not_found");
}

#[tokio::test]
async fn bad_task_input_is_refused_and_changes_nothing() {
    let f = Fixture::new().await;
    let p = project(&f, "p").await;
    let err = f
        .engine
        .create_task(new(&p, "   ", &[]))
        .await
        .expect_err("empty title");
    assert_eq!(err.kind().as_str(), "invalid_input");
    assert!(err.to_string().contains("title must not be empty"), "{err}");

    let mut huge = new(&p, "Huge", &[]);
    huge.prompt = "x".repeat(1024 * 1024 + 1);
    let err = f
        .engine
        .create_task(huge)
        .await
        .expect_err("prompt too big");
    assert!(err.to_string().contains("1 MiB"), "{err}");

    let mut custom = new(&p, "Custom", &[]);
    custom.runtime = Some(Runtime::Custom);
    let err = f
        .engine
        .create_task(custom)
        .await
        .expect_err("custom needs a command");
    assert_eq!(err.kind().as_str(), "invalid_input");

    let err = f
        .engine
        .create_task(NewTask {
            project_id: corral_core::ProjectId::new(),
            title: "T".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown project");
    assert_eq!(err.kind().as_str(), "project_not_found");
    let err = f
        .engine
        .create_task(new(&p, "T", &[TaskId::new()]))
        .await
        .expect_err("unknown dep");
    assert_eq!(err.kind().as_str(), "task_not_found");
    assert!(f.engine.list_tasks(None).await.expect("list").is_empty());
}

#[tokio::test]
async fn a_command_line_makes_a_custom_task_and_edits_apply() {
    let f = Fixture::new().await;
    let p = project(&f, "p").await;
    let mut t = new(&p, "Fmt", &[]);
    t.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "make fmt && git status".into(),
    ]);
    let view = f.engine.create_task(t).await.expect("custom");
    assert_eq!(view.task.runtime, Some(Runtime::Custom));

    let id = view.task.id;
    let edited = f
        .engine
        .update_task(
            id,
            TaskUpdate {
                title: Some("Format".into()),
                command: Some(None),
                runtime: Some(Some(Runtime::Codex)),
                model: Some(Some("gpt-5".into())),
                ..Default::default()
            },
        )
        .await
        .expect("edit");
    assert_eq!(edited.task.title, "Format");
    assert_eq!(edited.task.runtime, Some(Runtime::Codex));
    assert_eq!(edited.task.command, None);
    assert_eq!(edited.task.model.as_deref(), Some("gpt-5"));
    let err = f
        .engine
        .update_task(
            id,
            TaskUpdate {
                title: Some("".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("empty title");
    assert_eq!(err.kind().as_str(), "invalid_input");
    assert_eq!(
        f.engine.task(id).await.expect("reload").task.title,
        "Format"
    );
}

#[tokio::test]
async fn tasks_are_found_by_title_and_ambiguity_lists_candidates() {
    let f = Fixture::new().await;
    let p = project(&f, "p").await;
    let q = project(&f, "q").await;
    let a = f
        .engine
        .create_task(new(&p, "Same", &[]))
        .await
        .expect("p/Same");
    f.engine
        .create_task(new(&q, "Same", &[]))
        .await
        .expect("q/Same");
    let err = f
        .engine
        .find_task("Same", None)
        .await
        .expect_err("ambiguous");
    assert_eq!(err.kind().as_str(), "ambiguous_task");
    assert!(
        err.to_string().contains("in project `p`") && err.to_string().contains("in project `q`"),
        "{err}"
    );
    assert_eq!(
        f.engine
            .find_task("Same", Some(&p))
            .await
            .expect("scoped")
            .id,
        a.task.id
    );
    assert_eq!(
        f.engine
            .find_task(&a.task.id.to_string(), None)
            .await
            .expect("by id")
            .id,
        a.task.id
    );
    let err = f
        .engine
        .find_task(&a.task.id.to_string(), Some(&q))
        .await
        .expect_err("wrong project");
    assert_eq!(err.kind().as_str(), "task_not_found");
    let err = f
        .engine
        .find_task("Nope", Some(&p))
        .await
        .expect_err("missing");
    assert!(err.to_string().contains("in project `p`"), "{err}");
}

#[tokio::test]
async fn deleting_a_task_frees_its_dependents() {
    let f = Fixture::new().await;
    let p = project(&f, "p").await;
    let a = f
        .engine
        .create_task(new(&p, "A", &[]))
        .await
        .expect("A")
        .task
        .id;
    let b = f
        .engine
        .create_task(new(&p, "B", &[a]))
        .await
        .expect("B")
        .task
        .id;
    f.engine.delete_task(a).await.expect("delete");
    let view = f.engine.task(b).await.expect("B");
    assert!(view.depends_on.is_empty());
    assert_eq!(view.status, TaskStatus::Ready);
    let err = f.engine.delete_task(a).await.expect_err("gone");
    assert_eq!(err.kind().as_str(), "task_not_found");
}
