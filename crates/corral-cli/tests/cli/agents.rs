//! A real coding agent end to end: the real Claude Code CLI (installed from npm at a pinned
//! version by scripts/install-test-agents.sh) runs as a Corral task in the local sandbox, talking
//! to a scripted Anthropic Messages server this test runs on 127.0.0.1. Turn 1: a Write tool
//! call for hello.txt; turn 2: a final text.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use super::model_server::model_server;
use super::{Env, file_on_branch, git, json, s};

/// Runs one of the repository's scripts and returns what it printed (its last word).
fn script(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    let out = Command::new("bash").arg(path).output().expect("runs");
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The folder of the real agent CLIs' commands, installed once.
pub(super) fn agents_bin() -> String {
    script("install-test-agents.sh")
}

/// A project `r` running Claude Code in the local sandbox against the scripted server at `url`.
pub(super) fn local_claude_project(url: &str) -> Env {
    let bin = agents_bin();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    env.ok(&[
        "project",
        "set",
        "r",
        "sandbox=local",
        "runtime=claude-code",
        &format!("env.ANTHROPIC_BASE_URL={url}"),
        &format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin"),
    ]);
    env
}

/// The key is in no file of the data dir: not the log, the database, the run folders or
/// Corral's own log files (checkouts hold only what the agent wrote).
fn assert_key_in_no_record(env: &Env, secret: &str) {
    for entry in walk(&env.data) {
        if entry.is_file() && !entry.starts_with(env.data.join("checkouts")) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the key leaked into {}",
                entry.display()
            );
        }
    }
}

/// Runs the Claude Code task "Hello agent" in a project set up by `settings` and checks
/// everything the issue asks of an agent run: the events, the prompt, the file on the branch,
/// and the key in no record. Returns the run as `runs --json` shows it.
/// What differs between the agents driven end to end.
struct Agent {
    runtime: &'static str,
    model: &'static str,
    key: &'static str,
    /// The project variable naming the model API, and the path after the server's address.
    base_url: (&'static str, &'static str),
    /// Whether its tool call for the file is a file edit (Claude's Write) or a command (Codex's
    /// exec_command; the file then shows up through the checkout watcher).
    edits_files: bool,
    /// The argument `agent-permissions=bypass` adds to its command line.
    bypass: &'static str,
    /// What its last words contain (the scripted model's final text, or Aider's one reply).
    final_text: &'static str,
    /// Whether it reports token usage (ACP has no usage in its stable protocol).
    reports_usage: bool,
    /// More arguments of `task add` (an ACP task's agent command line).
    task_args: &'static [&'static str],
    /// The runtime whose agent image the run builds: its own, or for ACP the agent it runs.
    image: &'static str,
    /// Whether Corral's gateway speaks for it (its model API without the key in the sandbox).
    gateway: bool,
}

const CLAUDE: Agent = Agent {
    runtime: "claude-code",
    image: "claude-code",
    model: "claude-sonnet-4-5",
    key: "ANTHROPIC_API_KEY",
    base_url: ("ANTHROPIC_BASE_URL", ""),
    edits_files: true,
    bypass: "bypassPermissions",
    final_text: "Done.",
    reports_usage: true,
    gateway: true,
    task_args: &[],
};

const CODEX: Agent = Agent {
    runtime: "codex",
    image: "codex",
    model: "gpt-test",
    key: "OPENAI_API_KEY",
    base_url: ("OPENAI_BASE_URL", "/v1"),
    edits_files: false,
    bypass: "--dangerously-bypass-approvals-and-sandbox",
    final_text: "Done.",
    reports_usage: true,
    gateway: true,
    task_args: &[],
};

const GEMINI: Agent = Agent {
    runtime: "gemini",
    image: "gemini",
    model: "gemini-2.5-flash",
    key: "GEMINI_API_KEY",
    base_url: ("GOOGLE_GEMINI_BASE_URL", ""),
    edits_files: true,
    bypass: "yolo",
    final_text: "Done.",
    reports_usage: true,
    gateway: true,
    task_args: &[],
};

const OPENCODE: Agent = Agent {
    runtime: "opencode",
    image: "opencode",
    model: "test-model",
    key: "OPENAI_API_KEY",
    base_url: ("OPENAI_BASE_URL", "/v1"),
    edits_files: true,
    bypass: "--auto",
    final_text: "Done.",
    reports_usage: true,
    gateway: true,
    task_args: &[],
};

