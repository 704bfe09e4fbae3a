//! Against the real Docker daemon this machine runs (CI starts one), with a small image built
//! locally from busybox-static (no registry is reachable here).
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use corral_sandbox::{
    ContainerSpec, DockerSandbox, LineReader, NetworkMode, SandboxError, StepFiles, probe,
};

mod link;

const IMAGE: &str = "corral-test/busybox:1";

/// The pid of the container's watchdog (its main process).
const WATCHDOG_PID: &str = r#"for p in /proc/[0-9]*; do
  case "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" in "sh -c while"*corral-watchdog*) echo ${p#/proc/};; esac
done; true"#;

/// Builds the test image once per test binary.
fn test_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-test-image.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .arg(IMAGE)
            .status()
            .expect("runs");
        assert!(status.success(), "building the test image failed");
    });
    IMAGE
}

fn spec(workspace: &Path) -> ContainerSpec {
    let run_dir = workspace.parent().expect("parent").join("run");
    std::fs::create_dir_all(&run_dir).expect("mkdir run dir");
    std::process::Command::new("chown")
        .args(["1234:1234", run_dir.to_str().expect("utf-8")])
        .status()
        .expect("chown");
    ContainerSpec {
        run_dir,
        run_id: corral_core_free_id(),
        task_id: "task-1".into(),
        project_id: "project-1".into(),
        instance: "corral-sandbox-tests".into(),
        image: test_image().into(),
        workspace: workspace.to_path_buf(),
        workspace_read_only: false,
        user: Some("1234:1234".into()),
        memory_mib: 256,
        cpu_millis: 500,
        pids: 64,
        network: NetworkMode::None,
        read_only_mounts: Vec::new(),
    }
}

/// A unique id per test container (the crate does not depend on corral-core).
fn corral_core_free_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp");
    let ws = dir.path().join("checkout");
    std::fs::create_dir(&ws).expect("mkdir");
    // The container user (1234) must be able to write here, as it would as the host user.
    std::process::Command::new("chown")
        .args(["1234:1234", ws.to_str().expect("utf-8")])
        .status()
        .expect("chown");
    (dir, ws)
}

async fn sh(sandbox: &DockerSandbox, container: &str, script: &str) -> String {
    let out = sandbox
        .exec(container, &["sh".into(), "-c".into(), script.into()], &[])
        .await
        .expect("exec");
    assert_eq!(
        out.exit_code,
        0,
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

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

#[tokio::test]
async fn a_run_container_is_hardened_labelled_and_writes_as_the_host_user() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (_dir, ws) = workspace();
    let spec = spec(&ws);
    let id = sandbox.create(&spec).await.expect("create");

    assert_eq!(sh(&sandbox, &id, "id -u; id -g").await, "1234\n1234");
    let status = sh(
        &sandbox,
        &id,
        "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
    )
    .await;
    assert!(status.contains("CapEff:\t0000000000000000"), "{status}");
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert_eq!(
        sh(&sandbox, &id, "ls /sys/class/net").await,
        "lo",
        "network none: loopback only"
    );
    assert_eq!(sh(&sandbox, &id, "pwd").await, "/workspace");

    sh(&sandbox, &id, "echo from-the-container > made.txt").await;
    let made = ws.join("made.txt");
    assert_eq!(
        std::fs::read_to_string(&made).expect("visible on the host"),
        "from-the-container\n"
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&made).expect("meta").uid(),
        1234,
        "owned by the mapped user"
    );

    let listed = sandbox
        .list_labelled("corral-sandbox-tests")
        .await
        .expect("list");
    let ours = listed.iter().find(|c| c.id == id).expect("found by label");
    assert_eq!(ours.run_id, spec.run_id);
    assert_eq!(ours.state, "running");
    assert!(
        sandbox
            .list_labelled("another-data-dir")
            .await
            .expect("list")
            .iter()
            .all(|c| c.id != id)
    );
    assert!(sandbox.is_running(&id).await.expect("inspect"));

    sandbox
        .stop(&id, Duration::from_secs(1))
        .await
        .expect("stop");
    sandbox
        .stop(&id, Duration::from_secs(1))
        .await
        .expect("stopping twice is fine");
    sandbox.remove(&id).await.expect("remove");
    sandbox.remove(&id).await.expect("removing twice is fine");
    assert!(
        !sandbox.is_running(&id).await.expect("inspect"),
        "gone is not running"
    );
    assert!(
        !sandbox
            .list_labelled("corral-sandbox-tests")
            .await
            .expect("list")
            .iter()
            .any(|c| c.id == id)
    );
}

