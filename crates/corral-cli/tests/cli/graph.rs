//! `corral graph run`: a diamond (A; B and C after A; D after B and C) runs by itself, D's
//! checkout holds A's, B's and C's work, and a failure in B blocks D but not C.

use std::path::Path;

use super::{Env, json};

/// A diamond of custom tasks on the local sandbox; `b` is B's script.
fn diamond(env: &Env, b: &str) {
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

fn runs_of(env: &Env, title: &str) -> Vec<serde_json::Value> {
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
    env.ok(&[
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "B",
        "--after",
        "A",
        "--",
        "sh",
        "-c",
        "test -f a.txt && echo b > b.txt",
    ]);
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
        env.ok(&[
            "task",
            "add",
            "-p",
            "r",
            "-t",
            "B",
            "--after",
            "A",
            "--",
            "sh",
            "-c",
            "test -f a.txt && echo b > b.txt",
        ]);
        // Nobody starts anything: the project's scheduler does.
        wait_for("A and B run by themselves", || {
            ["A", "B"].iter().all(|t| {
                runs_of(&env, t).first().map(|r| r["state"].clone()) == Some("succeeded".into())
            })
        });
        env.sh_task("r", "C", "exit 3");
        env.ok(&[
            "task", "add", "-p", "r", "-t", "D", "--after", "C", "--", "sh", "-c", "true",
        ]);
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
        env.ok(&[
            "task",
            "add",
            "-p",
            "r",
            "-t",
            title,
            "--after",
            "Root",
            "--",
            "sh",
            "-c",
            "sleep 0.2",
        ]);
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
    env.ok(&[
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "B",
        "--after",
        "A",
        "--",
        "sh",
        "-c",
        "cat a.txt > b.txt",
    ]);
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
    env.ok(&[
        "task", "add", "-p", "r", "-t", "B", "--after", "A", "--", "sh", "-c", "true",
    ]);
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
