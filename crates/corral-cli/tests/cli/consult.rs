//! `ask_agent`: the real Claude Code asks another agent through Corral's MCP server, against
//! the scripted model server. Corral starts a consult run, a child of the asking run, whose
//! final text comes back as the tool's result; in a container the consulted agent sees the
//! asking run's checkout read-only.

use super::model_server::{CONSULT_ANSWER, model_server};
use super::{Env, json, s};

/// Runs a Claude Code task that consults another agent, in a project set up with `settings`;
/// returns the environment, the asking run and its consult run (JSON), and the model's requests.
fn claude_consults(settings: &[&str]) -> (Env, serde_json::Value, serde_json::Value, Vec<String>) {
    let (url, requests) = model_server();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let base_url = format!("env.ANTHROPIC_BASE_URL={url}");
    let mut set = vec!["project", "set", "r", "runtime=claude-code", &base_url];
    set.extend_from_slice(settings);
    env.ok(&set);
    env.prompt_task("r", "Asker", "CORRAL-MCP-CONSULT: add a cache");
    let ran = env.corral_with(
        &["run", "Asker", "--follow", "--json"],
        &[("ANTHROPIC_API_KEY", "sk-corral-test-consult-secret")],
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    let runs = json(&env.ok(&["runs", "--json"]));
    let runs = runs.as_array().expect("runs");
    assert_eq!(
        runs.len(),
        2,
        "the asking run and its consult run: {runs:?}"
    );
    let asking = runs
        .iter()
        .find(|r| r["consult_of"].is_null())
        .cloned()
        .expect("the asking run");
    let consult = runs
        .iter()
        .find(|r| !r["consult_of"].is_null())
        .cloned()
        .expect("the consult run");
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (env, asking, consult, seen)
}

/// The consult run answered the asking run in its call, and is recorded as its child.
fn assert_consulted(
    env: &Env,
    asking: &serde_json::Value,
    consult: &serde_json::Value,
    seen: &[String],
) {
    assert_eq!(asking["state"], "succeeded", "{asking}");
    assert_eq!(consult["state"], "succeeded", "{consult}");
    assert_eq!(
        consult["consult_of"], asking["id"],
        "a child of the asking run"
    );
    assert_eq!(consult["task_id"], asking["task_id"]);
    assert!(
        consult["branch"].is_null() && consult["checkout_path"].is_null(),
        "{consult}"
    );
    // The consulted agent was told the task and the question.
    assert!(
        seen.iter()
            .any(|r| r.contains("Another coding agent asks for your view")
                && r.contains("Is a HashMap right for the cache?")
                && r.contains("I am adding a cache")),
        "the consulted agent got the question"
    );
    // Its final text reached the asking agent as the tool's result.
    assert!(
        seen.iter()
            .any(|r| r.contains("tool_result") && r.contains(CONSULT_ANSWER)),
        "the answer reached the asking agent in its call"
    );
    let id = asking["id"].as_str().expect("id");
    let log = env.ok(&["logs", id]);
    assert!(log.contains("consults claude-code in run"), "{log}");
    assert!(log.contains("answered (succeeded)"), "{log}");
    let calls: Vec<serde_json::Value> = env
        .ok(&["logs", id, "--json"])
        .lines()
        .map(json)
        .filter(|e| e["kind"] == "tool_call")
        .collect();
    assert!(
        calls
            .iter()
            .any(|c| c["call"]["tool"] == "ask_agent" && c["call"]["outcome"]["outcome"] == "ok"),
        "{calls:?}"
    );
    // Shown under the asking run, not as one of the task's runs.
    let shown = json(&env.ok(&["run", "show", id, "--json"]));
    assert_eq!(shown["consults"][0]["id"], consult["id"], "{shown}");
    let text = env.ok(&["run", "show", id]);
    assert!(
        text.contains("consulted  the task's agent in run"),
        "{text}"
    );
    let own = json(&env.ok(&["runs", "--task", "Asker", "--json"]));
    assert_eq!(own.as_array().map(Vec::len), Some(1), "{own}");
    // Nothing waited on a person, and no task was added.
    let inbox = json(&env.ok(&["inbox", "--json"]));
    assert_eq!(inbox.as_array().map(Vec::len), Some(0), "{inbox}");
    let tasks = json(&env.ok(&["task", "list", "-p", "r", "--json"]));
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");
    // A consult run is not followed up: its asker is.
    let consult_id = consult["id"].as_str().expect("id");
    let refused = env.fails(&["follow-up", consult_id, "and more?"]);
    assert!(
        refused.contains("follow up the run that asked"),
        "{refused}"
    );
    // It only read: Claude Code in plan mode.
    let consult_log = env.ok(&["logs", consult_id, "--json"]);
    let argv = consult_log
        .lines()
        .map(json)
        .find(|e| e["kind"] == "step_started" && e["step"] == "agent")
        .map(|e| e["argv"].to_string())
        .expect("the consult's agent step");
    assert!(argv.contains("\"--permission-mode\",\"plan\""), "{argv}");
}

#[test]
fn claude_code_consults_another_agent_from_a_container_that_sees_its_checkout_read_only() {
    let base = format!("base-image={}", super::agents::node_image());
    let (env, asking, consult, seen) = claude_consults(&[&base, "build-network=host"]);
    assert_consulted(&env, &asking, &consult, &seen);
    // The consulted agent tried to write in the checkout (refused: plan mode, and a read-only
    // mount beneath it); nothing of it is in the asking run's result.
    let consult_log = env.ok(&["logs", consult["id"].as_str().expect("id")]);
    assert!(consult_log.contains("mounted read-only"), "{consult_log}");
    let diff = env.ok(&["diff", asking["id"].as_str().expect("id")]);
    assert!(!diff.contains("consulted.txt"), "{diff}");
}

#[test]
fn claude_code_consults_another_agent_from_the_local_sandbox() {
    let bin = super::agents::agents_bin();
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    let (env, asking, consult, seen) = claude_consults(&["sandbox=local", &path]);
    assert_consulted(&env, &asking, &consult, &seen);
    let consult_log = env.ok(&["logs", consult["id"].as_str().expect("id")]);
    assert!(consult_log.contains("NOT read-only here"), "{consult_log}");
}

#[test]
fn a_run_waiting_on_another_agent_needs_nobody_and_its_end_stops_the_consult() {
    let (url, _requests) = model_server();
    let bin = super::agents::agents_bin();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let base_url = format!("env.ANTHROPIC_BASE_URL={url}");
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    env.ok(&[
        "project",
        "set",
        "r",
        "runtime=claude-code",
        "sandbox=local",
        &base_url,
        &path,
    ]);
    env.prompt_task("r", "Asker", "CORRAL-MCP-CONSULT-SLOW: add a cache");
    let mut running = env.spawn_with(
        &["run", "Asker"],
        &[("ANTHROPIC_API_KEY", "sk-corral-test-consult")],
    );
    // The consult run is going, its asker waiting on it.
    let mut runs = serde_json::Value::Null;
    for _ in 0..600 {
        runs = json(&env.ok(&["runs", "--json"]));
        let consult_live = runs.as_array().is_some_and(|all| {
            all.iter()
                .any(|r| !r["consult_of"].is_null() && r["state"] == "running")
        });
        if consult_live {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let all = runs.as_array().cloned().unwrap_or_default();
    let asking = all
        .iter()
        .find(|r| r["consult_of"].is_null())
        .cloned()
        .expect("the asking run");
    let consult = all
        .iter()
        .find(|r| !r["consult_of"].is_null())
        .cloned()
        .unwrap_or_else(|| panic!("no consult run: {runs}"));
    let asking_id = asking["id"].as_str().expect("id").to_string();
    assert_eq!(asking["state"], "waiting_input", "{asking}");
    // Nobody is asked: not in the inbox, and the task shows as running.
    let inbox = json(&env.ok(&["inbox", "--json"]));
    assert_eq!(inbox.as_array().map(Vec::len), Some(0), "{inbox}");
    let tasks = json(&env.ok(&["task", "list", "-p", "r", "--json"]));
    assert_eq!(tasks[0]["status"], "running", "{tasks}");
    // Its question is the other agent's to answer.
    let log = env.ok(&["logs", &asking_id]);
    let request = log
        .split("(request ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("{log}"));
    let refused = env.fails(&["answer", request, "my own answer"]);
    assert!(refused.contains("for another agent"), "{refused}");
    // The asking run ends: its consult run is cancelled with it.
    env.ok(&["run", "cancel", &asking_id]);
    let consult_id = consult["id"].as_str().expect("id");
    let mut ended = serde_json::Value::Null;
    for _ in 0..300 {
        ended = json(&env.ok(&["run", "show", consult_id, "--json"]));
        if ended["state"] == "cancelled" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(ended["state"], "cancelled", "{ended}");
    let _ = running.wait();
    let asking = json(&env.ok(&["run", "show", &asking_id, "--json"]));
    assert_eq!(asking["state"], "cancelled", "{asking}");
}
