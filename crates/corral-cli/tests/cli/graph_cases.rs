//! The graph's settings (chain-on, auto-run), what it shows (overlaps, stale tasks) and the
//! bad inputs of issue 14: a task removed while others wait for it, max-runs=1 with a wide
//! graph, a dependency added while a task runs, a stopped graph run.

use std::path::Path;

use super::graph::{diamond, runs_of};
use super::{Env, json};

/// Waits (up to 30 s) until `done` holds.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}: timed out");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn shown_status(env: &Env, title: &str) -> serde_json::Value {
    json(&env.ok(&["graph", "show", "--project", "r", "--json"]))
        .as_array()
        .and_then(|all| all.iter().find(|t| t["title"] == title))
        .map(|t| t["status"].clone())
        .unwrap_or_default()
}

#[test]
fn with_chain_on_merge_a_dependant_waits_until_its_upstream_is_merged_by_hand() {
    let env = Env::new();
    let repo = env.project("r", &["sandbox=local", "chain-on=merge"]);
    env.sh_task("r", "A", "echo a > a.txt");
    env.sh_task_after("r", "B", "A", "test -f a.txt && echo b > b.txt");
    let follow = env.spawn(&["graph", "run", "r", "--follow"], true);
    wait_for("A succeeds", || {
        runs_of(&env, "A").first().map(|r| r["state"].clone()) == Some("succeeded".into())
    });
    // Succeeded is not enough with chain-on=merge: B waits, and so does the graph run.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(runs_of(&env, "B").is_empty(), "B waits for A's merge");
    assert_eq!(shown_status(&env, "A"), "review");

    // The user merges A's result with their own git, on the checked-out main.
    let a = &runs_of(&env, "A")[0];
    let branch = a["branch"].as_str().expect("A's branch");
    corral_testkit::git(&repo, &["merge", "-q", "--no-edit", branch]);
    // Bounded: a graph run that never sees the merge fails here instead of hanging.
    wait_for("B runs once A is merged", || {
        runs_of(&env, "B").first().map(|r| r["state"].clone()) == Some("succeeded".into())
    });
    let out = follow.wait_with_output().expect("graph run ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("A: waiting to be merged into the project branch"),
        "{stdout}"
    );
    assert_eq!(runs_of(&env, "B")[0]["state"], "succeeded");
    assert_eq!(shown_status(&env, "A"), "done", "merged by hand is done");
    assert_eq!(shown_status(&env, "B"), "review");

    // Merging the dependant (which holds A's commits) makes both done.
    let b = &runs_of(&env, "B")[0];
    corral_testkit::git(
        &repo,
        &[
            "merge",
            "-q",
            "--no-edit",
            b["branch"].as_str().expect("branch"),
        ],
    );
    assert_eq!(shown_status(&env, "B"), "done");
}

