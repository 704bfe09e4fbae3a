//! Everything a sandbox writes is hostile input: each attack here is planted by a task in its
//! container (or, for git's own tricks, by a task in the local sandbox, where git exists), and
//! the host must neither follow it, execute it, nor take a status from it.

use std::path::Path;
use std::process::Command;

use super::{Env, file_on_branch, git, json, s, test_image};

/// A project on the busybox test image with `settings`, and one custom task running `script`;
/// runs it to its end and returns the run (`run show --json`) and its log (`logs --json`).
fn run_script(env: &Env, settings: &[&str], script: &str) -> (serde_json::Value, String) {
    test_image();
    let mut set = vec!["agent-image=corral-test/busybox:1"];
    set.extend_from_slice(settings);
    env.project("r", &set);
    env.sh_task("r", "Attack", script);
    let _ = env.corral(&["run", "Attack", "--follow"]);
    let runs = json(&env.ok(&["runs", "--json"]));
    let id = runs[0]["id"].as_str().expect("id").to_string();
    let run = json(&env.ok(&["run", "show", &id, "--json"]));
    let log = env.ok(&["logs", &id, "--json"]);
    (run, log)
}

fn host_git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Person")
        .env("GIT_AUTHOR_EMAIL", "p@example.com")
        .env("GIT_COMMITTER_NAME", "Person")
        .env("GIT_COMMITTER_EMAIL", "p@example.com")
        .output()
        .expect("git runs")
}

#[test]
fn a_planted_fsmonitor_hook_or_filter_never_runs_when_git_is_used_on_the_host() {
    let env = Env::new();
    let marks = env.dir.path().join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    let m = s(&marks);
    // The sandbox writes the commands; they name host paths it cannot reach itself.
    let script = format!(
        "printf '[core]\\n\\tfsmonitor = \"touch {m}/fsmonitor; false\"\\n\\thooksPath = .git/hooks\\n\
         [filter \"x\"]\\n\\tclean = \"touch {m}/filter; cat\"\\n' >> .git/config; \
         mkdir -p .git/hooks; printf '#!/bin/sh\\ntouch {m}/hook\\n' > .git/hooks/pre-commit; \
         chmod +x .git/hooks/pre-commit; echo '* filter=x' > .gitattributes; echo hi > a.txt"
    );
    let (run, log) = run_script(&env, &[], &script);
    assert_eq!(run["state"], "succeeded", "{run}");
    assert!(
        log.contains("the sandbox changed .git/config, .git/hooks"),
        "the log says what was put back: {log}"
    );
    let checkout = Path::new(run["checkout_path"].as_str().expect("checkout"));
    // A person working in the checkout with their own git afterwards.
    std::fs::write(checkout.join("b.txt"), "b").expect("write");
    for args in [
        &["status"][..],
        &["add", "-A"],
        &["commit", "-qm", "by hand"],
        &["diff", "HEAD~1"],
    ] {
        let out = host_git(checkout, args);
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }
    let ran: Vec<String> = std::fs::read_dir(&marks)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(ran.is_empty(), "planted commands ran on the host: {ran:?}");
}

#[test]
fn a_step_file_replaced_by_a_link_to_a_host_file_is_never_read() {
    let env = Env::new();
    let secret = env.dir.path().join("host-secret.txt");
    std::fs::write(&secret, "TOP-SECRET-HOST-CONTENT\n").expect("write");
    let sp = s(&secret);
    // The later step's files planted as links to the host file (the paths resolve on the host).
    let script = format!(
        "for f in verify.out verify.err verify.exit; do rm -f /corral/run/$f; \
         ln -s {sp} /corral/run/$f; done; echo planted"
    );
    let (run, log) = run_script(&env, &["verify=echo verified"], &script);
    assert_eq!(run["state"], "succeeded", "{run}\n{log}");
    assert!(log.contains("verified"), "{log}");
    assert!(
        !log.contains("TOP-SECRET"),
        "a host file reached the log: {log}"
    );

    // A step that replaces its own output file by a link while it runs: refused, not read.
    let env = Env::new();
    let script = format!(
        "echo before; sleep 0.5; rm /corral/run/agent.out; ln -s {sp} /corral/run/agent.out; \
         sleep 1; echo after >&2"
    );
    let (run, log) = run_script(&env, &[], &script);
    assert!(
        !log.contains("TOP-SECRET"),
        "a host file reached the log: {log}"
    );
    assert_eq!(run["state"], "failed", "{run}");
    assert!(
        run["reason"].as_str().is_some_and(|r| r.contains("link")),
        "{run}"
    );
}

