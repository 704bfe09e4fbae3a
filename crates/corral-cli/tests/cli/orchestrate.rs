//! Orchestrate tasks with the real Claude Code against the scripted model server in the local
//! sandbox: the orchestrator creates subtasks (two at once, a third after both) that run in
//! sandboxes of their own, a subtask outside its subtree is refused, and it finishes.

use super::agents::local_claude_project;
use super::model_server::model_server;
use super::{file_on_branch, json};

const KEY: (&str, &str) = ("ANTHROPIC_API_KEY", "sk-corral-test-orchestrate");

#[test]
fn an_orchestrator_creates_subtasks_that_run_from_each_others_work_and_finishes() {
    let (url, _requests) = model_server();
    let env = local_claude_project(&url);
    env.ok(&[
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "Goal",
        "--kind",
        "orchestrate",
        "--prompt",
        "CORRAL-MCP-ORCHESTRATE: make c.txt from a.txt and b.txt",
    ]);
    let ran = env.corral_with(&["run", "Goal"], &[KEY]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    // The subtasks started while it planned; what is left of them runs to its end here.
    let graph = env.corral_with(&["graph", "run", "r"], &[KEY]);
    assert_eq!(graph.code, 0, "{}\n{}", graph.stderr, graph.stdout);

    let shown = json(&env.ok(&["task", "show", "Goal", "--json"]));
    assert_eq!(shown["kind"], "orchestrate", "{shown}");
    let subtasks: Vec<(String, String)> = shown["subtasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["title"].as_str().unwrap_or_default().to_string(),
                s["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let titles: Vec<&str> = subtasks.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["A", "B", "C"], "{shown}");
    assert!(subtasks.iter().all(|(_, s)| s == "review"), "{shown}");
    let c = json(&env.ok(&["task", "show", "C", "--json"]));
    assert_eq!(c["parent"], shown["id"], "{c}");
    assert_eq!(c["approval"], "approved", "{c}");
    assert_eq!(c["depends_on"].as_array().map(Vec::len), Some(2), "{c}");
    let text = env.ok(&["task", "show", "Goal"]);
    assert!(text.contains("subtask    review `C`"), "{text}");

    // C ran from A's and B's work merged into its checkout.
    let runs = json(&env.ok(&["runs", "--task", "C", "--json"]));
    let branch = runs[0]["branch"].as_str().expect("branch");
    let repo = env.dir.path().join("r");
    assert_eq!(file_on_branch(&repo, branch, "c.txt"), "a\nb\n");

    // The orchestrator's log: its calls, a refused `after` outside its subtree, its finish.
    let goal_runs = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    let id = goal_runs[0]["id"].as_str().expect("id");
    let log = env.ok(&["logs", id]);
    assert!(
        log.contains("`Not mine` is not one of your subtasks"),
        "{log}"
    );
    assert!(
        log.contains("finish > A and B at once, then C from both."),
        "{log}"
    );
}
