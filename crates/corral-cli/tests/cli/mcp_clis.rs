//! Codex, Gemini CLI, OpenCode, an ACP agent (Gemini CLI `--acp`) and Claude Code each propose
//! a task and ask a question through Corral's MCP server, against the scripted model server: in
//! the local sandbox, and in a container with no network (the model through the gateway, the
//! tools through the relay). The ACP agent runs locally only: the gateway does not speak for it,
//! and Corral's tools come with the gateway.

use super::mcp::{finished, inbox_question};
use super::model_server::model_server;
use super::{Env, json, s};

/// Another CLI's agent proposes a task, then asks a question that is answered from the CLI
/// while its call waits: the model's next request carries the answer.
/// In the local sandbox, or (`in_container`) in a container built for the agent with no
/// network: the model through the gateway, Corral's tools through the relay.
fn another_cli_proposes_and_asks(
    runtime: &str,
    model: &str,
    key: &str,
    base_url: (&str, &str),
    in_container: bool,
) {
    let (url, requests) = model_server();
    let bin = super::agents::agents_bin();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let runtime_set = format!("runtime={runtime}");
    let model_set = format!("model={model}");
    let base = format!("env.{}={url}{}", base_url.0, base_url.1);
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    let image = format!("base-image={}", super::agents::node_image());
    let sandbox: [&str; 2] = if in_container {
        [&image, "build-network=host"]
    } else {
        ["sandbox=local", &path]
    };
    let mut set = vec!["project", "set", "r", &runtime_set, &model_set, &base];
    set.extend(sandbox);
    env.ok(&set);
    env.prompt_task(
        "r",
        "Asker",
        "CORRAL-MCP-TASK CORRAL-MCP-ASK: note the docs as a task of their own, then ask",
    );
    let running = env.spawn_with(&["run", "Asker"], &[(key, "sk-corral-test-mcp-other")]);
    answer_the_question(&env);
    finished(&env, running);
    let runs = json(&env.ok(&["runs", "--json"]));
    let sandbox = if in_container { "docker" } else { "local" };
    assert_eq!(runs[0]["sandbox"], sandbox, "{}", runs[0]);
    let log = env.ok(&["logs", runs[0]["id"].as_str().expect("id")]);
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.iter().any(|r| r.contains("create_task")),
        "{runtime} offered the model Corral's tools: {log}"
    );
    assert!(log.contains("mcp - create_task("), "{log}");
    assert_answered(&seen, &log);
    let tasks = json(&env.ok(&["task", "list", "-p", "r", "--json"]));
    assert!(
        tasks
            .as_array()
            .expect("tasks")
            .iter()
            .any(|t| t["title"] == "Write the docs" && t["status"] == "proposed"),
        "{tasks}"
    );
}

/// Waits for the agent's question, checks the run waits, and answers it.
fn answer_the_question(env: &Env) {
    let question = inbox_question(env);
    assert_eq!(question["questions"][0]["question"], "Which database?");
    let runs = json(&env.ok(&["runs", "--json"]));
    assert_eq!(runs[0]["state"], "waiting_input", "{runs}");
    env.ok(&[
        "answer",
        question["id"].as_str().expect("id"),
        "--option",
        "SQLite",
        "small and local",
    ]);
}

/// The answer reached the model (in the call's result) and the call is in the log.
fn assert_answered(seen: &[String], log: &str) {
    assert!(log.contains("mcp - ask_human("), "{log}");
    assert!(
        seen.iter()
            .any(|r| r.contains("A: SQLite") && r.contains("small and local")),
        "the answer reached the model: {log}"
    );
}

#[test]
fn gemini_cli_proposes_a_task_and_asks_through_corral() {
    another_cli_proposes_and_asks(
        "gemini",
        "gemini-2.5-flash",
        "GEMINI_API_KEY",
        ("GOOGLE_GEMINI_BASE_URL", ""),
        false,
    );
}

#[test]
fn gemini_cli_proposes_a_task_and_asks_through_corral_from_a_container() {
    another_cli_proposes_and_asks(
        "gemini",
        "gemini-2.5-flash",
        "GEMINI_API_KEY",
        ("GOOGLE_GEMINI_BASE_URL", ""),
        true,
    );
}

#[test]
fn opencode_proposes_a_task_and_asks_through_corral() {
    another_cli_proposes_and_asks(
        "opencode",
        "test-model",
        "OPENAI_API_KEY",
        ("OPENAI_BASE_URL", "/v1"),
        false,
    );
}

#[test]
fn opencode_proposes_a_task_and_asks_through_corral_from_a_container() {
    another_cli_proposes_and_asks(
        "opencode",
        "test-model",
        "OPENAI_API_KEY",
        ("OPENAI_BASE_URL", "/v1"),
        true,
    );
}

#[test]
fn an_acp_agent_proposes_a_task_and_asks_through_corral() {
    // Gemini CLI as an ACP agent: Corral's server reaches it in `session/new`.
    let (url, requests) = model_server();
    let bin = super::agents::agents_bin();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let base = format!("env.GOOGLE_GEMINI_BASE_URL={url}");
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    env.ok(&["project", "set", "r", "sandbox=local", &base, &path]);
    env.ok(&[
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "Asker",
        "--runtime",
        "acp",
        "--prompt",
        "CORRAL-MCP-TASK CORRAL-MCP-ASK: note the docs as a task of their own, then ask",
        "--",
        "gemini",
        "--acp",
        "-m",
        "gemini-2.5-flash",
    ]);
    let running = env.spawn_with(
        &["run", "Asker"],
        &[("GEMINI_API_KEY", "sk-corral-test-mcp-acp")],
    );
    answer_the_question(&env);
    finished(&env, running);
    let runs = json(&env.ok(&["runs", "--json"]));
    let log = env.ok(&["logs", runs[0]["id"].as_str().expect("id")]);
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(seen.iter().any(|r| r.contains("create_task")), "{log}");
    assert!(log.contains("mcp - create_task("), "{log}");
    assert_answered(&seen, &log);
    let docs = json(&env.ok(&["task", "show", "Write the docs", "--json"]));
    assert_eq!(docs["status"], "proposed", "{docs}");
}

#[test]
fn codex_proposes_a_task_and_asks_through_corral() {
    another_cli_proposes_and_asks(
        "codex",
        "gpt-test",
        "OPENAI_API_KEY",
        ("OPENAI_BASE_URL", "/v1"),
        false,
    );
}

#[test]
fn codex_proposes_a_task_and_asks_through_corral_from_a_container() {
    another_cli_proposes_and_asks(
        "codex",
        "gpt-test",
        "OPENAI_API_KEY",
        ("OPENAI_BASE_URL", "/v1"),
        true,
    );
}

#[test]
fn claude_code_proposes_a_task_and_asks_through_corral_from_a_container() {
    another_cli_proposes_and_asks(
        "claude-code",
        "claude-sonnet-4-5",
        "ANTHROPIC_API_KEY",
        ("ANTHROPIC_BASE_URL", ""),
        true,
    );
}