#[test]
fn a_leftover_process_never_forges_a_later_steps_status_or_output() {
    let env = Env::new();
    let script = "(while true; do echo 0 > /corral/run/verify.exit; \
                  echo forged-ok >> /corral/run/verify.out; sleep 0.02; done) & echo started";
    let (run, log) = run_script(
        &env,
        &[
            "verify=echo checking; sleep 1; exit 3",
            "verify.test=echo testing; sleep 1; exit 5",
        ],
        script,
    );
    assert_eq!(run["state"], "failed", "{run}");
    assert_eq!(
        run["reason"], "checks failed: `verify` (exited with 3), `test` (exited with 5)",
        "{run}"
    );
    // Each check's recorded status and output are its own, whatever the forger wrote.
    assert_eq!(run["checks"][0]["exit_code"], 3, "{run}");
    assert_eq!(run["checks"][0]["tail"], "checking", "{run}");
    assert_eq!(run["checks"][1]["name"], "test", "{run}");
    assert_eq!(run["checks"][1]["exit_code"], 5, "{run}");
    assert_eq!(run["checks"][1]["tail"], "testing", "{run}");
    let verify_lines: Vec<String> = log
        .lines()
        .map(json)
        .filter(|e| e["kind"] == "output" && e["step"] == "verify")
        .map(|e| e["line"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(verify_lines, ["checking", "testing"], "{log}");
}

#[test]
fn links_a_task_writes_are_recorded_as_links_and_never_followed() {
    let env = Env::new();
    let script = "ln -s / rootlink; mkdir d; ln -s /usr d/usr; ln -s .. up; ln -s . loop; \
                  sleep 3; echo hi > after.txt";
    let started = std::time::Instant::now();
    let (run, log) = run_script(&env, &[], script);
    let took = started.elapsed();
    assert_eq!(run["state"], "succeeded", "{run}");
    let changes: Vec<serde_json::Value> = log
        .lines()
        .map(json)
        .filter(|e| e["kind"] == "file_changed")
        .collect();
    let paths: std::collections::BTreeSet<&str> =
        changes.iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(
        paths.into_iter().collect::<Vec<_>>(),
        ["after.txt", "d/usr", "loop", "rootlink", "up"],
        "only the links themselves: {} changes",
        changes.len()
    );
    let rootlink = changes
        .iter()
        .find(|e| e["path"] == "rootlink")
        .expect("rootlink");
    assert_eq!(rootlink["link"], "/", "{rootlink}");
    eprintln!(
        "ln -s / run: {} file changes, {:.1} s for a 3-second task",
        changes.len(),
        took.as_secs_f64()
    );
}

/// What the agent does with git in the checkout, in the local sandbox (the host's git).
fn git_run(script: &str) -> (Env, std::path::PathBuf, serde_json::Value, String) {
    let env = Env::new();
    let repo = env.repo("r");
    std::fs::write(repo.join("two.txt"), "2").expect("write");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "second"]);
    env.ok(&["project", "add", s(&repo)]);
    env.ok(&["project", "set", "r", "sandbox=local"]);
    let script = format!(
        "export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a \
         GIT_COMMITTER_EMAIL=a@b; {script}"
    );
    env.ok(&[
        "task", "add", "-p", "r", "-t", "Git", "--", "sh", "-c", &script,
    ]);
    let _ = env.corral(&["run", "Git", "--follow"]);
    let runs = json(&env.ok(&["runs", "--json"]));
    let id = runs[0]["id"].as_str().expect("id").to_string();
    let run = json(&env.ok(&["run", "show", &id, "--json"]));
    let log = env.ok(&["logs", &id]);
    (env, repo, run, log)
}