#[tokio::test]
async fn a_read_only_workspace_can_be_read_and_not_written() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (_dir, ws) = workspace();
    std::fs::write(ws.join("kept.txt"), "as it was\n").expect("write");
    let spec = ContainerSpec {
        workspace_read_only: true,
        ..spec(&ws)
    };
    let id = sandbox.create(&spec).await.expect("create");
    assert_eq!(sh(&sandbox, &id, "cat kept.txt").await, "as it was");
    let out = sandbox
        .exec(
            &id,
            &[
                "sh".into(),
                "-c".into(),
                "echo changed > kept.txt; echo new > new.txt".into(),
            ],
            &[],
        )
        .await
        .expect("exec");
    assert_ne!(out.exit_code, 0, "writes are refused");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Read-only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("kept.txt")).expect("read"),
        "as it was\n"
    );
    assert!(!ws.join("new.txt").exists());
    sandbox.remove(&id).await.expect("remove");
}

#[tokio::test]
async fn exec_passes_arguments_intact_and_reports_exit_codes_and_streams() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (_dir, ws) = workspace();
    let id = sandbox.create(&spec(&ws)).await.expect("create");
    let tricky = "it's \"quoted\"; $(not run) `nor this` ünïcode\nsecond line";
    let out = sandbox
        .exec(
            &id,
            &["printf".into(), "%s".into(), tricky.into()],
            &["X=1".into()],
        )
        .await
        .expect("exec");
    assert_eq!(out.exit_code, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), tricky);

    let out = sandbox
        .exec(
            &id,
            &[
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; echo $X; exit 3".into(),
            ],
            &["X=from-env".into()],
        )
        .await
        .expect("exec");
    assert_eq!(out.exit_code, 3);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\nfrom-env\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");

    let missing = sandbox
        .exec(&id, &["no-such-program".into()], &[])
        .await
        .expect("exec runs");
    assert_ne!(
        missing.exit_code, 0,
        "a missing binary is a failed step, not a crash"
    );
    sandbox.remove(&id).await.expect("remove");
}

#[tokio::test]
async fn a_missing_image_that_cannot_be_pulled_is_a_clear_error() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    // A registry address on loopback where nothing listens: the pull fails at once, offline.
    let image = "127.0.0.1:9/corral/missing:1";
    let mut progress = Vec::new();
    let err = sandbox
        .ensure_image(image, |line| progress.push(line))
        .await
        .expect_err("no image");
    assert!(
        matches!(err, SandboxError::ImageUnavailable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(image), "{err}");
    assert_eq!(
        progress.first().map(String::as_str),
        Some("pulling 127.0.0.1:9/corral/missing:1")
    );
    sandbox
        .ensure_image(test_image(), |_| {})
        .await
        .expect("present images need no pull");
}

