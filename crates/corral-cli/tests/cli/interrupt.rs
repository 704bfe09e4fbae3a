//! Ctrl-C on `corral run --follow`: cancels the run by default; with `--on-interrupt detach`
//! the run goes on, driven to its end by a background `corral` process.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Env, json};

/// Starts `corral run <title> --follow ...` and returns it once its log printed `started`.
fn run_until_started(env: &Env, title: &str, extra: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", title, "--follow"])
        .args(extra)
        .env("CORRAL_DATA_DIR", &env.data)
        .env_remove("CORRAL_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("corral run starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("started") && !line.contains("run ") => return child,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the run never printed `started`: {e}");
            }
        }
    }
}

/// Sends SIGINT (what Ctrl-C sends) and waits for the process to exit: (code, stderr).
fn ctrl_c(mut child: Child) -> (i32, String) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        assert!(
            Instant::now() < deadline,
            "corral run did not exit on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    (code, stderr)
}

fn state_of(env: &Env, title: &str) -> String {
    let runs = json(&env.ok(&["runs", "--task", title, "--json"]));
    runs[0]["state"].as_str().unwrap_or_default().to_string()
}

#[test]
fn ctrl_c_cancels_the_run_or_with_detach_leaves_it_to_a_background_corral() {
    let env = Env::new();
    env.project("r", &["sandbox=local"]);
    env.sh_task("r", "Long", "echo started; sleep 60");
    env.sh_task("r", "Short", "echo started; sleep 3; echo finished");

    let (code, stderr) = ctrl_c(run_until_started(&env, "Long", &[]));
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("Ctrl-C: cancelling run"), "{stderr}");
    assert_eq!(state_of(&env, "Long"), "cancelled", "{stderr}");

    let (code, stderr) = ctrl_c(run_until_started(
        &env,
        "Short",
        &["--on-interrupt", "detach"],
    ));
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("detached"), "{stderr}");
    assert!(
        stderr.contains("--follow"),
        "says how to follow it: {stderr}"
    );
    // Nothing else opens the data dir (`corral runs` only reads): the background process
    // drives the run to its end.
    let deadline = Instant::now() + Duration::from_secs(60);
    while state_of(&env, "Short") != "succeeded" {
        assert!(
            Instant::now() < deadline,
            "the detached run did not finish: {}",
            state_of(&env, "Short")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let id = json(&env.ok(&["runs", "--task", "Short", "--json"]))[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let log = env.ok(&["logs", &id]);
    assert!(log.contains("finished"), "{log}");
}

#[test]
fn a_cancel_from_another_process_reaches_the_process_that_drives_the_run() {
    let env = Env::new();
    env.project("r", &["sandbox=local"]);
    env.sh_task("r", "Long", "echo started; sleep 60; echo never");
    let mut driver = run_until_started(&env, "Long", &[]);
    let id = json(&env.ok(&["runs", "--task", "Long", "--json"]))[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let cancelled = Instant::now();
    env.ok(&["run", "cancel", &id]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(status) = driver.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        assert!(
            Instant::now() < deadline,
            "the driving process did not end the run"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "cancelled from another process in {:?}",
        cancelled.elapsed()
    );
    assert_eq!(code, 1, "corral run reports the run did not succeed");
    assert_eq!(state_of(&env, "Long"), "cancelled");
    let log = env.ok(&["logs", &id, "--json"]);
    assert!(
        !log.contains("\"line\":\"never\""),
        "the step was stopped: {log}"
    );
}
