use corral_engine::{Config, Engine};

#[tokio::test]
async fn a_data_dir_that_is_a_file_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let err = Engine::open(Config::new(file.join("data")))
        .await
        .expect_err("refused");
    assert_eq!(err.kind().as_str(), "data_dir_not_writable");
    assert!(err.fix().expect("has a fix").contains("--data-dir"));
    let err = Engine::open(Config::new(&file)).await.expect_err("refused");
    assert_eq!(err.kind().as_str(), "data_dir_not_writable");
}

#[tokio::test]
async fn a_corrupt_database_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().expect("temp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    let db = data.join("corral.db");
    std::fs::write(&db, b"this is not a database, it is a grocery list").expect("write");
    let err = Engine::open(Config::new(&data)).await.expect_err("refused");
    assert_eq!(err.kind().as_str(), "database_corrupt");
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_eq!(
        std::fs::read(&db).expect("read"),
        b"this is not a database, it is a grocery list"
    );
}

#[tokio::test]
async fn paths_with_spaces_and_non_ascii_work_for_the_data_dir() {
    let dir = tempfile::tempdir().expect("temp");
    let data = dir.path().join("dätä dir ☃");
    let engine = Engine::open(Config::new(&data)).await.expect("opens");
    assert!(data.join("corral.db").exists());
    engine.close().await.expect("closes");
    let engine = Engine::open(Config::new(&data)).await.expect("reopens");
    assert!(engine.list_projects().await.expect("lists").is_empty());
}

#[tokio::test]
async fn a_database_url_picks_the_file() {
    let dir = tempfile::tempdir().expect("temp");
    let mut config = Config::new(dir.path().join("data"));
    let db = dir.path().join("elsewhere.db");
    config.database_url = Some(format!("sqlite://{}", db.display()));
    let _engine = Engine::open(config).await.expect("opens");
    assert!(db.exists());
    let mut config = Config::new(dir.path().join("data"));
    config.database_url = Some("mysql://x".into());
    let err = Engine::open(config).await.expect_err("unsupported");
    assert_eq!(err.kind().as_str(), "unsupported_database");
}

#[tokio::test]
async fn the_data_dir_is_readable_by_its_owner_only_and_an_open_one_is_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("deep/data");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    let engine = Engine::open(Config::new(data.clone()))
        .await
        .expect("opens");
    engine.close().await.expect("closes");
    assert_eq!(mode(&data), 0o700, "created owner-only");

    // A data dir an earlier Corral left open to every local user is closed at start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let engine = Engine::open(Config::new(data.clone()))
        .await
        .expect("opens");
    engine.close().await.expect("closes");
    assert_eq!(mode(&data), 0o700, "fixed at start");
}