const AIDER: Agent = Agent {
    runtime: "aider",
    image: "aider",
    model: "fake-model",
    key: "OPENAI_API_KEY",
    base_url: ("OPENAI_BASE_URL", "/v1"),
    edits_files: true,
    bypass: "--yes-always",
    final_text: "I will create hello.txt",
    reports_usage: true,
    gateway: true,
    task_args: &[],
};

/// Gemini CLI as an ACP agent, through Corral's ACP bridge.
const ACP: Agent = Agent {
    runtime: "acp",
    image: "gemini",
    model: "gemini-2.5-flash",
    key: "GEMINI_API_KEY",
    base_url: ("GOOGLE_GEMINI_BASE_URL", ""),
    edits_files: true,
    bypass: "bypass",
    final_text: "Done.",
    reports_usage: false,
    gateway: false,
    task_args: &["--", "gemini", "--acp", "-m", "gemini-2.5-flash"],
};

fn agent_hello(spec: &Agent, settings: &[&str]) -> (Env, serde_json::Value) {
    let (url, requests) = model_server();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let base_url = format!("env.{}={url}{}", spec.base_url.0, spec.base_url.1);
    let runtime = format!("runtime={}", spec.runtime);
    let model = format!("model={}", spec.model);
    let mut set = vec!["project", "set", "r", &runtime, &model, &base_url];
    set.extend_from_slice(settings);
    env.ok(&set);
    let prompt = "Write hello.txt saying \"hello\" — naïve ünïcode, $(not a shell)\nsecond line";
    let mut add = vec![
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "Hello agent",
        "--prompt",
        prompt,
    ];
    add.extend_from_slice(spec.task_args);
    if !spec.task_args.is_empty() {
        add.splice(2..2, ["--runtime", spec.runtime]);
    }
    env.ok(&add);

    // Without a key: refused before anything is prepared, naming the key.
    let mut bare = Command::new(env!("CARGO_BIN_EXE_corral"));
    bare.args(["run", "Hello agent"])
        .env("CORRAL_DATA_DIR", &env.data)
        .env_remove(spec.key);
    let refused = bare.output().expect("runs");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "no API key for {}: set {}",
            spec.runtime, spec.key
        )),
        "{stderr}"
    );
    assert_eq!(
        json(&env.ok(&["runs", "--json"])).as_array().map(Vec::len),
        Some(0)
    );

    let secret = "sk-corral-test-0123456789-secret";
    let ran = env.corral_with(
        &["run", "Hello agent", "--follow", "--json"],
        &[(spec.key, secret)],
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    let events: Vec<serde_json::Value> = ran.stdout.lines().map(json).collect();
    let agent: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["kind"] == "agent")
        .map(|e| &e["event"])
        .collect();
    assert!(
        agent.iter().any(|e| e["event"] == "session_started"),
        "{agent:?}"
    );
    if spec.edits_files {
        assert!(
            agent
                .iter()
                .any(|e| e["event"] == "tool_call" && e["kind"] == "file_edit"),
            "{agent:?}"
        );
        assert!(
            // Relative to the checkout, so it names the file in the run's diff.
            agent
                .iter()
                .any(|e| e["event"] == "file_edit" && e["path"] == "hello.txt"),
            "{agent:?}"
        );
    } else {
        assert!(
            agent.iter().any(|e| e["event"] == "tool_call"
                && e["kind"] == "command"
                && e["input"].to_string().contains("hello.txt")),
            "{agent:?}\n{}",
            ran.stdout
        );
    }
    // Either way the checkout watcher saw the file appear.
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "file_changed" && e["path"] == "hello.txt"),
        "{events:?}"
    );
    assert!(
        !spec.reports_usage || agent.iter().any(|e| e["event"] == "usage"),
        "usage is recorded: {agent:?}"
    );
    assert!(
        agent.iter().any(|e| e["event"] == "assistant_text"
            && e["text"]
                .as_str()
                .is_some_and(|t| t.contains(spec.final_text))),
        "{agent:?}"
    );
    assert!(
        agent
            .iter()
            .any(|e| e["event"] == "finished" && e["ok"] == true),
        "{agent:?}"
    );
    // The prompt reached the model intact, as one argument (JSON-escaped in the body).
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // With the real key: from the agent itself, or added by Corral's gateway.
    assert!(
        seen.iter().any(|r| r.contains(secret)),
        "the model API got the real key: {seen:?}"
    );
    let escaped = serde_json::to_string(prompt).expect("json");
    let escaped = &escaped[1..escaped.len() - 1];
    assert!(
        seen.iter().any(|r| r.contains(escaped)),
        "the prompt arrives intact: {seen:?}"
    );

    let run = json(&env.ok(&["runs", "--json"]))[0].clone();
    assert_eq!(run["state"], "succeeded", "{run}");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(file_on_branch(&repo, branch, "hello.txt"), "hello\n");
    git(&repo, &["diff", "--quiet", "HEAD"]);

    // The key is in no record: not the log, not the database, not Corral's own log files.
    assert!(!ran.stdout.contains(secret) && !ran.stderr.contains(secret));
    assert_key_in_no_record(&env, secret);
    // Files the agent wrote are the host user's (the owner of the checkout).
    let checkout = run["checkout_path"].as_str().map(std::path::PathBuf::from);
    if let Some(checkout) = checkout.filter(|c| c.exists()) {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(&checkout).expect("checkout").uid();
        let written = std::fs::metadata(checkout.join("hello.txt")).expect("hello.txt");
        assert_eq!(
            written.uid(),
            owner,
            "hello.txt is owned by the checkout's owner"
        );
    }

    // A follow-up: a new run on the same branch resumes the agent's session with the message.
    let session = agent
        .iter()
        .find(|e| e["event"] == "session_started")
        .and_then(|e| e["session_id"].as_str())
        .expect("a session")
        .to_string();
    let run_id = run["id"].as_str().expect("id");
    let empty = env.corral_with(&["follow-up", run_id, " "], &[(spec.key, secret)]);
    assert_eq!(empty.code, 1);
    assert!(
        empty
            .stderr
            .contains("cannot follow up this run: the message is empty"),
        "{}",
        empty.stderr
    );
    let followed = env.corral_with(
        &[
            "follow-up",
            run_id,
            "FOLLOW-UP: now write second.txt",
            "--follow",
            "--json",
        ],
        &[(spec.key, secret)],
    );
    assert_eq!(followed.code, 0, "{}\n{}", followed.stderr, followed.stdout);
    let resumed: Vec<serde_json::Value> = followed
        .stdout
        .lines()
        .map(json)
        .filter(|e| e["kind"] == "agent")
        .map(|e| e["event"].clone())
        .collect();
    assert!(
        resumed
            .iter()
            .any(|e| e["event"] == "session_started" && e["session_id"] == session.as_str()),
        "the follow-up resumes session {session}: {resumed:?}"
    );
    let latest = json(&env.ok(&["runs", "--json"]))[0].clone();
    assert_eq!(latest["state"], "succeeded", "{latest}");
    assert_eq!(latest["follow_up_of"], run["id"], "{latest}");
    assert_eq!(latest["branch"], run["branch"], "{latest}");
    assert_eq!(file_on_branch(&repo, branch, "second.txt"), "second\n");
    assert_eq!(file_on_branch(&repo, branch, "hello.txt"), "hello\n");
    // The model saw the first conversation again: the session was resumed, not restarted.
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.iter()
            .any(|r| r.contains("FOLLOW-UP") && r.contains("naïve ünïcode")),
        "the follow-up request carries the first prompt"
    );
    assert!(!followed.stdout.contains(secret) && !followed.stderr.contains(secret));
    // Cleanup keeps a checkout while a run using it is kept: with only the newest run kept,
    // the first run is past retention but its checkout is the follow-up's.
    env.ok(&[
        "project",
        "set",
        "r",
        "retention-runs=1",
        "retention-days=0",
    ]);
    let gc = env.ok(&["gc"]);
    assert!(gc.contains("removed 0 checkouts"), "{gc}");
    let checkout = run["checkout_path"].as_str().expect("checkout");
    assert!(Path::new(checkout).join("second.txt").is_file());
    // With none kept, it goes.
    env.ok(&["project", "set", "r", "retention-runs=0"]);
    let gc = env.ok(&["gc"]);
    assert!(gc.contains("removed 2 checkouts"), "{gc}");
    assert!(!Path::new(checkout).exists());
    let gone = env.corral_with(&["follow-up", run_id, "again"], &[(spec.key, secret)]);
    assert!(
        gone.stderr.contains("was removed by cleanup"),
        "{}",
        gone.stderr
    );
    (env, run)
}

