//! The real Claude Code talks to its run's MCP server (Corral's tools) against the scripted
//! model server: in a container with no network (the default; the relay's `mcp` mode and the
//! run's link carry the calls) and in the local sandbox (a loopback door). It proposes a task,
//! which waits for a person's approval, and asks questions that `corral answer` answers. The
//! other CLIs are in `mcp_clis`.

use super::model_server::model_server;
use super::{Env, json, s};

/// Runs a Claude Code task whose prompt makes the scripted model call Corral's tools, in a
/// project set up with `settings`; returns the environment and the run's log (JSON lines).
fn claude_calls_corral(settings: &[&str], prompt: &str) -> (Env, String, Vec<String>) {
    let (url, requests) = model_server();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let mut set = vec!["project", "set", "r", "runtime=claude-code"];
    let base_url = format!("env.ANTHROPIC_BASE_URL={url}");
    set.push(&base_url);
    set.extend_from_slice(settings);
    env.ok(&set);
    env.prompt_task("r", "Asker", prompt);
    let ran = env.corral_with(
        &["run", "Asker", "--follow", "--json"],
        &[("ANTHROPIC_API_KEY", "sk-corral-test-mcp-secret")],
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    let run = env.ok(&["runs", "--json"]);
    let id = json(&run)[0]["id"].as_str().expect("id").to_string();
    let log = env.ok(&["logs", &id, "--json"]);
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (env, log, seen)
}

/// The proposed task is there, waiting; the call is in the log; the model got the result.
fn assert_proposed(env: &Env, log: &str, seen: &[String]) {
    let calls: Vec<serde_json::Value> = log
        .lines()
        .map(json)
        .filter(|e| e["kind"] == "tool_call")
        .collect();
    assert!(
        calls
            .iter()
            .any(|c| c["call"]["tool"] == "create_task" && c["call"]["outcome"]["outcome"] == "ok"),
        "{log}"
    );
    // Claude Code offered the tool to the model, and sent back what it returned.
    assert!(
        seen.iter()
            .any(|r| r.contains("\"name\":\"mcp__corral__create_task\"")),
        "the model was offered Corral's tools"
    );
    assert!(
        seen.iter()
            .any(|r| r.contains("proposed: it runs once a person approves it")),
        "the tool's result reached the model"
    );
    let tasks = json(&env.ok(&["task", "list", "-p", "r", "--json"]));
    let docs = tasks
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["title"] == "Write the docs")
        .cloned()
        .expect("the proposed task");
    assert_eq!(docs["status"], "proposed", "{docs}");
    let refused = env.fails(&["run", "Write the docs"]);
    assert!(refused.contains("corral task approve"), "{refused}");
    let approved = env.ok(&["task", "approve", "Write the docs"]);
    assert!(approved.contains("approved"), "{approved}");
    let after = json(&env.ok(&["task", "show", "Write the docs", "--json"]));
    assert_eq!(after["status"], "ready", "{after}");
}

#[test]
fn claude_code_proposes_a_task_through_corral_from_a_container_without_network() {
    let base = format!("base-image={}", super::agents::node_image());
    let (env, log, seen) = claude_calls_corral(
        &[&base, "build-network=host"],
        "CORRAL-MCP-TASK: note the docs as a task of their own",
    );
    assert_proposed(&env, &log, &seen);
}

#[test]
fn claude_code_proposes_a_task_through_corral_from_the_local_sandbox() {
    let bin = super::agents::agents_bin();
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    let (env, log, seen) = claude_calls_corral(
        &["sandbox=local", &path],
        "CORRAL-MCP-TASK: note the docs as a task of their own",
    );
    assert_proposed(&env, &log, &seen);
}

#[test]
fn a_rejected_task_never_runs() {
    let (env, log, seen) = {
        let bin = super::agents::agents_bin();
        let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
        claude_calls_corral(&["sandbox=local", &path], "CORRAL-MCP-TASK again")
    };
    assert_eq!(
        json(&env.ok(&["task", "show", "Write the docs", "--json"]))["status"],
        "proposed",
        "{log}\n{seen:?}"
    );
    let rejected = env.ok(&["task", "reject", "Write the docs"]);
    assert!(rejected.contains("rejected"), "{rejected}");
    let refused = env.fails(&["run", "Write the docs"]);
    assert!(refused.contains("rejected"), "{refused}");
    let again = env.fails(&["task", "approve", "Write the docs"]);
    assert!(again.contains("not waiting for approval"), "{again}");
}

/// A Claude Code task in the local sandbox that asks a question (with `settings`), run in the
/// background; returns the environment, the running `corral run`, and the model's requests.
fn claude_asks(
    settings: &[&str],
) -> (
    Env,
    std::process::Child,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let (url, requests) = model_server();
    let bin = super::agents::agents_bin();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let base_url = format!("env.ANTHROPIC_BASE_URL={url}");
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    let mut set = vec![
        "project",
        "set",
        "r",
        "runtime=claude-code",
        "sandbox=local",
    ];
    set.extend([base_url.as_str(), path.as_str()]);
    set.extend_from_slice(settings);
    env.ok(&set);
    env.prompt_task("r", "Asker", "CORRAL-MCP-ASK: which database?");
    let running = env.spawn_with(
        &["run", "Asker"],
        &[("ANTHROPIC_API_KEY", "sk-corral-test-ask")],
    );
    (env, running, requests)
}