#[tokio::test]
async fn a_step_over_the_memory_limit_is_oom_killed_and_reported() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (_dir, ws) = workspace();
    let mut spec = spec(&ws);
    spec.memory_mib = 64;
    let id = sandbox.create(&spec).await.expect("create");
    assert!(
        !sandbox.oom_killed(&id).await.expect("inspect"),
        "nothing killed yet"
    );
    // dd allocates its 200 MB block in one go.
    let out = sandbox
        .exec(
            &id,
            &[
                "dd".into(),
                "if=/dev/zero".into(),
                "of=/dev/null".into(),
                "bs=200M".into(),
                "count=1".into(),
            ],
            &[],
        )
        .await
        .expect("exec");
    assert_eq!(
        out.exit_code,
        137,
        "killed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        sandbox.oom_killed(&id).await.expect("inspect"),
        "Docker saw the OOM kill"
    );
    sandbox.remove(&id).await.expect("remove");
}

/// Follows a step's stdout until its exit file appears (or `stop_after` lines were kept);
/// returns the kept lines, the offset after the last kept line (what the engine stores), and
/// the exit code.
async fn follow(
    files: &StepFiles,
    reader: &mut LineReader,
    stop_after: Option<usize>,
) -> (Vec<String>, u64, Option<i64>) {
    let mut lines = Vec::new();
    let mut kept_offset = reader.offset();
    for _ in 0..600 {
        let done = files.exit_code().expect("exit file");
        for l in reader.read_lines(usize::MAX).expect("read") {
            lines.push(l.text);
            kept_offset = l.end_offset;
            if stop_after.is_some_and(|n| lines.len() >= n) {
                return (lines, kept_offset, None);
            }
        }
        if let Some(code) = done {
            for l in reader.read_lines(usize::MAX).expect("read") {
                lines.push(l.text);
                kept_offset = l.end_offset;
            }
            return (lines, kept_offset, Some(code));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the step did not finish in 30 s");
}

#[tokio::test]
async fn a_durable_step_keeps_going_while_nobody_follows_and_resumes_without_duplicates() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (_dir, ws) = workspace();
    let spec = spec(&ws);
    let id = sandbox.create(&spec).await.expect("create");
    let script =
        "i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done; echo bye >&2; exit 7";
    sandbox
        .start_step(
            &id,
            "agent",
            &["sh".into(), "-c".into(), script.into()],
            &[],
        )
        .await
        .expect("start");
    let files = StepFiles::new(&spec.run_dir, "agent");

    // Follow a little, then "crash": the reader is dropped, only its offset survives.
    let mut first = LineReader::new(&files.stdout, 0, 1 << 20);
    let (head, stored_offset, _) = follow(&files, &mut first, Some(100)).await;
    drop(first);

    // A new follower starting from the stored offset gets the rest, in order, once.
    let mut second = LineReader::new(&files.stdout, stored_offset, 1 << 20);
    let (tail, _, code) = follow(&files, &mut second, None).await;
    let all: Vec<String> = head.into_iter().chain(tail).collect();
    assert_eq!(all.len(), 20000);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, l)| *l == format!("line {i}")),
        "in order, no gaps or duplicates"
    );
    assert_eq!(code, Some(7));
    assert_eq!(
        std::fs::read_to_string(&files.stderr).expect("stderr"),
        "bye\n"
    );
    sandbox.remove(&id).await.expect("remove");
}

