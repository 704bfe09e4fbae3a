//! An orchestration's limits with the real Claude Code against the scripted model server in
//! the local sandbox: past its token budget nothing new starts and the inbox asks a person
//! (who lets it go on, or stops it), and a failure the orchestrator was not told of is told
//! before its subtasks' work becomes one branch, even after it called finish; a subtask's
//! question its orchestrator leaves unanswered goes on to the person.

use super::agents::local_claude_project;
use super::model_server::model_server;
use super::orchestrate::{KEY, add_goal};
use super::{file_on_branch, json};

/// A goal past its 60-token budget once its planning turn ended, its budget question asked.
fn over_budget() -> (super::Env, std::process::Child, serde_json::Value) {
    let (url, _requests) = model_server();
    let env = local_claude_project(&url);
    env.ok(&["project", "set", "r", "agent-permissions=bypass"]);
    // Each scripted model call counts 15 tokens: A and B are created within the budget, the
    // planning turn ends past it, so C (after both) does not start.
    env.ok(&["project", "set", "r", "orchestrate-budget-tokens=60"]);
    add_goal(
        &env,
        "CORRAL-MCP-ORCHESTRATE-WAIT: make c.txt from a.txt and b.txt",
    );
    let running = env.spawn_with(&["run", "Goal"], &[KEY]);
    let asked = super::mcp::inbox_question(&env);
    let question = asked["questions"][0]["question"]
        .as_str()
        .unwrap_or_default();
    assert!(
        question.contains("of its 60 tokens (orchestrate-budget-tokens)"),
        "{asked}"
    );
    let shown = json(&env.ok(&["task", "show", "Goal", "--json"]));
    let c = shown["subtasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["title"] == "C")
        .cloned()
        .unwrap_or_default();
    assert_eq!(c["status"], "ready", "C waits for the decision: {shown}");
    (env, running, asked)
}

#[test]
fn past_its_token_budget_nothing_new_starts_and_the_inbox_asks_whether_to_go_on() {
    let (env, running, asked) = over_budget();
    let id = asked["id"].as_str().expect("id");
    env.ok(&["answer", id, "--option", "Go on"]);
    let out = running.wait_with_output().expect("corral run ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let goal = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    assert_eq!(goal[0]["state"], "succeeded", "{goal}");
    let log = env.ok(&["logs", goal[0]["id"].as_str().expect("id")]);
    assert!(
        log.contains("nothing new starts; the inbox asks whether to go on"),
        "{log}"
    );
    assert!(
        log.contains("a person granted the orchestration another 60 tokens"),
        "{log}"
    );
    let branch = goal[0]["branch"].as_str().expect("branch");
    assert_eq!(
        file_on_branch(&env.dir.path().join("r"), branch, "c.txt"),
        "a\nb\n"
    );
}

#[test]
fn a_person_who_stops_an_orchestration_at_its_budget_fails_it_and_nothing_more_starts() {
    let (env, running, asked) = over_budget();
    let id = asked["id"].as_str().expect("id");
    env.ok(&["answer", id, "--option", "Stop"]);
    let out = running.wait_with_output().expect("corral run ends");
    assert!(!out.status.success(), "a stopped orchestration fails");
    let goal = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    assert_eq!(goal[0]["state"], "failed", "{goal}");
    assert_eq!(goal[0]["failure"]["kind"], "token_budget", "{goal}");
    let message = goal[0]["failure"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("a person chose to stop it"), "{goal}");
    // C never ran.
    let c = json(&env.ok(&["runs", "--task", "C", "--json"]));
    assert_eq!(c.as_array().map(Vec::len), Some(0), "{c}");
}

#[test]
fn a_failure_untold_at_finish_is_told_before_the_work_becomes_one_branch() {
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    env.ok(&["project", "set", "r", "agent-permissions=bypass"]);
    add_goal(
        &env,
        "CORRAL-MCP-ORCHESTRATE-FINISH-EARLY: one fails, one works",
    );
    let ran = env.corral_with(&["run", "Goal"], &[KEY]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    // It called finish at once; it was woken with the failure all the same.
    let seen = requests.lock().expect("requests").clone();
    let woken = seen
        .iter()
        .find(|r| r.contains("Your subtasks have ended (2 in all)"))
        .unwrap_or_else(|| panic!("never told of the failure: {seen:?}"));
    assert!(
        woken.contains("`Fails`") && woken.contains("exited with 3"),
        "{woken}"
    );
    let goal = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    assert_eq!(goal[0]["state"], "succeeded", "{goal}");
    let branch = goal[0]["branch"].as_str().expect("branch");
    assert_eq!(
        file_on_branch(&env.dir.path().join("r"), branch, "w.txt"),
        "w\n"
    );
}

#[test]
fn a_question_the_orchestrator_leaves_unanswered_goes_on_to_the_person() {
    let (url, _requests) = model_server();
    let env = local_claude_project(&url);
    add_goal(
        &env,
        "CORRAL-MCP-ORCHESTRATE-ASK-IGNORE: a subtask that asks",
    );
    let running = env.spawn_with(&["run", "Goal"], &[KEY]);
    // The orchestrator was woken with it and ended its turn: it is the person's now.
    let asked = super::mcp::inbox_question(&env);
    let context = asked["context"].as_str().unwrap_or_default();
    assert!(
        context.contains("Its orchestrator's note: (it ended its turn without answering)"),
        "{asked}"
    );
    let id = asked["id"].as_str().expect("id");
    env.ok(&["answer", id, "--option", "Postgres"]);
    let out = running.wait_with_output().expect("corral run ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pick = json(&env.ok(&["runs", "--task", "Pick", "--json"]));
    assert_eq!(pick[0]["state"], "succeeded", "{pick}");
    let log = env.ok(&["logs", pick[0]["id"].as_str().expect("id")]);
    assert!(log.contains("passed the question on to a person"), "{log}");
    assert!(log.contains("the person answered"), "{log}");
}