fn in_the_local_sandbox(spec: &Agent) -> (Env, serde_json::Value) {
    let bin = agents_bin();
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    let (env, run) = agent_hello(spec, &["sandbox=local", &path]);
    assert_eq!(run["sandbox"], "local", "{run}");
    (env, run)
}

/// The real user path: Corral builds the agent image (FROM a Node.js base, `npm install` of the
/// pinned CLI with host networking, as a test may only reach registries that way) and runs the
/// agent in a container on the host network, where the scripted server is.
fn in_a_container_built_for_it(spec: &Agent) {
    let base = format!("base-image={}", node_image());
    // Through the gateway (the default, network=allowlist): the container has no network,
    // the agent a placeholder key; the gateway reaches the scripted server on this machine
    // with the real one. An agent the gateway does not speak for gets the host's network.
    let network = if spec.gateway {
        "network=allowlist"
    } else {
        "network=host"
    };
    let (env, run) = agent_hello(
        spec,
        // agent-permissions is left at its default (auto): bypass in a container whose agent
        // holds no key. One that holds its key gets edits; it is given bypass here.
        &if spec.gateway {
            vec![base.as_str(), network, "build-network=host"]
        } else {
            vec![
                base.as_str(),
                network,
                "build-network=host",
                "agent-permissions=bypass",
            ]
        },
    );
    assert_eq!(run["sandbox"], "docker", "{run}");
    let log = env.ok(&["logs", run["id"].as_str().expect("id"), "--json"]);
    if spec.gateway {
        let requests = super::network::network_requests(&log);
        assert!(
            requests
                .iter()
                .any(|r| r["status"] == 200 && r["blocked"].is_null()),
            "the model requests went through the gateway: {requests:?}"
        );
        assert!(
            !log.contains("the key is in the sandbox"),
            "no note says the key entered: {log}"
        );
    }
    let argv = log
        .lines()
        .map(json)
        .find(|e| e["kind"] == "step_started" && e["step"] == "agent")
        .map(|e| e["argv"].clone())
        .expect("the agent step");
    assert!(
        argv.as_array()
            .is_some_and(|a| a.iter().any(|v| v == spec.bypass)),
        "agent-permissions=auto is bypass in a container: {argv}"
    );
    // The build of the agent's image, or the reuse of that same image built before (by another
    // test or an earlier run on this machine), is in the run's log.
    let image = format!("corral-agent/{}:", spec.image);
    let built = log.contains(&format!("building agent image {image}"))
        && log.contains(&format!("Successfully tagged {image}"));
    let reused = log
        .lines()
        .any(|l| l.contains(&format!("agent image {image}")) && l.contains("(built before)"));
    assert!(
        built || reused,
        "no build or reuse of {image} in the log: {log}"
    );
}