/// The exit status Docker records for an exec, once it ends (5 s at most).
async fn exit_of(sandbox: &DockerSandbox, exec: &str) -> Option<i64> {
    for _ in 0..100 {
        if let Some(code) = sandbox.exec_exit(exec).await.expect("inspect") {
            return Some(code);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// The attack: a step leaves a process behind that keeps writing `0` into a later step's
/// exit file. Docker's record of the step's exec still says how it ended, and once the step is
/// over nothing it started survives to touch the next step.
#[tokio::test]
async fn a_leftover_forger_changes_no_status_and_does_not_outlive_its_step() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (_dir, ws) = workspace();
    let spec = spec(&ws);
    let id = sandbox.create(&spec).await.expect("create");
    let forger = "(while true; do echo 0 > /corral/run/verify.exit; \
                  echo forged >> /corral/run/verify.out; sleep 0.01; done) & \
                  (setsid sh -c 'while true; do sleep 1; done') & \
                  (sh -c 'g() { ( sleep 0.02; g ) & }; g; sleep 0.2') & exit 0";
    let agent = sandbox
        .start_step(
            &id,
            "agent",
            &["sh".into(), "-c".into(), forger.into()],
            &[],
        )
        .await
        .expect("start");
    assert_eq!(exit_of(&sandbox, &agent).await, Some(0));
    let verify_files = StepFiles::new(&spec.run_dir, "verify");
    // The forger is at work (it truncates and rewrites, so a read may catch it empty).
    let mut forged = None;
    for _ in 0..100 {
        forged = verify_files.exit_code().ok().flatten();
        if forged.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(forged, Some(0), "the forger is at work");

    // What the engine does between steps: leftovers stopped (by the killer, not a restart of
    // the container: the watchdog and its sleep stay as they were), the step's files made fresh.
    let watchdog_before = sh(&sandbox, &id, WATCHDOG_PID).await;
    sandbox.end_strays(&id).await.expect("strays ended");
    assert_eq!(
        sh(&sandbox, &id, WATCHDOG_PID).await,
        watchdog_before,
        "the container was not restarted"
    );
    let ps = sh(
        &sandbox,
        &id,
        "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done",
    )
    .await;
    assert!(
        !ps.contains("while true") && !ps.contains("sleep 0.02"),
        "a stray survived (a loop, or a chain that forks and exits): {ps}"
    );
    assert!(
        ps.lines()
            .filter(|l| l.starts_with("sleep"))
            .all(|l| l.trim() == "sleep 5"),
        "only the watchdog's own sleep: {ps}"
    );
    assert!(
        ps.lines().any(|l| l.contains("corral-watchdog")),
        "the watchdog is spared: {ps}"
    );
    verify_files.make_fresh().expect("fresh");
    let verify = sandbox
        .start_step(
            &id,
            "verify",
            &[
                "sh".into(),
                "-c".into(),
                "echo checking; sleep 1; exit 3".into(),
            ],
            &[],
        )
        .await
        .expect("start verify");
    assert_eq!(
        exit_of(&sandbox, &verify).await,
        Some(3),
        "Docker's status of the exec, not a forged file"
    );
    assert_eq!(verify_files.exit_code().expect("read"), Some(3));
    assert_eq!(
        std::fs::read_to_string(&verify_files.stdout).expect("out"),
        "checking\n",
        "no forged output"
    );
    assert!(
        sandbox.is_running(&id).await.expect("inspect"),
        "the container lives on"
    );
    sandbox.remove(&id).await.expect("remove");
}

#[tokio::test]
async fn a_container_whose_run_folder_is_deleted_removes_itself() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (dir, ws) = workspace();
    let spec = spec(&ws);
    let id = sandbox.create(&spec).await.expect("create");
    // A step still running, as an agent would be when its driver and data dir went away.
    StepFiles::new(&spec.run_dir, "agent")
        .make_fresh()
        .expect("step files");
    sandbox
        .start_step(&id, "agent", &["sleep".into(), "600".into()], &[])
        .await
        .expect("a long step");
    assert!(sandbox.is_running(&id).await.expect("inspect"));
    let deleted = std::time::Instant::now();
    // As a person's `rm -rf` would, again while the step still writes into it.
    let mut removed = std::fs::remove_dir_all(dir.path());
    for _ in 0..20 {
        match &removed {
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                removed = std::fs::remove_dir_all(dir.path());
            }
            _ => break,
        }
    }
    removed.expect("rm -rf the data");
    let mut gone = false;
    for _ in 0..200 {
        let listed = sandbox.list_labelled(&spec.instance).await.expect("list");
        if listed.iter().any(|c| c.id == id) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            gone = true;
            break;
        }
    }
    assert!(gone, "the container outlived its run folder by 20 s");
    eprintln!("container gone {:?} after its folder", deleted.elapsed());
}
