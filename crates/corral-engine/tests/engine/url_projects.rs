//! Projects added by URL: a bare mirror in the data dir, fetched before each run. The "remote"
//! is a repository in a temp dir reached by a file:// URL (no network here).

use std::path::Path;
use std::time::Duration;

use corral_core::{RunEventBody, RunState};

use crate::runs::{task, wait};
use crate::{Fixture, git};

fn head(repo: &Path) -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_project_runs_from_a_mirror_fetched_before_each_run() {
    let f = Fixture::new().await;
    let upstream = f.repo("upstream");
    let url = format!("file://{}", upstream.display());
    let p = f
        .engine
        .add_project(&url, Some("remote"))
        .await
        .expect("project");
    let p = f
        .engine
        .set_project_settings(p.id, &[("sandbox".to_string(), "local".to_string())])
        .await
        .expect("settings");
    let t = task(&f, &p, "From remote", "cat README; echo made > made.txt").await;

    let first = f.engine.start_run(t).await.expect("start");
    let first = wait(&f, first.id, Duration::from_secs(60)).await;
    assert_eq!(first.state, RunState::Succeeded, "{first:?}");
    assert_eq!(first.base_commit.as_deref(), Some(head(&upstream).as_str()));
    let events = f
        .engine
        .run_events(first.id, 0, 10_000)
        .await
        .expect("events");
    assert!(
        events.iter().any(
            |e| matches!(&e.body, RunEventBody::Note { text } if text == &format!("fetching {url}"))
        ),
        "the fetch is in the log"
    );

    // The run branch is published into the mirror, not pushed to the remote.
    let mirror = f
        .dir
        .path()
        .join("data/mirrors")
        .join(format!("{}.git", p.id));
    let branch = first.branch.clone().expect("branch");
    let shown = std::process::Command::new("git")
        .args(["show", &format!("{branch}:made.txt")])
        .current_dir(&mirror)
        .output()
        .expect("git");
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "made\n");
    let remote_branches = std::process::Command::new("git")
        .args(["branch", "--list", "corral/*"])
        .current_dir(&upstream)
        .output()
        .expect("git");
    assert!(remote_branches.stdout.is_empty(), "nothing pushed upstream");

    // Upstream moves on; the next run starts from the new commit.
    std::fs::write(upstream.join("README"), "changed upstream").expect("write");
    git(&upstream, &["commit", "-qam", "second"]);
    let second = f.engine.start_run(t).await.expect("start");
    let second = wait(&f, second.id, Duration::from_secs(60)).await;
    assert_eq!(second.state, RunState::Succeeded, "{second:?}");
    assert_eq!(
        second.base_commit.as_deref(),
        Some(head(&upstream).as_str())
    );
    assert_ne!(second.base_commit, first.base_commit);

    let err = f
        .engine
        .merge_run(second.id)
        .await
        .expect_err("never pushes");
    assert_eq!(err.kind().as_str(), "not_mergeable");
    assert!(err.to_string().contains("git fetch"), "{err}");

    f.engine.remove_project(p.id).await.expect("remove");
    assert!(!mirror.exists(), "the mirror goes with the project");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_url_fails_the_run_saying_what_to_check() {
    let f = Fixture::new().await;
    let missing = f.dir.path().join("no-such-repo");
    let url = format!("file://{}", missing.display());
    let p = f
        .engine
        .add_project(&url, Some("gone"))
        .await
        .expect("project");
    let p = f
        .engine
        .set_project_settings(p.id, &[("sandbox".to_string(), "local".to_string())])
        .await
        .expect("settings");
    let t = task(&f, &p, "Never", "true").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    match run.state {
        RunState::Failed { reason } => {
            assert!(reason.message.contains("fetching failed"), "{reason}");
            assert!(
                reason.message.contains(&format!("git fetch {url}")),
                "{reason}"
            );
        }
        other => panic!("expected failed, got {other}"),
    }
    let mirror = f
        .dir
        .path()
        .join("data/mirrors")
        .join(format!("{}.git", p.id));
    assert!(
        !mirror.exists(),
        "a failed first fetch leaves no half-made mirror"
    );
}
