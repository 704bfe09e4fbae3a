//! The real Claude Code talks to its run's MCP server (Corral's tools) against the scripted
//! model server: in a container with no network (the default; the relay's `mcp` mode and the
//! run's link carry the calls) and in the local sandbox (a loopback door). It proposes a task,
//! which waits for a person's approval.

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
        calls.iter().any(|c| c["call"]["tool"] == "create_task"
            && c["call"]["outcome"]["outcome"] == "ok"),
        "{log}"
    );
    // Claude Code offered the tool to the model, and sent back what it returned.
    assert!(
        seen.iter().any(|r| r.contains("\"name\":\"mcp__corral__create_task\"")),
        "the model was offered Corral's tools"
    );
    assert!(
        seen.iter().any(|r| r.contains("proposed: it runs once a person approves it")),
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
