use corral_core::{NetworkPolicy, RepoSource};
use corral_engine::{EngineEvent, ProjectUpdate};

use crate::{Fixture, git, s};

#[tokio::test]
async fn adds_a_local_repository_with_its_branch_and_announces_it() {
    let f = Fixture::new().await;
    let mut events = f.engine.subscribe();
    let repo = f.repo("my repo ünï");
    let p = f.engine.add_project(s(&repo), None).await.expect("adds");
    assert_eq!(p.name, "my repo ünï");
    assert_eq!(p.default_branch.as_deref(), Some("main"));
    match &p.source {
        RepoSource::Local { path } => assert!(path.ends_with("my repo ünï")),
        other => panic!("expected a local source, got {other:?}"),
    }
    assert_eq!(
        events.try_recv().expect("event"),
        EngineEvent::ProjectAdded { project: p.clone() }
    );
    assert_eq!(
        f.engine.list_projects().await.expect("list"),
        vec![p.clone()]
    );
    assert_eq!(
        f.engine.find_project("my repo ünï").await.expect("by name"),
        p
    );
    assert_eq!(
        f.engine
            .find_project(&p.id.to_string())
            .await
            .expect("by id"),
        p
    );
}

#[tokio::test]
async fn adds_a_git_url_for_later_cloning() {
    let f = Fixture::new().await;
    let p = f
        .engine
        .add_project("https://example.invalid/org/widget.git", None)
        .await
        .expect("adds");
    assert_eq!(p.name, "widget");
    assert_eq!(p.default_branch, None);
    assert_eq!(
        p.source,
        RepoSource::Remote {
            url: "https://example.invalid/org/widget.git".into()
        }
    );
}

#[tokio::test]
async fn bad_project_sources_are_refused_with_clear_errors_and_nothing_changes() {
    let f = Fixture::new().await;
    let missing = f.dir.path().join("nowhere");
    let file = f.dir.path().join("file.txt");
    std::fs::write(&file, "x").expect("write");
    let plain = f.plain_dir("plain");
    let empty = f.plain_dir("empty");
    git(&empty, &["init", "-q"]);
    let cases = [
        (s(&missing).to_string(), "project_path_missing"),
        (s(&file).to_string(), "project_path_not_dir"),
        (s(&plain).to_string(), "not_a_git_repo"),
        (s(&empty).to_string(), "repo_has_no_commits"),
    ];
    for (path, kind) in cases {
        let err = f
            .engine
            .add_project(&path, None)
            .await
            .expect_err("refused");
        assert_eq!(err.kind().as_str(), kind, "{path}: {err}");
        assert!(
            err.to_string().contains(&path),
            "message names the path: {err}"
        );
        assert!(err.fix().is_some(), "{kind} has a fix");
    }
    assert!(f.engine.list_projects().await.expect("list").is_empty());
}

#[tokio::test]
async fn a_subfolder_of_a_repository_points_at_the_repository() {
    let f = Fixture::new().await;
    let repo = f.repo("outer");
    let sub = repo.join("src");
    std::fs::create_dir(&sub).expect("mkdir");
    let err = f
        .engine
        .add_project(s(&sub), None)
        .await
        .expect_err("refused");
    assert_eq!(err.kind().as_str(), "not_a_git_repo");
    assert!(err.fix().expect("fix").contains("outer"), "{:?}", err.fix());
}

#[tokio::test]
async fn duplicate_names_and_sources_are_refused() {
    let f = Fixture::new().await;
    let a = f.repo("a");
    let b = f.repo("b");
    f.engine
        .add_project(s(&a), Some("shared"))
        .await
        .expect("first");
    let err = f
        .engine
        .add_project(s(&b), Some("shared"))
        .await
        .expect_err("same name");
    assert_eq!(err.kind().as_str(), "duplicate_project_name");
    let err = f
        .engine
        .add_project(s(&a), Some("other"))
        .await
        .expect_err("same repo");
    assert_eq!(err.kind().as_str(), "duplicate_project_source");
    let err = f
        .engine
        .add_project(s(&b), Some("  "))
        .await
        .expect_err("blank name");
    assert_eq!(err.kind().as_str(), "invalid_input");
    assert_eq!(f.engine.list_projects().await.expect("list").len(), 1);
}

