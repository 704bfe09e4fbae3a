//! The Docker daemon stopping in the middle of a run. The test starts a daemon of its own (its
//! own socket, data root and storage), so stopping it does not disturb the machine's daemon
//! or the other tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corral_core::{OutputStream, RunState, StepName};
use corral_engine::{Config, Engine};

use crate::runs::{outputs, task, until_line, wait};
use crate::{Fixture, s};

const IMAGE: &str = "corral-test/busybox:1";

struct SecondDaemon {
    dir: PathBuf,
    child: Option<Child>,
}

impl SecondDaemon {
    fn start(dir: &Path) -> SecondDaemon {
        std::fs::create_dir_all(dir).expect("mkdir");
        let log = std::fs::File::create(dir.join("dockerd.log")).expect("log");
        let child = Command::new("dockerd")
            .arg("--host")
            .arg(format!("unix://{}/docker.sock", dir.display()))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            // No network setup at all: runs use network none.
            .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
            // No mounts left behind in the temp dir.
            .args(["--storage-driver", "vfs"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd starts (the Docker daemon package is installed by .ci/run)");
        let daemon = SecondDaemon {
            dir: dir.to_path_buf(),
            child: Some(child),
        };
        let start = Instant::now();
        while !daemon.docker(&["info"]).status.success() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the test daemon did not start: {}",
                std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        daemon
    }

    fn host(&self) -> String {
        format!("unix://{}/docker.sock", self.dir.display())
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .output()
            .expect("docker runs")
    }

    /// Copies the test image from the machine's daemon.
    fn load_test_image(&self) {
        let saved = Command::new("docker")
            .args(["save", IMAGE])
            .output()
            .expect("docker save");
        assert!(
            saved.status.success(),
            "{}",
            String::from_utf8_lossy(&saved.stderr)
        );
        let mut load = Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .arg("load")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("docker load");
        use std::io::Write;
        load.stdin
            .take()
            .expect("stdin")
            .write_all(&saved.stdout)
            .expect("image piped");
        assert!(load.wait().expect("load").success());
    }

    /// Stops the daemon the way a service manager does (SIGTERM) and waits for it to exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for SecondDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docker_daemon_stopping_mid_run_fails_the_run_clearly_and_keeps_the_log() {
    crate::runs::test_image();
    let dir = tempfile::Builder::new()
        .prefix("cd2")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let mut daemon = SecondDaemon::start(&dir.path().join("d"));
    daemon.load_test_image();

    let f = Fixture::new().await;
    let mut config = Config::new(f.dir.path().join("data2"));
    config.docker_host = Some(daemon.host());
    let engine = Engine::open(config)
        .await
        .expect("engine on the test daemon");
    let f = Fixture { dir: f.dir, engine };
    let repo = f.repo("proj");
    let p = f.engine.add_project(s(&repo), None).await.expect("project");
    let p = f
        .engine
        .set_project_settings(p.id, &[("agent-image".to_string(), IMAGE.to_string())])
        .await
        .expect("settings");
    let t = task(&f, &p, "Long", "echo started; sleep 120").await;
    let run = f.engine.start_run(t).await.expect("start");
    until_line(&f, run.id, "started", Duration::from_secs(60)).await;

    let stopped = Instant::now();
    tokio::task::spawn_blocking(move || {
        daemon.stop();
        daemon
    })
    .await
    .expect("stopped");
    let run = wait(&f, run.id, Duration::from_secs(60)).await;
    let RunState::Failed { reason } = &run.state else {
        panic!("expected a failed run, got {}", run.state);
    };
    assert!(
        reason
            .message
            .starts_with("the Docker daemon stopped answering while the agent step ran"),
        "{reason}"
    );
    assert_eq!(
        reason.kind,
        corral_core::FailKind::DockerUnreachable,
        "front ends can tell Docker went away"
    );
    assert!(
        reason
            .kind
            .fix()
            .is_some_and(|fix| fix.contains("start Docker")),
        "and offer its fix"
    );
    eprintln!(
        "failed {:?} after the daemon stopped: {reason}",
        stopped.elapsed()
    );
    assert_eq!(
        outputs(&f, run.id, StepName::Agent).await,
        vec![(OutputStream::Stdout, "started".to_string())],
        "the log up to then is kept"
    );
}
