use corral_engine::{CheckStatus, Config, Engine};

use crate::Fixture;

#[tokio::test]
async fn doctor_reports_every_check_against_this_machine() {
    let f = Fixture::new().await;
    let checks = f.engine.doctor().await;
    let names: Vec<_> = checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        ["docker", "git", "data_dir", "disk_space", "database"]
    );
    let get = |name: &str| checks.iter().find(|c| c.name == name).expect("check");
    // CI starts a real Docker daemon, and git is installed on every machine that runs this.
    assert_eq!(get("docker").status, CheckStatus::Ok, "{:?}", get("docker"));
    assert!(
        get("docker").detail.starts_with("Docker "),
        "{:?}",
        get("docker")
    );
    assert_eq!(get("git").status, CheckStatus::Ok);
    assert!(get("git").detail.contains("libgit2"));
    assert_eq!(get("data_dir").status, CheckStatus::Ok);
    assert_ne!(get("disk_space").status, CheckStatus::Fail);
    assert!(get("disk_space").detail.contains("GiB free"));
    assert_eq!(get("database").status, CheckStatus::Ok);
}

#[tokio::test]
async fn docker_unreachable_fails_with_a_fix_and_everything_else_still_works() {
    let dir = tempfile::tempdir().expect("temp");
    let mut config = Config::new(dir.path().join("data"));
    config.docker_host = Some(format!("unix://{}/docker.sock", dir.path().display()));
    let engine = Engine::open(config).await.expect("opens without Docker");
    let checks = engine.doctor().await;
    let docker = checks
        .iter()
        .find(|c| c.name == "docker")
        .expect("docker check");
    assert_eq!(docker.status, CheckStatus::Fail);
    assert!(docker.detail.contains("docker.sock"), "{docker:?}");
    assert!(docker.fix.as_deref().expect("fix").contains("DOCKER_HOST"));
    assert!(
        engine
            .list_projects()
            .await
            .expect("still works")
            .is_empty()
    );
}
