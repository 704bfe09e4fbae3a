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
}