#[test]
fn claude_code_writes_a_file_through_corral_in_the_local_sandbox() {
    let (env, run) = in_the_local_sandbox(&CLAUDE);
    // The readable log reads like the window: what the agent did, not its raw JSON lines
    // (Claude Code's init line alone is kilobytes); --raw adds them.
    let id = run["id"].as_str().expect("id");
    let readable = env.ok(&["logs", id]);
    assert!(readable.contains("Done."), "{readable}");
    assert!(
        !readable.contains("\"session_id\""),
        "no raw JSON lines: {readable}"
    );
    let raw = env.ok(&["logs", id, "--raw"]);
    assert!(raw.contains("\"session_id\""), "{raw}");
    assert!(raw.lines().count() > readable.lines().count());
}

#[test]
fn claude_code_writes_a_file_through_corral_in_a_container_built_for_it() {
    in_a_container_built_for_it(&CLAUDE);
}

#[test]
fn gemini_writes_a_file_through_corral_in_the_local_sandbox() {
    in_the_local_sandbox(&GEMINI);
}

#[test]
fn gemini_writes_a_file_through_corral_in_a_container_built_for_it() {
    in_a_container_built_for_it(&GEMINI);
}

#[test]
fn opencode_writes_a_file_through_corral_in_the_local_sandbox() {
    in_the_local_sandbox(&OPENCODE);
}

