//! Checks that close the loop, with the real Claude Code against the scripted model server in
//! the local sandbox: a failed check's name and output reach the agent's resumed session, it
//! fixes its work, and the checks run again; with the attempts used up the run fails
//! `verify_failed` and merges only when forced.

use super::agents::local_claude_project;
use super::model_server::model_server;
use super::{Env, file_on_branch, json};

const KEY: (&str, &str) = ("ANTHROPIC_API_KEY", "sk-corral-test-checks");
/// Fails unless the agent's answer.txt says "fixed", printing what it found.
const CHECK: &str = "verify.test=grep -q fixed answer.txt || { echo \"answer.txt says $(cat answer.txt)\"; exit 1; }";

fn checks_project(url: &str, settings: &[&str]) -> Env {
    let env = local_claude_project(url);
    let mut set = vec!["project", "set", "r", CHECK];
    set.extend_from_slice(settings);
    env.ok(&set);
    env
}

/// Adds an agent task to project `r`.
fn add_task(env: &Env, title: &str, prompt: &str) {
    env.ok(&["task", "add", "-p", "r", "-t", title, "--prompt", prompt]);
}

/// The newest run of a task of its own (not an agent reviewer's) in `runs --json`.
fn own_run(runs: &serde_json::Value) -> String {
    runs.as_array()
        .and_then(|r| r.iter().find(|r| r["consult_of"].is_null()))
        .and_then(|r| r["id"].as_str())
        .expect("the task's run")
        .to_string()
}

fn logged(env: &Env, run: &str) -> Vec<serde_json::Value> {
    env.ok(&["logs", run, "--json"]).lines().map(json).collect()
}

