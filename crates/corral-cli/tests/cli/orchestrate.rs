//! Orchestrate tasks with the real Claude Code against the scripted model server in the local
//! sandbox: the orchestrator creates subtasks (two at once, a third after both) that run in
//! sandboxes of their own, a subtask outside its subtree is refused, and it finishes.

use super::agents::local_claude_project;
use super::model_server::model_server;
use super::{file_on_branch, json};

pub(super) const KEY: (&str, &str) = ("ANTHROPIC_API_KEY", "sk-corral-test-orchestrate");

/// Adds the orchestrate task `Goal` to project `r`.
pub(super) fn add_goal(env: &super::Env, prompt: &str) {
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
        prompt,
    ]);
}

#[test]
fn an_orchestrator_creates_subtasks_that_run_from_each_others_work_and_finishes() {
    let (url, _requests) = model_server();
    let env = local_claude_project(&url);
    // Command-line subtasks only where agents may run commands without asking.
    env.ok(&["project", "set", "r", "agent-permissions=bypass"]);
    // A subtask's dependants do not wait for a person's merge: its orchestrator integrates.
    env.ok(&["project", "set", "r", "chain-on=merge"]);
    // The project's check runs on each subtask's result and on the integrated branch.
    env.ok(&[
        "project",
        "set",
        "r",
        "verify.files=ls *.txt | tr '\\n' ' '",
    ]);
    add_goal(
        &env,
        "CORRAL-MCP-ORCHESTRATE: make c.txt from a.txt and b.txt",
    );
    // The orchestrator's run ends once it finished and its subtasks have ended.
    let ran = env.corral_with(&["run", "Goal"], &[KEY]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);

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
    // One result: the orchestrator's branch holds all three subtasks' work, checked.
    assert!(
        log.contains("integrated the work of `A`, `B`, `C`"),
        "{log}"
    );
    let goal = json(&env.ok(&["run", "show", id, "--json"]));
    assert_eq!(goal["state"], "succeeded", "{goal}");
    assert_eq!(goal["checks"][0]["name"], "files", "{goal}");
    assert_eq!(goal["checks"][0]["outcome"], "passed", "{goal}");
    let tail = goal["checks"][0]["tail"].as_str().unwrap_or_default();
    assert!(tail.contains("a.txt b.txt c.txt"), "{goal}");
    let branch = goal["branch"].as_str().expect("branch");
    for (file, text) in [("a.txt", "a\n"), ("b.txt", "b\n"), ("c.txt", "a\nb\n")] {
        assert_eq!(file_on_branch(&repo, branch, file), text, "{file}");
    }
    // `graph show` nests the subtasks under their orchestrator.
    let graph = env.ok(&["graph", "show", "-p", "r"]);
    let lines: Vec<&str> = graph.lines().collect();
    let goal_at = lines
        .iter()
        .position(|l| l.starts_with("    Goal "))
        .unwrap_or_else(|| panic!("{graph}"));
    assert!(lines[goal_at + 1].starts_with("      A "), "{graph}");
    assert!(lines[goal_at + 2].starts_with("      B "), "{graph}");
    assert!(
        lines[goal_at + 3].starts_with("      C ") && lines[goal_at + 3].ends_with("(after A, B)"),
        "{graph}"
    );
    // Merged like any run: the project branch gets the whole goal's work.
    env.ok(&["merge", id]);
    assert_eq!(file_on_branch(&repo, "main", "c.txt"), "a\nb\n");
}

