//! Approvals (`agent-permissions=ask`): the real Claude Code, against the scripted model server,
//! wants to run a command its permissions do not cover; Corral's permission tool puts the request
//! in the inbox with the command shown, and the person's choice decides.

use super::mcp::{inbox_question, wait_for_turn_end};
use super::model_server::{APPROVED_COMMAND, model_server};
use super::{Env, json, s};

/// A Claude Code task in the local sandbox whose agent wants to run `APPROVED_COMMAND`, run in
/// the background; returns the environment, the running `corral run` and the model's requests.
fn claude_wants_a_command(
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
    env.ok(&[
        "project",
        "set",
        "r",
        "runtime=claude-code",
        "sandbox=local",
        "agent-permissions=ask",
        &base_url,
        &path,
    ]);
    if !settings.is_empty() {
        let mut set = vec!["project", "set", "r"];
        set.extend_from_slice(settings);
        env.ok(&set);
    }
    env.prompt_task("r", "Builder", "CORRAL-MCP-APPROVE: write the file");
    let running = env.spawn_with(
        &["run", "Builder"],
        &[("ANTHROPIC_API_KEY", "sk-corral-test-approve")],
    );
    (env, running, requests)
}

fn ended(env: &Env, running: std::process::Child) -> serde_json::Value {
    let out = running.wait_with_output().expect("corral run ends");
    let runs = json(&env.ok(&["runs", "--json"]));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        env.ok(&["logs", runs[0]["id"].as_str().unwrap_or_default()])
    );
    runs[0].clone()
}

#[test]
fn a_command_runs_once_a_person_allows_it_from_the_inbox() {
    let (env, running, requests) = claude_wants_a_command(&[]);
    let asked = inbox_question(&env);
    let question = asked["questions"][0]["question"]
        .as_str()
        .unwrap_or_default();
    assert!(question.contains("Bash"), "{asked}");
    assert!(
        question.contains(APPROVED_COMMAND),
        "the command is shown: {asked}"
    );
    let options: Vec<&str> = asked["questions"][0]["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(|o| o["label"].as_str())
        .collect();
    assert_eq!(options, ["Allow once", "Allow for this run", "Deny"]);
    let id = asked["id"].as_str().expect("id");
    env.ok(&["answer", id, "--option", "Allow once"]);
    let run = ended(&env, running);
    assert_eq!(run["state"], "succeeded", "{run}");
    // The command ran: its file is the run's result.
    let diff = env.ok(&["diff", run["id"].as_str().expect("id")]);
    assert!(diff.contains("approved.txt"), "{diff}");
    drop(requests);
    let log = env.ok(&["logs", run["id"].as_str().expect("id")]);
    assert!(
        log.contains("permission_prompt"),
        "the approval is in the log: {log}"
    );
}

#[test]
fn a_denied_command_does_not_run_and_the_agent_hears_why() {
    let (env, running, requests) = claude_wants_a_command(&[]);
    let asked = inbox_question(&env);
    let id = asked["id"].as_str().expect("id");
    env.ok(&["answer", id, "--option", "Deny", "not in this task"]);
    let run = ended(&env, running);
    let diff = env.ok(&["diff", run["id"].as_str().expect("id")]);
    assert!(!diff.contains("approved.txt"), "{diff}");
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.iter()
            .any(|r| r.contains("tool_result") && r.contains("not in this task")),
        "the denial and its reason reached the model"
    );
}

#[test]
fn a_decision_after_the_call_gave_up_comes_as_the_next_turn_and_the_retry_runs() {
    let (env, running, requests) = claude_wants_a_command(&["ask-wait=1s"]);
    let asked = inbox_question(&env);
    let id = asked["id"].as_str().expect("id").to_string();
    let run_id = asked["run_id"].as_str().expect("run").to_string();
    // The call said "waiting for a person"; the agent ended its turn; the run waits.
    wait_for_turn_end(&env, &run_id);
    env.ok(&["answer", &id, "--option", "Allow once"]);
    let run = ended(&env, running);
    assert_eq!(run["state"], "succeeded", "{run}");
    let diff = env.ok(&["diff", run["id"].as_str().expect("id")]);
    assert!(
        diff.contains("approved.txt"),
        "the retried command ran: {diff}"
    );
    let seen = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen.iter()
            .any(|r| r.contains("Waiting for a person's decision")),
        "the first call told the agent to wait"
    );
    assert!(
        seen.iter().any(
            |r| r.contains("A person decided on your request to use Bash")
                && r.contains("make the same Bash call again")
        ),
        "the decision came as the next turn"
    );
}

#[test]
fn an_acp_agents_permission_request_waits_in_the_inbox() {
    // Gemini CLI as an ACP agent: its `session/request_permission` for a shell command goes
    // through the bridge to Corral's permission tool.
    let (url, _requests) = model_server();
    let bin = super::agents::agents_bin();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    let base = format!("env.GOOGLE_GEMINI_BASE_URL={url}");
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    env.ok(&[
        "project",
        "set",
        "r",
        "sandbox=local",
        "agent-permissions=ask",
        &base,
        &path,
    ]);
    env.ok(&[
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "Builder",
        "--runtime",
        "acp",
        "--prompt",
        "CORRAL-MCP-APPROVE: write the file",
        "--",
        "gemini",
        "--acp",
        "-m",
        "gemini-2.5-flash",
    ]);
    let running = env.spawn_with(
        &["run", "Builder"],
        &[("GEMINI_API_KEY", "sk-corral-test-approve-acp")],
    );
    let asked = inbox_question(&env);
    let question = asked["questions"][0]["question"]
        .as_str()
        .unwrap_or_default();
    assert!(question.contains("execute"), "{asked}");
    assert!(
        question.contains("approved.txt"),
        "the command is shown: {asked}"
    );
    env.ok(&[
        "answer",
        asked["id"].as_str().expect("id"),
        "--option",
        "Allow once",
    ]);
    let run = ended(&env, running);
    assert_eq!(run["state"], "succeeded", "{run}");
    let diff = env.ok(&["diff", run["id"].as_str().expect("id")]);
    assert!(diff.contains("approved.txt"), "the command ran: {diff}");
}