#[tokio::test]
async fn settings_apply_together_or_not_at_all() {
    let f = Fixture::new().await;
    let repo = f.repo("r");
    let p = f.engine.add_project(s(&repo), None).await.expect("adds");
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let updated = f
        .engine
        .set_project_settings(
            p.id,
            &pairs(&[
                ("network", "host"),
                ("verify", "make test"),
                ("memory", "2g"),
            ]),
        )
        .await
        .expect("valid settings");
    assert_eq!(updated.workflow.network, NetworkPolicy::Host);
    assert_eq!(updated.workflow.limits.memory_mib, 2048);

    let err = f
        .engine
        .set_project_settings(p.id, &pairs(&[("network", "none"), ("colour", "blue")]))
        .await
        .expect_err("unknown key");
    assert_eq!(err.kind().as_str(), "invalid_setting");
    assert!(err.to_string().contains("valid settings"), "{err}");
    assert_eq!(
        f.engine.project(p.id).await.expect("reload").workflow,
        updated.workflow,
        "unchanged"
    );

    let renamed = f
        .engine
        .update_project(
            p.id,
            ProjectUpdate {
                name: Some("renamed".into()),
                workflow: None,
                path: None,
            },
        )
        .await
        .expect("rename");
    assert_eq!(renamed.name, "renamed");
}

#[tokio::test]
async fn unknown_projects_name_the_known_ones() {
    let f = Fixture::new().await;
    let err = f.engine.find_project("ghost").await.expect_err("none");
    assert_eq!(err.kind().as_str(), "project_not_found");
    assert!(err.fix().expect("fix").contains("project add"));
    let repo = f.repo("real");
    f.engine.add_project(s(&repo), None).await.expect("adds");
    let err = f.engine.find_project("ghost").await.expect_err("none");
    assert!(err.fix().expect("fix").contains("real"));
    let err = f
        .engine
        .find_project(&corral_core::ProjectId::new().to_string())
        .await
        .expect_err("none");
    assert_eq!(err.kind().as_str(), "project_not_found");
}

#[tokio::test]
async fn removing_a_project_removes_its_tasks_not_the_repository() {
    let f = Fixture::new().await;
    let repo = f.repo("r");
    let p = f.engine.add_project(s(&repo), None).await.expect("adds");
    f.engine
        .create_task(corral_engine::NewTask {
            project_id: p.id,
            title: "T".into(),
            ..Default::default()
        })
        .await
        .expect("task");
    f.engine.remove_project(p.id).await.expect("removes");
    assert!(f.engine.list_tasks(None).await.expect("list").is_empty());
    assert!(repo.join(".git").exists() && repo.join("README").exists());
    let err = f.engine.remove_project(p.id).await.expect_err("gone");
    assert_eq!(err.kind().as_str(), "project_not_found");
}

#[tokio::test]
async fn app_settings_have_defaults_and_refuse_unknown_keys_and_values() {
    let f = Fixture::new().await;
    assert_eq!(
        f.engine
            .settings()
            .await
            .expect("settings")
            .get("theme")
            .map(String::as_str),
        Some("system")
    );
    f.engine.set_setting("theme", "dark").await.expect("set");
    assert_eq!(
        f.engine
            .settings()
            .await
            .expect("settings")
            .get("theme")
            .map(String::as_str),
        Some("dark")
    );
    assert_eq!(
        f.engine
            .set_setting("theme", "neon")
            .await
            .expect_err("bad value")
            .kind()
            .as_str(),
        "invalid_input"
    );
    assert_eq!(
        f.engine
            .set_setting("colour", "x")
            .await
            .expect_err("bad key")
            .kind()
            .as_str(),
        "invalid_input"
    );
}