#[test]
fn whatever_the_agent_does_with_git_its_work_is_the_runs_branch() {
    // Its own branch, with a commit and an uncommitted file.
    let (_env, repo, run, log) = git_run(
        "git checkout -q -b agent-branch && echo 3 > three.txt && git add three.txt && \
         git commit -qm three && echo 4 > four.txt",
    );
    assert_eq!(run["state"], "succeeded", "{run}");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(super::file_on_branch(&repo, branch, "three.txt"), "3\n");
    assert_eq!(super::file_on_branch(&repo, branch, "four.txt"), "4\n");
    assert!(log.contains("its own branch `agent-branch`"), "{log}");

    // A detached HEAD with a commit on it.
    let (_env, repo, run, log) = git_run(
        "git checkout -q --detach && echo 5 > five.txt && git add five.txt && \
         git commit -qm five",
    );
    assert_eq!(run["state"], "succeeded", "{run}");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(super::file_on_branch(&repo, branch, "five.txt"), "5\n");
    assert!(log.contains("HEAD detached"), "{log}");

    // A reset to an older commit (as a rebase or rewrite would leave it): said plainly.
    let (_env, repo, run, log) = git_run("git reset -q --hard HEAD~1 && echo 6 > six.txt");
    assert_eq!(run["state"], "succeeded", "{run}");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(super::file_on_branch(&repo, branch, "six.txt"), "6\n");
    assert_eq!(super::file_on_branch(&repo, branch, "two.txt"), "");
    assert!(
        log.contains("no longer descends from the run's base commit"),
        "{log}"
    );

    // A rebase that drops the base's last commit from under the agent's work.
    let (_env, repo, run, log) = git_run(
        "echo 8 > eight.txt && git add eight.txt && git commit -qm eight && \
         git rebase -q --onto HEAD~2 HEAD~1",
    );
    assert_eq!(run["state"], "succeeded", "{run}\n{log}");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(super::file_on_branch(&repo, branch, "eight.txt"), "8\n");
    assert_eq!(super::file_on_branch(&repo, branch, "two.txt"), "");
    assert!(
        log.contains("no longer descends from the run's base commit"),
        "{log}"
    );

    // Commits on the run branch itself: the result is the agent's commit, nothing is said.
    let (_env, repo, run, log) =
        git_run("echo 7 > seven.txt && git add seven.txt && git commit -qm seven");
    assert_eq!(run["state"], "succeeded", "{run}");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(super::file_on_branch(&repo, branch, "seven.txt"), "7\n");
    assert_ne!(run["result_commit"], run["base_commit"], "{run}");
    assert!(!log.contains("HEAD held"), "{log}");
}

#[test]
fn files_over_max_file_size_are_left_out_of_the_commit_and_the_run_still_succeeds() {
    let env = Env::new();
    // A sparse 4 GiB file (a few KB on disk) and a real 100 MB one, beside an ordinary file.
    let script = "truncate -s 4G big.bin; head -c 100000000 /dev/zero > real.bin; \
                  echo small > small.txt";
    let started = std::time::Instant::now();
    let (run, log) = run_script(&env, &[], script);
    let took = started.elapsed();
    assert_eq!(run["state"], "succeeded", "{run}\n{log}");
    let repo = env.dir.path().join("r");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(super::file_on_branch(&repo, branch, "small.txt"), "small\n");
    let files = super::file_on_branch(&repo, branch, "");
    assert!(
        !files.contains("big.bin") && !files.contains("real.bin"),
        "{files}"
    );
    let id = run["id"].as_str().expect("id");
    let shown = json(&env.ok(&["run", "show", id, "--json"]));
    let mut left_out: Vec<(String, u64)> = shown["left_out"]
        .as_array()
        .expect("left_out")
        .iter()
        .map(|f| {
            assert_eq!(f["max_bytes"], 50 << 20, "{f}");
            (
                f["path"].as_str().expect("path").to_string(),
                f["size"].as_u64().expect("size"),
            )
        })
        .collect();
    left_out.sort();
    assert_eq!(
        left_out,
        [
            ("big.bin".to_string(), 4u64 << 30),
            ("real.bin".to_string(), 100_000_000)
        ]
    );
    let human = env.ok(&["run", "show", id]);
    assert!(
        human.contains("left out") && human.contains("big.bin (4.0 GiB)"),
        "{human}"
    );
    assert!(
        log.contains("max-file-size=4096m"),
        "how to include them: {log}"
    );
    // The run's changes list them as left out.
    let stat = env.ok(&["diff", id, "--stat"]);
    assert!(
        stat.contains("A small.txt  +1 -0")
            && stat.contains("L big.bin  left out of the commit")
            && stat.contains("L real.bin  left out of the commit"),
        "{stat}"
    );
    // Still in the checkout, for whoever wants them.
    let checkout = Path::new(run["checkout_path"].as_str().expect("checkout"));
    assert!(checkout.join("real.bin").is_file());
    eprintln!(
        "4 GiB sparse + 100 MB files: run took {:.1} s",
        took.as_secs_f64()
    );
}

