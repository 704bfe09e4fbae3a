//! `corral graph run`: a diamond (A; B and C after A; D after B and C) runs by itself, D's
//! checkout holds A's, B's and C's work, and a failure in B blocks D but not C.

use std::path::Path;

use super::{Env, json};

/// A diamond of custom tasks on the local sandbox; `b` is B's script.
pub(super) fn diamond(env: &Env, b: &str) {
    env.project("r", &["sandbox=local", "max-runs=2"]);
    env.sh_task("r", "A", "echo a > a.txt");
    env.sh_task("r", "B", b);
    env.sh_task("r", "C", "test -f a.txt && echo c > c.txt");
    env.sh_task(
        "r",
        "D",
        "test -f a.txt && test -f b.txt && test -f c.txt && echo d > d.txt",
    );
    for (task, after) in [("B", "A"), ("C", "A"), ("D", "B"), ("D", "C")] {
        env.ok(&["task", "dep", "add", task, "--after", after]);
    }
}

fn latest(env: &Env, title: &str) -> serde_json::Value {
    json(&env.ok(&["runs", "--task", title, "--json"]))[0].clone()
}

#[test]
fn a_diamond_runs_by_itself_and_the_last_task_starts_from_all_the_work() {
    let env = Env::new();
    diamond(&env, "test -f a.txt && echo b > b.txt");
    let ran = env.corral(&["graph", "run", "r", "--follow"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("every task of `r` succeeded"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("D: succeeded"), "{}", ran.stdout);
    for title in ["A", "B", "C", "D"] {
        assert_eq!(latest(&env, title)["state"], "succeeded", "{title}");
    }
    let d = latest(&env, "D");
    let id = d["id"].as_str().expect("id");
    let shown = json(&env.ok(&["run", "show", id, "--json"]));
    let checkout = shown["checkout_path"].as_str().expect("checkout");
    for file in ["a.txt", "b.txt", "c.txt", "d.txt"] {
        assert!(Path::new(checkout).join(file).exists(), "{file}");
    }
    assert_eq!(
        shown["upstream"].as_array().map(Vec::len),
        Some(3),
        "{shown}"
    );
    // Nothing left to do: it says so and succeeds.
    let again = env.corral(&["graph", "run", "r"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        json(&env.ok(&["runs", "--task", "A", "--json"]))
            .as_array()
            .map(Vec::len),
        Some(1),
        "a succeeded task is not run again"
    );
}

#[test]
fn a_failure_blocks_its_dependants_and_nothing_else() {
    let env = Env::new();
    diamond(&env, "exit 3");
    let ran = env.corral(&["graph", "run", "r"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("`B` failed"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("`D` is blocked by `B`"),
        "{}",
        ran.stderr
    );
    assert_eq!(latest(&env, "A")["state"], "succeeded");
    assert_eq!(latest(&env, "B")["state"], "failed");
    assert_eq!(
        latest(&env, "C")["state"],
        "succeeded",
        "the other branch ran"
    );
    assert!(
        json(&env.ok(&["runs", "--task", "D", "--json"]))
            .as_array()
            .is_some_and(Vec::is_empty),
        "D never started"
    );
    // The same, as JSON lines for scripts: nothing left to run, the same verdict.
    let again = env.corral(&["graph", "run", "r", "--follow", "--json"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    let over: serde_json::Value =
        serde_json::from_str(again.stdout.lines().last().expect("a line")).expect("json");
    assert_eq!(over["event"], "over");
    assert_eq!(over["succeeded"], false);
    assert_eq!(over["failed"], serde_json::json!(["B"]));
    assert_eq!(
        over["blocked"],
        serde_json::json!([{"task": "D", "by": "B"}])
    );
    for line in again.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
        assert!(v["event"].is_string(), "{line}");
    }
}

pub(super) fn runs_of(env: &Env, title: &str) -> Vec<serde_json::Value> {
    json(&env.ok(&["runs", "--task", title, "--json"]))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn kill_9_mid_graph_and_the_next_corral_carries_on_starting_nothing_twice() {
    let env = Env::new();
    env.project("r", &["sandbox=local"]);
    env.sh_task("r", "A", "sleep 3; echo a > a.txt");
    env.sh_task("r", "B", "test -f a.txt && echo b > b.txt");
    env.ok(&["task", "dep", "add", "B", "--after", "A"]);
    let mut first = env.spawn(&["graph", "run", "r"], false);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while runs_of(&env, "A").first().map(|r| r["state"].clone()) != Some("running".into()) {
        assert!(std::time::Instant::now() < deadline, "A never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    first.kill().expect("kill -9");
    first.wait().expect("reaped");

    let ran = env.corral(&["graph", "run", "r"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("running already"), "{}", ran.stderr);
    for title in ["A", "B"] {
        let runs = runs_of(&env, title);
        assert_eq!(runs.len(), 1, "{title} ran once: {runs:?}");
        assert_eq!(runs[0]["state"], "succeeded", "{title}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_schedules_so_no_task_starts_twice() {
    let env = Env::new();
    diamond(&env, "test -f a.txt && echo b > b.txt");
    // The app's engine schedules (it holds the data dir's scheduler lock first) while a
    // `corral graph run` waits in another process.
    let app = corral_engine::Engine::open(corral_engine::Config::new(env.data.clone()))
        .await
        .expect("the app's engine");
    app.start_scheduler();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let data = env.data.clone();
    let ran = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(["graph", "run", "r"])
            .env("CORRAL_DATA_DIR", &data)
            .env_remove("CORRAL_LOG")
            .output()
            .expect("graph run")
    })
    .await
    .expect("joined");
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    for title in ["A", "B", "C", "D"] {
        let runs = runs_of(&env, title);
        assert_eq!(runs.len(), 1, "{title} started once: {runs:?}");
        assert_eq!(runs[0]["state"], "succeeded", "{title}");
    }
    app.close().await.expect("close");
}

#[test]
fn graph_show_lists_tasks_by_layer_and_says_why_one_is_blocked() {
    let env = Env::new();
    diamond(&env, "exit 3");
    let _ = env.corral(&["graph", "run", "r"]);
    let shown = json(&env.ok(&["graph", "show", "--project", "r", "--json"]));
    let task = |title: &str| {
        shown
            .as_array()
            .and_then(|all| all.iter().find(|t| t["title"] == title))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        ["A", "B", "C", "D"].map(|t| task(t)["layer"].as_u64()),
        [Some(0), Some(1), Some(1), Some(2)]
    );
    assert_eq!(task("B")["status"], "failed");
    assert_eq!(task("D")["status"], "blocked");
    assert_eq!(task("D")["blocked_by"], "B");
    let human = env.ok(&["graph", "show", "-p", "r"]);
    assert!(human.contains("layer 2"), "{human}");
    assert!(human.contains("blocked (by `B`, failed)"), "{human}");
    assert_eq!(task("D")["blocked_how"], "failed");
    let dot = env.ok(&["graph", "show", "-p", "r", "--dot"]);
    assert!(dot.starts_with("digraph corral {"), "{dot}");
    assert_eq!(
        dot.matches(" -> ").count(),
        4,
        "one edge per dependency: {dot}"
    );
    assert!(dot.contains("\\nfailed\""), "{dot}");
}
