//! A checkout that does not fit on the disk. The data dir is a small tmpfs mounted for the
//! test (the database lives elsewhere, as a full disk would otherwise stop everything).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use corral_core::RunState;
use corral_engine::{Config, Engine};

use crate::runs::{task, wait};
use crate::{Fixture, git, s};

struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(path).expect("mkdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root (as in .ci/run): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk(path.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn free_bytes(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .expect("df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_that_fills_the_disk_fails_the_run_and_leaves_nothing_behind() {
    let f = Fixture::new().await;
    let data = f.dir.path().join("small");
    let _disk = SmallDisk::mount(&data, "3m");
    let mut config = Config::new(&data);
    config.database_url = Some(format!(
        "sqlite://{}",
        f.dir.path().join("corral.db").display()
    ));
    let engine = Engine::open(config).await.expect("engine");
    let f = Fixture { dir: f.dir, engine };

    // 6 MB of incompressible data: more than the 3 MB disk can hold.
    let repo = f.repo("big");
    let random = Command::new("head")
        .args(["-c", "6000000", "/dev/urandom"])
        .output()
        .expect("random bytes");
    std::fs::write(repo.join("blob.bin"), &random.stdout).expect("write");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "big"]);
    let p = f.engine.add_project(s(&repo), None).await.expect("project");
    let p = f
        .engine
        .set_project_settings(p.id, &[("sandbox".to_string(), "local".to_string())])
        .await
        .expect("settings");
    let free_before = free_bytes(&data);
    let t = task(&f, &p, "Big", "true").await;
    let run = f.engine.start_run(t).await.expect("start");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    let RunState::Failed { reason } = &run.state else {
        panic!("expected a failed run, got {}", run.state);
    };
    assert!(reason.message.starts_with("checkout failed"), "{reason}");
    assert!(
        reason.message.to_lowercase().contains("no space left"),
        "{reason}"
    );
    assert!(
        reason.message.contains("free space"),
        "says what to do: {reason}"
    );
    let checkout = data.join("checkouts").join(run.id.to_string());
    assert!(!checkout.exists(), "the half-made checkout is removed");
    assert!(
        free_bytes(&data) + 64 * 1024 >= free_before,
        "the space is given back: {} < {free_before}",
        free_bytes(&data)
    );
}