#[test]
fn the_agent_is_told_what_failed_fixes_it_and_the_run_succeeds_on_its_second_attempt() {
    let (url, requests) = model_server();
    let env = checks_project(&url, &[]);
    add_task(&env, "Answer", "CORRAL-CHECKS: write answer.txt");
    let ran = env.corral_with(&["run", "Answer", "--follow"], &[KEY]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stderr, ran.stdout);
    let runs = json(&env.ok(&["runs", "--json"]));
    let id = runs[0]["id"].as_str().expect("id").to_string();
    let run = json(&env.ok(&["run", "show", &id, "--json"]));
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["verify_attempt"], 2, "{run}");
    assert_eq!(run["checks"][0]["name"], "test", "{run}");
    assert_eq!(run["checks"][0]["outcome"], "passed", "{run}");
    assert_eq!(run["checks"][0]["attempt"], 2, "{run}");

    // The model's request after the failed check holds the check's name, command, status
    // and output tail, in the documented format.
    let seen = requests.lock().expect("requests").clone();
    let told = seen
        .iter()
        .find(|r| r.contains("The project's checks failed on your work"))
        .unwrap_or_else(|| panic!("no request carried the failure: {seen:?}"));
    assert!(told.contains("attempt 1 of 3"), "{told}");
    assert!(
        told.contains("Check `test` failed: `grep -q fixed answer.txt"),
        "{told}"
    );
    assert!(told.contains("exited with 1."), "{told}");
    assert!(told.contains("answer.txt says broken"), "{told}");

    let log = logged(&env, &id);
    let ended: Vec<(u64, &str)> = log
        .iter()
        .filter(|e| e["kind"] == "check_ended")
        .map(|e| {
            (
                e["result"]["attempt"].as_u64().unwrap_or(0),
                e["result"]["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(ended, [(1, "failed"), (2, "passed")], "{log:?}");
    let retry = log
        .iter()
        .find(|e| e["kind"] == "verify_retry")
        .expect("a retry on the record");
    assert_eq!(retry["attempt"], 2);
    assert_eq!(retry["failed"][0], "test");
    let readable = env.ok(&["logs", &id]);
    assert!(
        readable.contains("retry > attempt 2 of 3: the agent is told what failed (test)"),
        "{readable}"
    );

    let repo = env.dir.path().join("r");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(file_on_branch(&repo, branch, "answer.txt"), "fixed\n");
    // Each attempt's work is a commit of its own on the run branch.
    let subjects = std::process::Command::new("git")
        .args(["log", "--format=%s", &format!("main..{branch}")])
        .current_dir(&repo)
        .output()
        .expect("git log");
    let subjects = String::from_utf8_lossy(&subjects.stdout).to_string();
    assert_eq!(subjects, "Answer (attempt 2)\nAnswer\n", "{subjects}");
    env.ok(&["merge", &id]);
    assert_eq!(file_on_branch(&repo, "main", "answer.txt"), "fixed\n");
}

#[test]
fn with_its_attempts_used_up_the_run_fails_verify_failed_and_merges_only_when_forced() {
    let (url, requests) = model_server();
    let env = checks_project(&url, &["verify-retries=1"]);
    add_task(&env, "Worse", "CORRAL-CHECKS-NEVER: write answer.txt");
    let ran = env.corral_with(&["run", "Worse", "--follow"], &[KEY]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stderr, ran.stdout);
    let runs = json(&env.ok(&["runs", "--json"]));
    let id = runs[0]["id"].as_str().expect("id").to_string();
    let run = json(&env.ok(&["run", "show", &id, "--json"]));
    assert_eq!(run["failure"]["kind"], "verify_failed", "{run}");
    assert_eq!(
        run["failure"]["message"],
        "checks failed: `test` (exited with 1); the agent had 2 attempts (verify-retries)",
        "{run}"
    );
    assert_eq!(run["verify_attempt"], 2, "{run}");
    assert_eq!(run["checks"][0]["tail"], "answer.txt says worse", "{run}");
    // Two failure messages would mean a third attempt: there were two attempts in all.
    let seen = requests.lock().expect("requests").clone();
    let told = seen.iter().filter(|r| r.contains("attempt 2 of 2")).count();
    assert_eq!(told, 0, "the agent is not told of a third attempt");

    // It waits in the inbox for a decision.
    let inbox = json(&env.ok(&["inbox", "--json"]));
    assert_eq!(inbox[0]["kind"], "checks_failed", "{inbox}");
    assert_eq!(inbox[0]["run_id"], id.as_str(), "{inbox}");
    let listed = env.ok(&["inbox"]);
    assert!(
        listed.contains(&format!("corral merge {id} --force")),
        "{listed}"
    );

    let refused = env.fails(&["merge", &id]);
    assert!(refused.contains("its checks failed"), "{refused}");
    assert!(refused.contains("--force"), "{refused}");
    let dry = env.corral(&["merge", &id, "--dry-run"]);
    assert_eq!(dry.code, 1);
    assert!(
        dry.stdout.contains("cannot merge: its checks failed"),
        "{}",
        dry.stdout
    );
    let repo = env.dir.path().join("r");
    assert_eq!(file_on_branch(&repo, "main", "answer.txt"), "");
    env.ok(&["merge", &id, "--force"]);
    assert_eq!(file_on_branch(&repo, "main", "answer.txt"), "worse\n");
    let readable = env.ok(&["logs", &id]);
    assert!(
        readable.contains("forced, its checks had failed"),
        "{readable}"
    );
    // Merged: it no longer waits on a decision.
    assert_eq!(json(&env.ok(&["inbox", "--json"])), serde_json::json!([]));
}

#[test]
fn a_run_whose_checks_failed_can_be_set_aside_and_leaves_the_inbox() {
    let env = Env::new();
    env.project("r", &["sandbox=local", "verify.test=exit 3"]);
    env.sh_task("r", "Red", "echo red > red.txt");
    let ran = env.corral(&["run", "Red"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let runs = json(&env.ok(&["runs", "--json"]));
    let id = runs[0]["id"].as_str().expect("id").to_string();
    assert_eq!(
        json(&env.ok(&["inbox", "--json"]))[0]["run_id"],
        id.as_str()
    );
    env.ok(&["run", "dismiss", &id]);
    assert_eq!(json(&env.ok(&["inbox", "--json"])), serde_json::json!([]));
    let log = env.ok(&["logs", &id]);
    assert!(log.contains("set aside"), "{log}");
    assert!(log.contains("no retry: the task is a command"), "{log}");
}

#[test]
fn review_comments_reach_the_agent_as_one_message_and_are_kept_outdated_once_fixed() {
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    add_task(&env, "Answer", "CORRAL-CHECKS: write answer.txt");
    let ran = env.corral_with(&["run", "Answer"], &[KEY]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let runs = json(&env.ok(&["runs", "--json"]));
    let first = runs[0]["id"].as_str().expect("id").to_string();

    // A line the result does not have is refused before anything starts.
    let refused = env.fails(&[
        "review",
        &first,
        "--comment",
        "answer.txt:7",
        "no such line",
    ]);
    assert!(refused.contains("answer.txt:7"), "{refused}");
    let bad = env.fails(&["review", &first, "--comment", "answer.txt", "where?"]);
    assert!(bad.contains("PATH:LINE"), "{bad}");
    assert_eq!(
        json(&env.ok(&["runs", "--json"])).as_array().map(Vec::len),
        Some(1)
    );

    let reviewed = env.corral_with(
        &[
            "review",
            &first,
            "--comment",
            "answer.txt:1",
            "Say fixed, not broken.",
            "--message",
            "Keep it one line.",
        ],
        &[KEY],
    );
    assert_eq!(reviewed.code, 0, "{}", reviewed.stderr);
    let seen = requests.lock().expect("requests").clone();
    let told = seen
        .iter()
        .find(|r| r.contains("A review of your work left 1 comment"))
        .unwrap_or_else(|| panic!("no request carried the review: {seen:?}"));
    assert!(
        told.contains(
            "1. answer.txt:1\\n   > broken\\n   Say fixed, not broken.\\n\\nKeep it one line."
        ),
        "{told}"
    );

    let runs = json(&env.ok(&["runs", "--json"]));
    let follow_up = runs[0]["id"].as_str().expect("id").to_string();
    assert_ne!(follow_up, first);
    let shown = json(&env.ok(&["run", "show", &follow_up, "--json"]));
    assert_eq!(shown["state"], "succeeded", "{shown}");
    let comment = &shown["review_comments"][0];
    assert_eq!(comment["path"], "answer.txt", "{shown}");
    assert_eq!(comment["code"], "broken", "{shown}");
    assert_eq!(comment["on_run"], first.as_str(), "{shown}");
    assert_eq!(comment["sent_in"], follow_up.as_str(), "{shown}");
    // The follow-up rewrote that line: the comment is kept, and outdated.
    assert_eq!(comment["outdated"], true, "{shown}");
    let on_first = json(&env.ok(&["run", "show", &first, "--json"]));
    assert_eq!(
        on_first["review_comments"][0]["text"],
        "Say fixed, not broken."
    );
    let text = env.ok(&["run", "show", &first]);
    assert!(
        text.contains(&format!(
            "comment    answer.txt:1 (outdated): Say fixed, not broken., sent in run {follow_up}"
        )),
        "{text}"
    );
    // The follow-up committed on the same branch: merging the first run would merge its work.
    let refused = env.fails(&["merge", &first]);
    assert!(
        refused.contains(&format!("run {follow_up} (a follow-up) has committed on")),
        "{refused}"
    );
    env.ok(&["merge", &follow_up]);
    let repo = env.dir.path().join("r");
    assert_eq!(file_on_branch(&repo, "main", "answer.txt"), "fixed\n");
}

#[test]
fn an_agent_reviewer_requests_changes_that_go_back_and_a_second_attempt_passes_its_review() {
    let (url, requests) = model_server();
    let env = local_claude_project(&url);
    env.ok(&["project", "set", "r", "verify.review=agent"]);
    // The working agent also tries to give itself the reviewer's verdict: refused.
    add_task(&env, "Answer", "CORRAL-CHECKS-FORGE: write answer.txt");
    let ran = env.corral_with(&["run", "Answer", "--follow"], &[KEY]);
    let runs = json(&env.ok(&["runs", "--json"]));
    if ran.code != 0 {
        let all: Vec<String> = runs
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| !r["consult_of"].is_null())
            .map(|r| env.ok(&["logs", r["id"].as_str().unwrap_or_default(), "--raw"]))
            .collect();
        panic!(
            "{}\n{}\nreviewers:\n{}",
            ran.stderr,
            ran.stdout,
            all.join("\n---\n")
        );
    }
    let id = own_run(&runs);
    let run = json(&env.ok(&["run", "show", &id, "--json"]));
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["verify_attempt"], 2, "{run}");
    assert_eq!(run["checks"][0]["name"], "review", "{run}");
    assert_eq!(run["checks"][0]["outcome"], "passed", "{run}");
    // Two reviewers, one per attempt, each a read-only consult run of this run.
    assert_eq!(run["consults"].as_array().map(Vec::len), Some(2), "{run}");

    let seen = requests.lock().expect("requests").clone();
    // The forged verdict never reached Corral: the working agent has no such tool.
    let log = env.ok(&["logs", &id, "--json"]);
    assert!(
        !log.contains("\"tool\":\"submit_review\""),
        "the working agent's server took a verdict: {log}"
    );
    let told = seen
        .iter()
        .find(|r| r.contains("The project's checks failed on your work"))
        .unwrap_or_else(|| panic!("no request carried the review: {seen:?}"));
    assert!(told.contains("Check `review` failed"), "{told}");
    assert!(told.contains("requested changes"), "{told}");
    assert!(
        told.contains("answer.txt:1 (`broken`): It must say fixed."),
        "{told}"
    );
    // The reviewer's comment is kept with the run, by the agent reviewer.
    let comment = &run["review_comments"][0];
    assert_eq!(comment["text"], "It must say fixed.", "{run}");
    assert_eq!(comment["author"]["kind"], "agent", "{run}");
    // The retry rewrote the line it was on.
    assert_eq!(comment["outdated"], true, "{run}");
    let repo = env.dir.path().join("r");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(file_on_branch(&repo, branch, "answer.txt"), "fixed\n");
}

#[test]
fn a_reviewer_whose_key_is_missing_or_that_gives_no_verdict_fails_the_check_without_a_retry() {
    let (url, _requests) = model_server();
    let env = local_claude_project(&url);
    env.ok(&[
        "project",
        "set",
        "r",
        "verify.review=agent",
        "verify.review.runtime=codex",
    ]);
    add_task(&env, "Answer", "CORRAL-CHECKS: write answer.txt");
    let ran = env.corral_with(&["run", "Answer"], &[KEY]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let runs = json(&env.ok(&["runs", "--json"]));
    let id = runs[0]["id"].as_str().expect("id").to_string();
    let run = json(&env.ok(&["run", "show", &id, "--json"]));
    assert_eq!(run["failure"]["kind"], "verify_failed", "{run}");
    let message = run["failure"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("`review` (could not run: "), "{run}");
    assert!(message.contains("OPENAI_API_KEY"), "{run}");
    assert!(message.contains("not sent back"), "{run}");
    assert_eq!(run["checks"][0]["outcome"], "error", "{run}");
    assert_eq!(run["verify_attempt"], 1, "{run}");
    // The run is not lost: its result is kept, and it waits on a decision.
    assert!(run["result_commit"].is_string(), "{run}");
    assert_eq!(
        json(&env.ok(&["inbox", "--json"]))[0]["run_id"],
        id.as_str()
    );

    let env = local_claude_project(&url);
    env.ok(&["project", "set", "r", "verify.review=agent"]);
    add_task(
        &env,
        "Silent",
        "CORRAL-CHECKS CORRAL-REVIEW-SILENT: write answer.txt",
    );
    let ran = env.corral_with(&["run", "Silent"], &[KEY]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let runs = json(&env.ok(&["runs", "--json"]));
    let id = own_run(&runs);
    let run = json(&env.ok(&["run", "show", &id, "--json"]));
    let message = run["failure"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("without calling submit_review"), "{run}");
    assert_eq!(run["verify_attempt"], 1, "{run}");
}

#[test]
fn kill_9_during_a_check_loses_nothing_and_runs_no_check_twice() {
    let env = Env::new();
    env.project(
        "r",
        &[
            "sandbox=local",
            "verify.first=echo one",
            "verify.slow=for i in $(seq 1 30); do echo s$i; sleep 0.1; done; exit 3",
            "verify.last=echo last",
        ],
    );
    env.sh_task("r", "Work", "echo work > w.txt");
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "Work"])
        .env("CORRAL_DATA_DIR", &env.data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("corral runs");
    // Wait until the slow check is printing, then kill Corral without warning.
    let started = std::time::Instant::now();
    let id = loop {
        let runs = json(&env.ok(&["runs", "--json"]));
        let id = runs[0]["id"].as_str().unwrap_or_default().to_string();
        if runs[0]["state"] == "verifying" && env.ok(&["logs", &id]).contains("s3") {
            break id;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "never verifying"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    std::thread::sleep(std::time::Duration::from_millis(800));
    // A new Corral picks the run up in the middle of its check and finishes it.
    let ran = env.corral(&["logs", &id, "--follow", "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let events: Vec<serde_json::Value> = ran.stdout.lines().map(json).collect();
    let started: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "check_started")
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        started,
        ["first", "slow", "last"],
        "each check started once"
    );
    let slow: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "output" && e["step"] == "verify")
        .filter_map(|e| e["line"].as_str())
        .filter(|l| l.starts_with('s'))
        .collect();
    let expected: Vec<String> = (1..=30).map(|i| format!("s{i}")).collect();
    assert_eq!(slow, expected, "every line once, in order");
    let run = json(&env.ok(&["run", "show", &id, "--json"]));
    assert_eq!(
        run["failure"]["message"], "checks failed: `slow` (exited with 3)",
        "{run}"
    );
    let outcomes: Vec<&str> = run["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["passed", "failed", "passed"], "{run}");
    assert!(
        run["checks"][1]["tail"]
            .as_str()
            .is_some_and(|t| t.ends_with("s29\ns30")),
        "{run}"
    );
}