/// Waits until the run's agent ended a turn (its step exited with 0).
pub(super) fn wait_for_turn_end(env: &Env, run: &str) {
    for _ in 0..300 {
        if env.ok(&["logs", run]).contains("agent - exited with 0") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the agent's turn in run {run} did not end");
}

/// The question, once it is in the inbox (and its run waits).
pub(super) fn inbox_question(env: &Env) -> serde_json::Value {
    for _ in 0..600 {
        let inbox = json(&env.ok(&["inbox", "--json"]));
        if let Some(q) = inbox
            .as_array()
            .and_then(|items| items.iter().find(|i| i["kind"] == "question"))
        {
            return q.clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no question reached the inbox");
}

pub(super) fn finished(env: &Env, running: std::process::Child) -> String {
    let out = running.wait_with_output().expect("corral run ends");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        let runs = json(&env.ok(&["runs", "--json"]));
        let log = env.ok(&["logs", runs[0]["id"].as_str().unwrap_or_default()]);
        panic!("{stderr}\n{log}");
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn claude_code_asks_and_the_answer_comes_back_in_its_call() {
    let (env, running, requests) = claude_asks(&[]);
    let question = inbox_question(&env);
    assert_eq!(question["questions"][0]["question"], "Which database?");
    assert_eq!(question["questions"][0]["options"][0]["label"], "SQLite");
    let runs = json(&env.ok(&["runs", "--json"]));
    assert_eq!(runs[0]["state"], "waiting_input", "{runs}");
    let id = question["id"].as_str().expect("id");
    let answered = env.ok(&["answer", &id[..8], "--option", "SQLite", "small and local"]);
    assert!(answered.contains("goes on"), "{answered}");
    finished(&env, running);
    // The model's next request carries the answer, as the tool's result.
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.iter().any(|r| r.contains("tool_result")
            && r.contains("A: SQLite")
            && r.contains("small and local")),
        "the answer reached the model in the call's result"
    );
    let again = env.fails(&["answer", id, "--option", "Postgres"]);
    assert!(again.contains("answered already"), "{again}");
}

#[test]
fn an_answer_after_the_call_gave_up_resumes_the_agents_session() {
    let (env, running, requests) = claude_asks(&["ask-wait=1s"]);
    let question = inbox_question(&env);
    let id = question["id"].as_str().expect("id").to_string();
    // The call returned "pending"; the agent ended its turn; the run still waits.
    let run = question["run_id"].as_str().expect("run id").to_string();
    wait_for_turn_end(&env, &run);
    assert_eq!(
        json(&env.ok(&["runs", "--json"]))[0]["state"],
        "waiting_input"
    );
    let unknown = env.fails(&["answer", &id, "--option", "MySQL"]);
    assert!(unknown.contains("MySQL"), "{unknown}");
    env.ok(&["answer", &id, "--option", "Postgres"]);
    finished(&env, running);
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.iter()
            .any(|r| r.contains("A person answered the question") && r.contains("A: Postgres")),
        "the answer came as the next turn of the same session"
    );
    let run = json(&env.ok(&["runs", "--json"]));
    assert_eq!(run[0]["state"], "succeeded", "{run}");
    let log = env.ok(&["logs", run[0]["id"].as_str().expect("id")]);
    assert!(log.contains("session resumes with it"), "{log}");
    assert!(log.contains("Got the answer."), "{log}");
}

#[test]
fn a_question_outlives_a_kill_and_its_answer_still_reaches_the_agent() {
    let (env, mut running, requests) = claude_asks(&[]);
    let question = inbox_question(&env);
    let id = question["id"].as_str().expect("id").to_string();
    // Corral dies while the agent's call waits.
    running.kill().expect("kill -9");
    let _ = running.wait();
    let inbox = json(&env.ok(&["inbox", "--json"]));
    assert_eq!(inbox[0]["id"], id.as_str(), "still in the inbox: {inbox}");
    // Another corral picks the run up; the answer reaches the agent as its next turn.
    let run = json(&env.ok(&["runs", "--json"]))[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    // (With the key: its next turn starts a new agent process, which needs it.)
    let driver = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["drive", &run])
        .env("CORRAL_DATA_DIR", &env.data)
        .env("ANTHROPIC_API_KEY", "sk-corral-test-ask")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("corral drive starts");
    env.ok(&["answer", &id, "--option", "SQLite"]);
    let mut state = String::new();
    for _ in 0..600 {
        state = json(&env.ok(&["runs", "--json"]))[0]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if state == "succeeded" || state == "failed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = env.ok(&["logs", &run]);
    assert_eq!(state, "succeeded", "{log}");
    assert!(log.contains("Corral restarted"), "{log}");
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.iter()
            .any(|r| r.contains("A person answered the question") && r.contains("A: SQLite")),
        "{log}"
    );
    let mut driver = driver;
    let _ = driver.wait();
}