#[test]
fn with_chain_on_merge_a_squashed_merge_by_corral_lets_the_dependant_start() {
    let env = Env::new();
    env.project(
        "r",
        &["sandbox=local", "chain-on=merge", "merge-style=squash"],
    );
    env.sh_task("r", "A", "echo a > a.txt");
    env.sh_task_after("r", "B", "A", "test -f a.txt && echo b > b.txt");
    let follow = env.spawn(&["graph", "run", "r", "--follow"], true);
    wait_for("A succeeds", || {
        runs_of(&env, "A").first().map(|r| r["state"].clone()) == Some("succeeded".into())
    });
    // A squash holds none of A's commits: Corral's own record of the merge counts.
    let a = runs_of(&env, "A")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    env.ok(&["merge", &a]);
    wait_for("B runs once A is merged", || {
        runs_of(&env, "B").first().map(|r| r["state"].clone()) == Some("succeeded".into())
    });
    let out = follow.wait_with_output().expect("graph run ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(shown_status(&env, "A"), "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auto_run_a_task_starts_by_itself_once_ready_and_a_failure_is_not_retried() {
    let env = Env::new();
    env.project("r", &["sandbox=local", "auto-run=on"]);
    let app = corral_engine::Engine::open(corral_engine::Config::new(env.data.clone()))
        .await
        .expect("the app's engine");
    app.start_scheduler();
    let env = std::sync::Arc::new(env);
    let cli = env.clone();
    tokio::task::spawn_blocking(move || {
        let env = cli;
        env.sh_task("r", "A", "echo a > a.txt");
        env.sh_task_after("r", "B", "A", "test -f a.txt && echo b > b.txt");
        // Nobody starts anything: the project's scheduler does.
        wait_for("A and B run by themselves", || {
            ["A", "B"].iter().all(|t| {
                runs_of(&env, t).first().map(|r| r["state"].clone()) == Some("succeeded".into())
            })
        });
        env.sh_task("r", "C", "exit 3");
        env.sh_task_after("r", "D", "C", "true");
        wait_for("C fails", || {
            runs_of(&env, "C").first().map(|r| r["state"].clone()) == Some("failed".into())
        });
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert_eq!(runs_of(&env, "C").len(), 1, "a failure is not retried");
        assert!(runs_of(&env, "D").is_empty(), "D is blocked by C");
        assert_eq!(shown_status(&env, "D"), "blocked");
        for t in ["A", "B"] {
            assert_eq!(runs_of(&env, t).len(), 1, "{t} ran once");
        }
    })
    .await
    .expect("the CLI side");
    app.close().await.expect("close");
}

fn millis(run: &serde_json::Value, field: &str) -> i64 {
    run[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field}: {run}"))
}

#[test]
fn with_max_runs_1_a_graph_ten_wide_runs_one_at_a_time_in_order() {
    let env = Env::new();
    env.project("r", &["sandbox=local", "max-runs=1"]);
    env.sh_task("r", "Root", "true");
    let wide: Vec<String> = (0..10).map(|i| format!("W{i}")).collect();
    for title in &wide {
        env.sh_task_after("r", title, "Root", "sleep 0.2");
    }
    let ran = env.corral(&["graph", "run", "r"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let runs: Vec<serde_json::Value> = wide
        .iter()
        .map(|t| {
            let runs = runs_of(&env, t);
            assert_eq!(runs.len(), 1, "{t} ran once");
            runs[0].clone()
        })
        .collect();
    // They queued at once and ran in the order they were added, one after the other.
    for pair in runs.windows(2) {
        assert!(
            millis(&pair[1], "started_at") >= millis(&pair[0], "finished_at"),
            "one at a time, in order: {} then {}",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn a_dependency_added_while_a_task_runs_applies_to_its_next_run() {
    let env = Env::new();
    env.project("r", &["sandbox=local"]);
    env.sh_task("r", "U", "echo u > u.txt");
    env.sh_task("r", "T", "sleep 2; echo t > t.txt");
    env.ok(&["run", "U"]);
    let mut first = env.spawn(&["run", "T"], false);
    wait_for("T runs", || {
        runs_of(&env, "T").first().map(|r| r["state"].clone()) == Some("running".into())
    });
    let said = env.ok(&["task", "dep", "add", "T", "--after", "U"]);
    assert!(said.contains("applies to its next run"), "{said}");
    assert!(first.wait().expect("T's run ends").success());
    let run1 = &runs_of(&env, "T")[0];
    let shown = json(&env.ok(&["run", "show", run1["id"].as_str().expect("id"), "--json"]));
    assert_eq!(
        shown["upstream"].as_array().map(Vec::len),
        Some(0),
        "the live run went on as it started: {shown}"
    );
    env.ok(&["run", "T"]);
    let run2 = &runs_of(&env, "T")[0];
    let shown = json(&env.ok(&["run", "show", run2["id"].as_str().expect("id"), "--json"]));
    assert_eq!(
        shown["upstream"].as_array().map(Vec::len),
        Some(1),
        "{shown}"
    );
    let checkout = shown["checkout_path"].as_str().expect("checkout");
    assert!(Path::new(checkout).join("u.txt").exists());
}

#[test]
fn removing_a_task_others_run_after_names_them_and_needs_yes() {
    let env = Env::new();
    diamond(&env, "true");
    let refused = env.corral(&["task", "rm", "A"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("`B`") && refused.stderr.contains("`C`"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(shown_status(&env, "A"), "ready", "nothing changed");
    let removed = env.ok(&["task", "rm", "A", "--yes"]);
    assert!(removed.contains("no longer wait for `A`"), "{removed}");
    assert_eq!(shown_status(&env, "B"), "ready", "B waits for nothing now");
    assert_eq!(
        shown_status(&env, "D"),
        "backlog",
        "D still waits for B and C"
    );
}

#[test]
fn two_live_runs_changing_the_same_path_both_say_so() {
    let env = Env::new();
    env.project("r", &["sandbox=local", "max-runs=2"]);
    env.sh_task("r", "X", "echo x > shared.txt; echo x > x.txt; sleep 5");
    env.sh_task("r", "Y", "sleep 1; echo y > shared.txt; sleep 5");
    let ran = env.corral(&["graph", "run", "r"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let x = &runs_of(&env, "X")[0];
    let y = &runs_of(&env, "Y")[0];
    for (run, other) in [(x, y), (y, x)] {
        let overlaps = run["overlaps"].as_array().cloned().unwrap_or_default();
        assert_eq!(overlaps.len(), 1, "one overlap, on shared.txt: {run}");
        assert_eq!(overlaps[0]["path"], "shared.txt");
        assert_eq!(overlaps[0]["run_id"], other["id"]);
        assert_eq!(overlaps[0]["task_id"], other["task_id"]);
    }
    let table = env.ok(&["runs", "-p", "r"]);
    assert!(table.contains("shared.txt (with `Y`)"), "{table}");
    assert!(table.contains("shared.txt (with `X`)"), "{table}");
    let shown = env.ok(&["graph", "show", "-p", "r"]);
    assert!(shown.contains("(overlaps on shared.txt)"), "{shown}");
    let log = env.ok(&["logs", x["id"].as_str().expect("id")]);
    assert!(log.contains("overlap: run"), "{log}");
}

#[test]
fn a_dependant_is_stale_once_its_upstream_has_newer_work_until_it_runs_again() {
    let env = Env::new();
    env.project("r", &["sandbox=local"]);
    env.sh_task("r", "A", "date +%s%N > a.txt");
    env.sh_task_after("r", "B", "A", "cat a.txt > b.txt");
    let ran = env.corral(&["graph", "run", "r"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let stale = |title: &str| {
        json(&env.ok(&["graph", "show", "-p", "r", "--json"]))
            .as_array()
            .and_then(|all| all.iter().find(|t| t["title"] == title).cloned())
            .map(|t| t["stale_after"].clone())
            .unwrap_or_default()
    };
    assert_eq!(stale("B"), serde_json::json!([]));
    // A runs again: B's latest run started from A's older work.
    env.ok(&["run", "A"]);
    assert_eq!(stale("B"), serde_json::json!(["A"]));
    let shown = env.ok(&["graph", "show", "-p", "r"]);
    assert!(shown.contains("(stale: newer work of `A`)"), "{shown}");
    env.ok(&["run", "B"]);
    assert_eq!(
        stale("B"),
        serde_json::json!([]),
        "ran again from A's newest work"
    );
}

#[test]
fn a_stopped_graph_run_starts_nothing_more_and_does_not_report_success() {
    let env = Env::new();
    env.project("r", &["sandbox=local"]);
    env.sh_task("r", "A", "sleep 2; echo a > a.txt");
    env.sh_task_after("r", "B", "A", "true");
    let graph = env.spawn(&["graph", "run", "r"], true);
    wait_for("A runs", || {
        runs_of(&env, "A").first().map(|r| r["state"].clone()) == Some("running".into())
    });
    let said = env.ok(&["graph", "stop", "r"]);
    assert!(said.contains("starts nothing more"), "{said}");
    let out = graph.wait_with_output().expect("graph run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`B` did not start"), "{stderr}");
    // A's live run went on; B never started.
    wait_for("A ends", || {
        runs_of(&env, "A").first().map(|r| r["state"].clone()) == Some("succeeded".into())
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(runs_of(&env, "B").is_empty(), "nothing new started");
}