#[test]
fn opencode_writes_a_file_through_corral_in_a_container_built_for_it() {
    in_a_container_built_for_it(&OPENCODE);
}

/// Aider runs in the local sandbox only: its agent image needs Python, which the test base image
/// (Node.js) does not have, and a Debian-based base installs it with apt, which the image build
/// reaches only on a machine with a package mirror.
#[test]
fn aider_writes_a_file_through_corral_in_the_local_sandbox() {
    in_the_local_sandbox(&AIDER);
}

#[test]
fn an_acp_agent_writes_a_file_through_corral_in_the_local_sandbox() {
    in_the_local_sandbox(&ACP);
}

#[test]
fn an_acp_agent_writes_a_file_through_corral_in_a_container_built_for_it() {
    in_a_container_built_for_it(&ACP);
}

#[test]
fn codex_writes_a_file_through_corral_in_the_local_sandbox() {
    in_the_local_sandbox(&CODEX);
}

#[test]
fn codex_writes_a_file_through_corral_in_a_container_built_for_it() {
    in_a_container_built_for_it(&CODEX);
}

/// The glibc + Node.js base image the agent images are built from in tests.
pub(super) fn node_image() -> String {
    script("build-test-node-image.sh")
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn an_agent_missing_from_the_image_fails_the_run_saying_which_program() {
    super::test_image();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    env.ok(&[
        "project",
        "set",
        "r",
        "agent-image=corral-test/busybox:1",
        "runtime=claude-code",
    ]);
    env.prompt_task("r", "No agent", "hi");
    let ran = env.corral_with(&["run", "No agent"], &[("ANTHROPIC_API_KEY", "sk-x")]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("the agent's program `claude` was not found in the run's sandbox"),
        "{}",
        ran.stderr
    );
}

#[test]
fn an_unknown_model_fails_the_run_with_the_agents_own_message() {
    let (url, _requests) = model_server();
    let env = local_claude_project(&url);
    env.ok(&[
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "Bad model",
        "--prompt",
        "hi",
        "--model",
        "claude-nope",
    ]);
    let ran = env.corral_with(&["run", "Bad model"], &[("ANTHROPIC_API_KEY", "sk-x")]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let run = json(&env.ok(&["runs", "--json"]))[0].clone();
    assert_eq!(run["state"], "failed", "{run}");
    let reason = run["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("claude-nope"), "{reason}");
}

/// A real Secret Service for one test: a private D-Bus session bus with gnome-keyring's
/// secrets component, unlocked, keeping its keyring in a temp HOME. Stopped on drop.
struct Keychain {
    address: String,
    bus_pid: String,
    _home: tempfile::TempDir,
}

impl Keychain {
    fn start() -> Keychain {
        let home = tempfile::tempdir().expect("home");
        let runtime = home.path().join("run");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        let bus = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .output()
            .expect("dbus-daemon runs (Debian package dbus)");
        let printed = String::from_utf8_lossy(&bus.stdout).into_owned();
        let mut lines = printed.lines();
        let address = lines.next().expect("bus address").to_string();
        let bus_pid = lines.next().expect("bus pid").to_string();
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--daemonize"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon runs (Debian package gnome-keyring)");
        if let Some(mut stdin) = daemon.stdin.take() {
            stdin.write_all(b"corral-test").expect("unlock password");
        }
        assert!(daemon.wait().expect("daemonizes").success());
        Keychain {
            address,
            bus_pid,
            _home: home,
        }
    }
}

impl Drop for Keychain {
    fn drop(&mut self) {
        // The keyring daemon exits with its bus.
        let _ = Command::new("kill").arg(&self.bus_pid).status();
    }
}

#[test]
fn a_key_in_the_os_keychain_reaches_the_agent_and_nothing_else() {
    let keychain = Keychain::start();
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    env.prompt_task("r", "Hello agent", "hi");
    // Only the keychain has the key.
    let bus = [
        ("DBUS_SESSION_BUS_ADDRESS", keychain.address.as_str()),
        ("ANTHROPIC_API_KEY", ""),
    ];
    let source = |env: &Env| {
        json(&env.corral_with(&["key", "list", "--json"], &bus).stdout)
            .as_array()
            .and_then(|keys| {
                keys.iter()
                    .find(|k| k["name"] == "ANTHROPIC_API_KEY")
                    .cloned()
            })
            .map(|k| k["source"].clone())
            .expect("the key is listed")
    };
    assert_eq!(source(&env), serde_json::Value::Null);

    let secret = "sk-keychain-test-0123456789";
    let mut set = Command::new(env!("CARGO_BIN_EXE_corral"));
    set.args(["key", "set", "ANTHROPIC_API_KEY"])
        .env("CORRAL_DATA_DIR", &env.data)
        .envs(bus)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = set.spawn().expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{secret}\n").as_bytes())
        .expect("writes");
    let out = child.wait_with_output().expect("ends");
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    assert_eq!(source(&env), "keychain");
    let listed = env.corral_with(&["key", "list"], &bus);
    assert!(listed.stdout.contains("set (keychain)") && !listed.stdout.contains(secret));

    let ran = env.corral_with(&["run", "Hello agent", "--follow", "--json"], &bus);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.iter().any(|r| r
            .to_ascii_lowercase()
            .contains(&format!("x-api-key: {secret}"))),
        "the agent sent the keychain's key"
    );
    assert!(!ran.stdout.contains(secret) && !ran.stderr.contains(secret));
    assert_key_in_no_record(&env, secret);

    // Removed: the next run is refused, naming where to put a key.
    let deleted = env.corral_with(&["key", "delete", "ANTHROPIC_API_KEY"], &bus);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert_eq!(source(&env), serde_json::Value::Null);
    let refused = env.corral_with(&["run", "Hello agent"], &bus);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("no API key for claude-code")
            && refused.stderr.contains("corral key set ANTHROPIC_API_KEY"),
        "{}",
        refused.stderr
    );
    // A key name no runtime reads is refused.
    let unknown = env.corral_with(&["key", "delete", "MY_TOKEN"], &bus);
    assert!(
        unknown.stderr.contains("not a key any runtime reads"),
        "{}",
        unknown.stderr
    );
}

