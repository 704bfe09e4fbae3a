//! Against the real Docker daemon this machine runs (CI starts one).

use std::time::Duration;

use corral_sandbox::{SandboxError, probe};

#[tokio::test]
async fn probes_the_running_daemon() {
    let v = probe(None, Duration::from_secs(10))
        .await
        .expect("a Docker daemon must be running");
    assert!(
        v.version.chars().next().is_some_and(|c| c.is_ascii_digit()),
        "{v:?}"
    );
    assert!(v.api_version.starts_with("1."), "{v:?}");
}

#[tokio::test]
async fn an_absent_socket_is_unreachable_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp");
    let host = format!("unix://{}/no.sock", dir.path().display());
    let err = probe(Some(&host), Duration::from_secs(3))
        .await
        .expect_err("nothing there");
    assert!(
        matches!(err, SandboxError::DockerUnreachable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no.sock"), "{err}");
}