#[test]
fn a_conflict_between_subtasks_wakes_the_orchestrator_with_the_paths() {
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    env.ok(&["project", "set", "r", "agent-permissions=bypass"]);
    add_goal(&env, "CORRAL-MCP-ORCHESTRATE-CONFLICT: write x.txt twice");
    let ran = env.corral_with(&["run", "Goal"], &[KEY]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    // Woken with the results, it finished; integrating A and B conflicted in x.txt.
    let seen = requests.lock().expect("requests").clone();
    let told = seen
        .iter()
        .find(|r| r.contains("does not merge into one branch"))
        .unwrap_or_else(|| panic!("never told of the conflict: {seen:?}"));
    assert!(told.contains("the work of `B`"), "{told}");
    assert!(told.contains("- x.txt"), "{told}");
    // It cancelled B: the result is A's work alone.
    let goal = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    let id = goal[0]["id"].as_str().expect("id");
    assert_eq!(goal[0]["state"], "succeeded", "{goal}");
    let log = env.ok(&["logs", id]);
    assert!(log.contains("wake > conflict: "), "{log}");
    assert!(log.contains("cancelled subtask `B`"), "{log}");
    assert!(log.contains("integrated the work of `A` on"), "{log}");
    let branch = goal[0]["branch"].as_str().expect("branch");
    let repo = env.dir.path().join("r");
    assert_eq!(file_on_branch(&repo, branch, "x.txt"), "a\n");
    let shown = json(&env.ok(&["task", "show", "Goal", "--json"]));
    let b = shown["subtasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["title"] == "B")
        .cloned()
        .unwrap_or_default();
    assert_eq!(b["approval"], "rejected", "{shown}");
}

#[test]
fn a_failure_the_orchestrator_asked_to_hear_of_wakes_it_at_once() {
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    env.ok(&["project", "set", "r", "agent-permissions=bypass"]);
    add_goal(
        &env,
        "CORRAL-MCP-ORCHESTRATE-FAILFAST: one fails, one is slow",
    );
    let ran = env.corral_with(&["run", "Goal"], &[KEY]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    let seen = requests.lock().expect("requests").clone();
    let woken = seen
        .iter()
        .find(|r| r.contains("A subtask failed"))
        .unwrap_or_else(|| panic!("never woken: {seen:?}"));
    // Woken while Slow still ran, with the failure.
    assert!(woken.contains("`Fails`"), "{woken}");
    assert!(woken.contains("exited with 3"), "{woken}");
    assert!(woken.contains("`Slow`"), "{woken}");
    assert!(woken.contains("running"), "{woken}");
    // Its run ends once Slow ended too, with Slow's work.
    let goal = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    assert_eq!(goal[0]["state"], "succeeded", "{goal}");
    let log = env.ok(&["logs", goal[0]["id"].as_str().expect("id")]);
    assert!(log.contains("wake > subtask_failed: "), "{log}");
    let branch = goal[0]["branch"].as_str().expect("branch");
    assert_eq!(
        file_on_branch(&env.dir.path().join("r"), branch, "s.txt"),
        "s\n"
    );
}

#[test]
fn an_orchestrator_that_ends_its_turn_is_woken_with_its_subtasks_results_and_finishes() {
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    // Command-line subtasks only where agents may run commands without asking.
    env.ok(&["project", "set", "r", "agent-permissions=bypass"]);
    add_goal(
        &env,
        "CORRAL-MCP-ORCHESTRATE-WAIT: make c.txt from a.txt and b.txt",
    );
    let ran = env.corral_with(&["run", "Goal", "--follow"], &[KEY]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    // Its turn ended after planning; it was woken once, with every subtask's result.
    let seen = requests.lock().expect("requests").clone();
    let woken: Vec<&String> = seen
        .iter()
        .filter(|r| r.contains("Your subtasks have ended (3 in all)"))
        .collect();
    let wake = woken
        .first()
        .unwrap_or_else(|| panic!("never woken: {seen:?}"));
    for title in ["`A`", "`B`", "`C`"] {
        assert!(wake.contains(title), "{wake}");
    }
    let goal = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    let id = goal[0]["id"].as_str().expect("id");
    assert_eq!(goal[0]["state"], "succeeded", "{goal}");
    let log = env.ok(&["logs", id]);
    assert!(
        log.contains("the orchestrator is woken: 3 subtask runs ended"),
        "{log}"
    );
    assert!(log.contains("finish > All three done"), "{log}");
    let shown = json(&env.ok(&["task", "show", "Goal", "--json"]));
    let done = shown["subtasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "review")
        .count();
    assert_eq!(done, 3, "{shown}");
    // How long from the last subtask's end to the wake-up (one measurement, printed).
    let events: Vec<serde_json::Value> =
        env.ok(&["logs", id, "--json"]).lines().map(json).collect();
    let woke_at = events
        .iter()
        .find(|e| e["kind"] == "note" && e["text"].as_str().is_some_and(|t| t.contains("is woken")))
        .and_then(|e| e["at"].as_i64())
        .expect("the wake-up");
    let last_end = json(&env.ok(&["runs", "--json"]))
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["task_id"] != shown["id"])
        .filter_map(|r| r["finished_at"].as_i64())
        .filter(|at| *at <= woke_at)
        .max()
        .expect("a subtask's end");
    eprintln!(
        "wake-up {} ms after the last subtask ended",
        woke_at - last_end
    );
}

#[test]
fn kill_9_mid_orchestration_the_subtree_goes_on_and_the_wake_up_still_happens() {
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    // Command-line subtasks only where agents may run commands without asking.
    env.ok(&["project", "set", "r", "agent-permissions=bypass"]);
    add_goal(
        &env,
        "CORRAL-MCP-ORCHESTRATE-WAIT-SLOW: make c.txt from a.txt and b.txt",
    );
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "Goal"])
        .env("CORRAL_DATA_DIR", &env.data)
        .env(KEY.0, KEY.1)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("corral runs");
    // Kill Corral while A and B run, once C (which runs after both) is created.
    let started = std::time::Instant::now();
    loop {
        let shown = json(&env.ok(&["task", "show", "Goal", "--json"]));
        let subtasks = shown["subtasks"].as_array().cloned().unwrap_or_default();
        let running = subtasks.iter().filter(|s| s["status"] == "running").count();
        if running == 2 && subtasks.len() == 3 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{shown}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    // The next Corral picks everything up: A and B end, C runs, the orchestrator is woken.
    let goal = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    let id = goal[0]["id"].as_str().expect("id").to_string();
    let followed = env.corral_with(&["logs", &id, "--follow"], &[KEY]);
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    let goal = json(&env.ok(&["run", "show", &id, "--json"]));
    assert_eq!(goal["state"], "succeeded", "{goal}");
    let seen = requests.lock().expect("requests").clone();
    assert!(
        seen.iter()
            .any(|r| r.contains("Your subtasks have ended (3 in all)")),
        "never woken: {}",
        env.ok(&["logs", &id])
    );
    let shown = json(&env.ok(&["task", "show", "Goal", "--json"]));
    let done = shown["subtasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "review")
        .count();
    assert_eq!(done, 3, "{shown}");
    let c = json(&env.ok(&["runs", "--task", "C", "--json"]));
    let branch = c[0]["branch"].as_str().expect("branch");
    assert_eq!(
        file_on_branch(&env.dir.path().join("r"), branch, "c.txt"),
        "a\nb\n"
    );
}

#[test]
fn a_subtasks_question_wakes_its_orchestrator_which_answers_it() {
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    add_goal(&env, "CORRAL-MCP-ORCHESTRATE-ASK: a subtask that asks");
    let ran = env.corral_with(&["run", "Goal"], &[KEY]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    let seen = requests.lock().expect("requests").clone();
    let woken = seen
        .iter()
        .find(|r| r.contains("Your subtasks ask"))
        .unwrap_or_else(|| panic!("never woken with the question: {seen:?}"));
    assert!(woken.contains("from `Pick`"), "{woken}");
    assert!(woken.contains("Which database?"), "{woken}");
    assert!(woken.contains("- SQLite: embedded"), "{woken}");
    // The subtask's agent got the orchestrator's answer; its log says who answered.
    assert!(
        seen.iter()
            .any(|r| !r.contains("ORCHESTRATE") && r.contains("A: SQLite")),
        "the subtask never got the answer"
    );
    let pick = json(&env.ok(&["runs", "--task", "Pick", "--json"]));
    assert_eq!(pick[0]["state"], "succeeded", "{pick}");
    let log = env.ok(&["logs", pick[0]["id"].as_str().expect("id")]);
    assert!(log.contains("asks its orchestrator"), "{log}");
    assert!(log.contains("its orchestrator answered"), "{log}");
    let goal = json(&env.ok(&["runs", "--task", "Goal", "--json"]));
    assert_eq!(goal[0]["state"], "succeeded", "{goal}");
    let log = env.ok(&["logs", goal[0]["id"].as_str().expect("id")]);
    assert!(log.contains("wake > question: "), "{log}");
    // Nothing reached a person's inbox.
    let inbox = json(&env.ok(&["inbox", "--json"]));
    assert_eq!(inbox.as_array().map(Vec::len), Some(0), "{inbox}");
}