/// Whatever an agent prints, the run goes on: a `claude` that prints random bytes, truncated
/// JSON, JSON of the wrong shapes and a 10 MB line (then a real session line) still finishes
/// the run, every byte of it kept in the log, the understood line parsed.
#[test]
fn garbage_from_an_agent_never_fails_the_engine() {
    let env = Env::new();
    let bin = tempfile::tempdir().expect("bin dir");
    let script = bin.path().join("claude");
    std::fs::write(
        &script,
        "#!/bin/sh\n\
         head -c 20000 /dev/urandom\n\
         printf '\\n{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"tool_use\",\"na\\n'\n\
         printf '{\"type\":\"result\",\"usage\":\"none\",\"total_cost_usd\":\"free\"}\\n'\n\
         printf '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\n'\n\
         head -c 10485760 /dev/zero | tr '\\0' 'x'\n\
         printf '\\n{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-garbage\"}\\n'\n",
    )
    .expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let path = format!(
        "env.PATH={}:/usr/local/bin:/usr/bin:/bin",
        bin.path().display()
    );
    env.ok(&[
        "project",
        "set",
        "r",
        "sandbox=local",
        "runtime=claude-code",
        &path,
    ]);
    env.prompt_task("r", "Noise", "hi");
    let ran = env.corral_with(&["run", "Noise"], &[("ANTHROPIC_API_KEY", "sk-x")]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let run = json(&env.ok(&["runs", "--json"]))[0].clone();
    assert_eq!(run["state"], "succeeded", "{run}");
    let log = env.ok(&["logs", run["id"].as_str().expect("id"), "--json"]);
    let entries: Vec<serde_json::Value> = log.lines().map(json).collect();
    let stdout_bytes: usize = entries
        .iter()
        .filter(|e| e["kind"] == "output" && e["stream"] == "stdout")
        .filter_map(|e| e["line"].as_str())
        .map(str::len)
        .sum();
    assert!(
        stdout_bytes >= 10 << 20,
        "the 10 MB line is kept: {stdout_bytes}"
    );
    let raw = entries
        .iter()
        .filter(|e| e["kind"] == "agent" && e["event"]["event"] == "raw")
        .count();
    assert!(raw >= 4, "what it could not understand is kept raw: {raw}");
    assert!(entries.iter().any(|e| e["kind"] == "agent"
        && e["event"]["event"] == "session_started"
        && e["event"]["session_id"] == "s-garbage"));
}