#[test]
fn a_flood_of_file_changes_is_cut_at_the_cap_and_the_commit_still_holds_every_file() {
    let env = Env::new();
    let script = "mkdir many && cd many && i=0; while [ $i -lt 12000 ]; do echo $i > f$i; \
                  i=$((i+1)); done; echo done";
    let started = std::time::Instant::now();
    let (run, log) = run_script(&env, &[], script);
    let took = started.elapsed();
    assert_eq!(run["state"], "succeeded", "{run}");
    let paths: std::collections::BTreeSet<String> = log
        .lines()
        .map(json)
        .filter(|e| e["kind"] == "file_changed")
        .filter_map(|e| e["path"].as_str().map(str::to_string))
        .collect();
    let changes = paths.len();
    assert_eq!(
        changes, 10_000,
        "files with recorded changes, up to the cap"
    );
    assert!(
        log.contains("more than 10000 file changes: the list of changes stops here"),
        "the log says the list was cut"
    );
    let repo = env.dir.path().join("r");
    let branch = run["branch"].as_str().expect("branch");
    let listed = Command::new("git")
        .args(["ls-tree", "-r", "--name-only", branch, "many/"])
        .current_dir(&repo)
        .output()
        .expect("git");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).lines().count(),
        12_000,
        "every file is in the commit"
    );
    eprintln!(
        "12,000 files: changes of {changes} files recorded, run took {:.1} s",
        took.as_secs_f64()
    );
}

#[test]
fn a_link_planted_inside_dot_git_is_refused_and_never_written_through() {
    let env = Env::new();
    let victim = env.dir.path().join("victim.txt");
    std::fs::write(&victim, "untouched\n").expect("write");
    let v = s(&victim);
    let script = format!("rm -f .git/index && ln -s {v} .git/index && echo hi > a.txt");
    let (run, log) = run_script(&env, &[], &script);
    assert_eq!(run["state"], "failed", "{run}");
    assert!(
        run["reason"]
            .as_str()
            .is_some_and(|r| r.contains("link or a special file inside `.git`")),
        "{run}"
    );
    assert_eq!(
        std::fs::read_to_string(&victim).expect("read"),
        "untouched\n",
        "the host file behind the link: {log}"
    );
}

#[test]
fn a_check_that_wipes_the_checkout_in_its_container_leaves_the_result_committed_before_it() {
    let env = Env::new();
    let (run, log) = run_script(
        &env,
        &["verify.wreck=rm -rf /workspace/* /workspace/.git; echo wiped"],
        "echo kept > kept.txt",
    );
    // Without its .git the checkout cannot go on: the run fails saying so.
    assert_eq!(run["failure"]["kind"], "run_files_removed", "{run}\n{log}");
    let message = run["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("removed the checkout's .git folder"),
        "{run}"
    );
    assert!(
        message.contains("the result committed before it is kept"),
        "{run}"
    );
    // Whatever the check did to the checkout, the result was committed before it ran.
    let commit = run["result_commit"]
        .as_str()
        .unwrap_or_else(|| panic!("{run}\n{log}"));
    let repo = env.dir.path().join("r");
    let shown = host_git(&repo, &["show", &format!("{commit}:kept.txt")]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "kept\n", "{run}");
}

#[test]
fn a_check_that_empties_the_checkout_in_its_container_cannot_change_the_result() {
    let env = Env::new();
    let (run, log) = run_script(
        &env,
        &["verify.wreck=rm -rf /workspace/*; echo emptied"],
        "echo kept > kept.txt",
    );
    // The check passed, and the result is what the task left, not what the check did.
    assert_eq!(run["state"], "succeeded", "{run}\n{log}");
    assert_eq!(run["checks"][0]["tail"], "emptied", "{run}");
    let repo = env.dir.path().join("r");
    let branch = run["branch"].as_str().expect("branch");
    assert_eq!(file_on_branch(&repo, branch, "kept.txt"), "kept\n");
}
