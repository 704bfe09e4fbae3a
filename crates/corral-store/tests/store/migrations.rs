use corral_store::migration::Migrator;
use corral_store::{Store, StoreError};
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;

use crate::temp_store;

#[tokio::test]
async fn migrations_run_up_down_and_up_again_on_a_temp_file() {
    let (_dir, store) = temp_store().await;
    assert!(store.pending_migrations().await.expect("status").is_empty());
    let tables = |store: Store| async move {
        store
            .db()
            .query_all_raw(sea_orm::Statement::from_string(
                store.db().get_database_backend(),
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'seaql%' AND name NOT LIKE 'sqlite%' ORDER BY name",
            ))
            .await
            .expect("lists tables")
            .iter()
            .map(|row| row.try_get::<String>("", "name").expect("name"))
            .collect::<Vec<_>>()
    };
    let expected = [
        "change_version",
        "file_changes",
        "graph_runs",
        "input_requests",
        "projects",
        "review_comments",
        "run_events",
        "runs",
        "settings",
        "task_edges",
        "tasks",
    ];
    assert_eq!(tables(store.clone()).await, expected);
    Migrator::down(store.db(), None).await.expect("down");
    assert!(tables(store.clone()).await.is_empty());
    Migrator::up(store.db(), None).await.expect("up again");
    assert_eq!(tables(store.clone()).await, expected);
}

#[tokio::test]
async fn wal_mode_and_foreign_keys_are_on() {
    let (_dir, store) = temp_store().await;
    let db = store.db();
    let one = |sql: &'static str| async move {
        db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .expect("query")
        .expect("a row")
    };
    let mode: String = one("PRAGMA journal_mode")
        .await
        .try_get_by_index(0)
        .expect("mode");
    assert_eq!(mode, "wal");
    let fk: i32 = one("PRAGMA foreign_keys")
        .await
        .try_get_by_index(0)
        .expect("fk");
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn reopening_keeps_data_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db with spaces é.db");
    let store = Store::open(&path).await.expect("first open");
    let p = crate::project("kept");
    corral_store::ProjectMutation::insert(store.db(), &p)
        .await
        .expect("insert");
    store.close().await.expect("close");
    let store = Store::open(&path).await.expect("second open");
    let back = corral_store::ProjectQuery::by_id(store.db(), p.id)
        .await
        .expect("query");
    assert_eq!(back, Some(p));
}

#[tokio::test]
async fn a_corrupt_file_is_refused_and_left_byte_for_byte_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("corral.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).expect("write garbage");
    let err = Store::open(&path).await.expect_err("must refuse");
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_eq!(std::fs::read(&path).expect("read back"), garbage);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "no -wal or -shm files created: {names:?}");
}

#[tokio::test]
async fn a_truncated_sqlite_file_is_refused_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("corral.db");
    let (_d, store) = temp_store().await;
    let good = std::fs::read(store.path()).expect("read a real db");
    store.close().await.expect("close");
    // Keep the header but cut the file mid-page: SQLite sees a malformed database.
    let mut bad = good[..100.min(good.len())].to_vec();
    bad.extend(std::iter::repeat_n(0xAB, 3000));
    std::fs::write(&path, &bad).expect("write");
    let err = Store::open(&path).await.expect_err("must refuse");
    assert!(
        matches!(err, StoreError::NotADatabase { .. } | StoreError::Db(_)),
        "clear error expected, got {err:?}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read back"),
        bad,
        "left untouched"
    );
}

/// A project stored before issue 15 with the old defaults (`network=none`, which no agent can
/// work with, and `agent-permissions=edits`) gets the new ones; other choices stay.
#[tokio::test]
async fn projects_with_the_old_network_and_permission_defaults_move_to_the_new_ones() {
    let (_dir, store) = temp_store().await;
    let db = store.db();
    let exec = |sql: String| async move {
        db.execute_unprepared(&sql).await.expect("sql");
    };
    // Back to before the network migration (and every later one).
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let network = names
        .iter()
        .position(|n| n.contains("network_allowlist"))
        .expect("the network migration");
    let steps = u32::try_from(names.len() - network).expect("few");
    Migrator::down(db, Some(steps)).await.expect("down");
    for (id, network, permissions) in [("a", "none", "edits"), ("b", "host", "bypass")] {
        exec(format!(
            "INSERT INTO projects (id, name, source_json, default_branch, workflow_json, created_at, updated_at) \
             VALUES ('{id}', '{id}', '{{}}', NULL, '{{\"network\":\"{network}\",\"agent_permissions\":\"{permissions}\",\"model\":\"m\"}}', 0, 0)"
        ))
        .await;
    }
    Migrator::up(db, None).await.expect("up");
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT id, workflow_json FROM projects ORDER BY id",
        ))
        .await
        .expect("rows");
    let workflows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::from_str(&r.try_get::<String>("", "workflow_json").expect("json"))
                .expect("valid")
        })
        .collect();
    assert_eq!(workflows[0]["network"], "allowlist");
    assert_eq!(workflows[0]["agent_permissions"], "auto");
    assert_eq!(workflows[0]["model"], "m", "the rest is kept");
    assert_eq!(workflows[1]["network"], "host");
    assert_eq!(workflows[1]["agent_permissions"], "bypass");
}
