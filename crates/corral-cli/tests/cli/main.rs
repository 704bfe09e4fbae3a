//! Drives the real `corral` binary against temp data dirs and real git repositories.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

mod agents;
mod approve;
mod checks;
mod consult;
mod graph;
mod graph_cases;
mod hostile;
mod interrupt;
mod live;
mod mcp;
mod mcp_clis;
mod model_server;
mod moved_repo;
mod network;
mod orchestrate;
mod orchestrate_limits;
mod slots;

use corral_testkit::git;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
    data: PathBuf,
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data dir ☃");
        Env { dir, data }
    }

    fn corral_with(&self, args: &[&str], envs: &[(&str, &str)]) -> Ran {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_corral"));
        cmd.args(args)
            .env("CORRAL_DATA_DIR", &self.data)
            .env_remove("CORRAL_LOG");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().expect("corral runs");
        let ran = Ran {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        };
        assert!(
            !ran.stderr.contains("panicked"),
            "no panics: {}",
            ran.stderr
        );
        assert!(
            !ran.stderr.contains("backtrace"),
            "no backtraces: {}",
            ran.stderr
        );
        ran
    }

    fn corral(&self, args: &[&str]) -> Ran {
        self.corral_with(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let ran = self.corral(args);
        assert_eq!(ran.code, 0, "corral {args:?} failed: {}", ran.stderr);
        ran.stdout
    }

    /// Runs a command that must fail with exactly one line on stderr; returns that line.
    fn fails(&self, args: &[&str]) -> String {
        let ran = self.corral(args);
        assert_eq!(
            ran.code, 1,
            "corral {args:?} should fail: {}{}",
            ran.stdout, ran.stderr
        );
        let lines: Vec<&str> = ran.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {:?}", ran.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        lines[0].to_string()
    }

    fn repo(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        corral_testkit::make_repo(&path);
        path
    }

    /// A project named `name` on a fresh repository, with `settings` (`key=value`) applied.
    fn project(&self, name: &str, settings: &[&str]) -> PathBuf {
        let repo = self.repo(name);
        self.ok(&["project", "add", s(&repo)]);
        if !settings.is_empty() {
            let mut args = vec!["project", "set", name];
            args.extend_from_slice(settings);
            self.ok(&args);
        }
        repo
    }

    /// `corral <args>` started in the background; its output is kept (`wait_with_output`)
    /// when `keep_output`, else dropped.
    fn spawn(&self, args: &[&str], keep_output: bool) -> std::process::Child {
        let stdio = || {
            if keep_output {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            }
        };
        Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(args)
            .env("CORRAL_DATA_DIR", &self.data)
            .env_remove("CORRAL_LOG")
            .stdout(stdio())
            .stderr(stdio())
            .spawn()
            .expect("corral starts")
    }

    /// `corral <args>` in the background with `envs` added, its output kept.
    fn spawn_with(&self, args: &[&str], envs: &[(&str, &str)]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(args)
            .env("CORRAL_DATA_DIR", &self.data)
            .env_remove("CORRAL_LOG")
            .envs(envs.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("corral starts")
    }

    /// A custom task of `project` that runs after `after`, whose command is `sh -c <script>`.
    fn sh_task_after(&self, project: &str, title: &str, after: &str, script: &str) {
        self.ok(&[
            "task", "add", "-p", project, "-t", title, "--after", after, "--", "sh", "-c", script,
        ]);
    }

    /// A task of `project` for its default runtime (an agent), with `prompt`.
    fn prompt_task(&self, project: &str, title: &str, prompt: &str) {
        self.ok(&[
            "task", "add", "-p", project, "-t", title, "--prompt", prompt,
        ]);
    }

    /// A custom task of `project` whose command is `sh -c <script>`.
    fn sh_task(&self, project: &str, title: &str, script: &str) {
        self.ok(&[
            "task", "add", "-p", project, "-t", title, "--", "sh", "-c", script,
        ]);
    }
}

/// A file's content on a branch of the repository (empty when it is not there).
fn file_on_branch(repo: &Path, branch: &str, path: &str) -> String {
    let shown = Command::new("git")
        .args(["show", &format!("{branch}:{path}")])
        .current_dir(repo)
        .output()
        .expect("git");
    String::from_utf8_lossy(&shown.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"))
}

#[test]
fn a_whole_session_projects_tasks_dependencies() {
    let env = Env::new();
    let repo = env.repo("my project ünï");
    let out = env.ok(&["project", "add", s(&repo)]);
    assert!(out.contains("added project `my project ünï`"), "{out}");

    let projects = json(&env.ok(&["project", "list", "--json"]));
    assert_eq!(projects[0]["name"], "my project ünï");
    assert_eq!(projects[0]["default_branch"], "main");
    assert_eq!(projects[0]["source"]["kind"], "local");

    let p = "my project ünï";
    env.ok(&[
        "task",
        "add",
        "--project",
        p,
        "--title",
        "A",
        "--prompt",
        "first \"quoted\"\nline",
    ]);
    let prompt_file = env.dir.path().join("prompt b.md");
    std::fs::write(&prompt_file, "# B\nfrom a file").expect("write");
    env.ok(&[
        "task",
        "add",
        "-p",
        p,
        "-t",
        "B",
        "--prompt-file",
        s(&prompt_file),
        "--after",
        "A",
    ]);
    env.ok(&[
        "task",
        "add",
        "-p",
        p,
        "-t",
        "C",
        "--runtime",
        "custom",
        "--after",
        "B",
        "--",
        "sh",
        "-c",
        "make fmt && git status",
    ]);

    let tasks = json(&env.ok(&["task", "list", "--project", p, "--json"]));
    let tasks = tasks.as_array().expect("array");
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks[0]["status"], "ready");
    assert_eq!(tasks[0]["prompt"], "first \"quoted\"\nline");
    assert_eq!(tasks[1]["status"], "backlog");
    assert_eq!(tasks[1]["prompt"], "# B\nfrom a file");
    assert_eq!(tasks[1]["depends_on"][0], tasks[0]["id"]);
    assert_eq!(tasks[2]["runtime"], "custom");
    assert_eq!(
        tasks[2]["command"],
        serde_json::json!(["sh", "-c", "make fmt && git status"])
    );

    let table = env.ok(&["task", "list"]);
    assert!(
        table.lines().next().expect("header").starts_with("ID"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 4, "{table}");

    let line = env.fails(&["task", "dep", "add", "A", "--after", "C"]);
    assert_eq!(
        line,
        "error: that dependency would create a cycle: A -> B -> C -> A; fix: remove one of those dependencies first"
    );

    env.ok(&["task", "dep", "rm", "B", "--after", "A"]);
    let b = json(&env.ok(&["task", "show", "B", "--json"]));
    assert_eq!(b["status"], "ready");
    env.ok(&["task", "edit", "B", "--title", "B2", "--model", "opus"]);
    let b = json(&env.ok(&["task", "show", "B2", "-p", p, "--json"]));
    assert_eq!(b["model"], "opus");
    let shown = env.ok(&["task", "show", "C"]);
    assert!(shown.contains("after      B2"), "{shown}");

    env.ok(&[
        "project",
        "set",
        p,
        "network=host",
        "verify=cargo test",
        "memory=2g",
        "env.RUST_LOG=debug",
    ]);
    let shown = json(&env.ok(&["project", "show", p, "--json"]));
    assert_eq!(shown["workflow"]["network"], "host");
    assert_eq!(shown["workflow"]["verify_command"], "cargo test");
    assert_eq!(shown["workflow"]["limits"]["memory_mib"], 2048);
    assert_eq!(shown["workflow"]["env"]["RUST_LOG"], "debug");
    assert_eq!(shown["tasks"], 3);

    // The log file in the data dir has the operations, with their ids in the span fields.
    let logs: Vec<_> = std::fs::read_dir(env.data.join("logs"))
        .expect("logs folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(logs.len(), 1, "one daily log: {logs:?}");
    let log = std::fs::read_to_string(&logs[0]).expect("read log");
    assert!(log.contains("project added"), "{log}");
    assert!(
        log.contains("task created") && log.contains("project="),
        "{log}"
    );

    env.ok(&["task", "rm", "A", "--yes"]);
    env.ok(&["project", "rm", p]);
    assert_eq!(
        json(&env.ok(&["project", "list", "--json"])),
        serde_json::json!([])
    );
    assert!(
        repo.join("README.md").exists(),
        "the repository is untouched"
    );
}

#[test]
fn every_bad_input_gets_one_clear_line_and_changes_nothing() {
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    env.ok(&["task", "add", "-p", "r", "-t", "A"]);
    let other = env.repo("other");
    env.ok(&["project", "add", s(&other)]);
    env.ok(&["task", "add", "-p", "other", "-t", "X"]);
    let file = env.dir.path().join("file.txt");
    std::fs::write(&file, "x").expect("write");
    let plain = env.dir.path().join("plain");
    std::fs::create_dir(&plain).expect("mkdir");
    let empty = env.dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    git(&empty, &["init", "-q"]);
    let big = env.dir.path().join("big.txt");
    std::fs::write(&big, vec![b'x'; 1024 * 1024 + 1]).expect("write");
    let missing = env.dir.path().join("missing");

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["project", "add", s(&missing)], "does not exist"),
        (vec!["project", "add", s(&file)], "is a file, not a folder"),
        (vec!["project", "add", s(&plain)], "is not a git repository"),
        (vec!["project", "add", s(&empty)], "has no commits"),
        (
            vec!["project", "add", s(&other), "--name", "r"],
            "already the project `other`",
        ),
        (
            vec!["project", "add", s(&plain), "--name", "r"],
            "is not a git repository",
        ),
        (
            vec!["project", "show", "ghost"],
            "no project `ghost`; fix: known projects: other, r",
        ),
        (
            vec!["project", "set", "r", "colour=blue"],
            "unknown setting `colour`",
        ),
        (
            vec!["project", "set", "r", "memory=lots"],
            "bad value for `memory`",
        ),
        (vec!["project", "set", "r", "novalue"], "expected KEY=VALUE"),
        (vec!["task", "show", "nope"], "no task `nope`"),
        (
            vec!["task", "show", "01a210cd-0000-7000-8000-000000000000"],
            "no task",
        ),
        (
            vec!["task", "add", "-p", "r", "-t", "  "],
            "title must not be empty",
        ),
        (
            vec![
                "task",
                "add",
                "-p",
                "r",
                "-t",
                "Big",
                "--prompt-file",
                s(&big),
            ],
            "limit is 1048576 bytes",
        ),
        (
            vec!["task", "add", "-p", "r", "-t", "Bad", "--runtime", "gpt"],
            "unknown runtime `gpt`",
        ),
        (
            vec!["task", "add", "-p", "ghost", "-t", "T"],
            "no project `ghost`",
        ),
        (
            vec!["task", "add", "-p", "r", "-t", "T", "--after", "Nope"],
            "no task `Nope`",
        ),
        (
            vec!["task", "dep", "add", "A", "--after", "A"],
            "cannot depend on itself",
        ),
        (
            vec!["task", "dep", "add", "A", "--after", "X"],
            "different projects",
        ),
        (
            vec!["task", "dep", "rm", "A", "--after", "X"],
            "does not run after",
        ),
        (vec!["task", "edit", "A"], "nothing to change"),
    ];
    for (args, expected) in cases {
        let line = env.fails(&args);
        assert!(
            line.contains(expected),
            "corral {args:?}: expected `{expected}` in `{line}`"
        );
    }
    let projects = json(&env.ok(&["project", "list", "--json"]));
    assert_eq!(
        projects.as_array().expect("array").len(),
        2,
        "nothing added"
    );
    let tasks = json(&env.ok(&["task", "list", "--json"]));
    assert_eq!(tasks.as_array().expect("array").len(), 2, "nothing added");
    assert!(
        tasks
            .as_array()
            .expect("array")
            .iter()
            .all(|t| t["depends_on"] == serde_json::json!([]))
    );
}

#[test]
fn an_ambiguous_title_lists_the_candidates() {
    let env = Env::new();
    for name in ["p", "q"] {
        let repo = env.repo(name);
        env.ok(&["project", "add", s(&repo)]);
        env.ok(&["task", "add", "-p", name, "-t", "Same"]);
    }
    let line = env.fails(&["task", "show", "Same"]);
    assert!(
        line.contains("matches 2 tasks")
            && line.contains("project `p`")
            && line.contains("project `q`"),
        "{line}"
    );
    assert!(line.contains("--project"), "{line}");
    env.ok(&["task", "show", "Same", "--project", "q"]);
}

#[test]
fn an_unwritable_data_dir_is_a_clear_error() {
    let env = Env::new();
    let file = env.dir.path().join("a file");
    std::fs::write(&file, "x").expect("write");
    let ran = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["--data-dir", s(&file.join("data")), "project", "list"])
        .output()
        .expect("runs");
    assert_eq!(ran.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(
        stderr.starts_with("error: cannot use ") && stderr.contains("--data-dir"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_corrupt_database_is_a_clear_error_and_left_untouched() {
    let env = Env::new();
    std::fs::create_dir_all(&env.data).expect("mkdir");
    let db = env.data.join("corral.db");
    let junk: Vec<u8> = (0..4096u32).map(|i| (i % 256) as u8).collect();
    std::fs::write(&db, &junk).expect("write");
    let line = env.fails(&["task", "list"]);
    assert!(
        line.contains("is not a SQLite database") && line.contains("left untouched"),
        "{line}"
    );
    assert!(line.contains("move"), "a fix is given: {line}");
    assert_eq!(std::fs::read(&db).expect("read"), junk);
}

#[test]
fn docker_unreachable_fails_doctor_but_everything_else_works() {
    let env = Env::new();
    let sock = format!("unix://{}/nothing-here.sock", env.dir.path().display());
    let ran = env.corral_with(&["doctor"], &[("DOCKER_HOST", &sock)]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let docker_line = ran
        .stdout
        .lines()
        .find(|l| l.contains("docker"))
        .expect("docker line");
    assert!(docker_line.starts_with("FAIL"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("fix: start the Docker daemon"),
        "{}",
        ran.stdout
    );

    let ran = env.corral_with(&["doctor", "--json"], &[("DOCKER_HOST", &sock)]);
    let checks = json(&ran.stdout);
    assert_eq!(checks[0]["name"], "docker");
    assert_eq!(checks[0]["status"], "fail");
    assert!(
        checks[0]["fix"]
            .as_str()
            .expect("fix")
            .contains("DOCKER_HOST")
    );

    let repo = env.repo("r");
    let ran = env.corral_with(&["project", "add", s(&repo)], &[("DOCKER_HOST", &sock)]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = env.corral_with(
        &["task", "add", "-p", "r", "-t", "T"],
        &[("DOCKER_HOST", &sock)],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);

    // A run needs Docker: it fails with a kind scripts and the window branch on, and its fix.
    let no_docker = [("DOCKER_HOST", sock.as_str())];
    let ran = env.corral_with(
        &["task", "add", "-p", "r", "-t", "Cmd", "--", "true"],
        &no_docker,
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = env.corral_with(&["run", "Cmd"], &no_docker);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let runs = json(&env.corral_with(&["runs", "--json"], &no_docker).stdout);
    assert_eq!(runs[0]["state"], "failed");
    assert_eq!(runs[0]["failure"]["kind"], "docker_unreachable", "{runs}");
    let id = runs[0]["id"].as_str().expect("id").to_string();
    let show = json(
        &env.corral_with(&["run", "show", &id, "--json"], &no_docker)
            .stdout,
    );
    assert_eq!(show["failure"]["kind"], "docker_unreachable", "{show}");
    assert!(
        show["failure"]["fix"]
            .as_str()
            .is_some_and(|fix| fix.contains("start Docker")),
        "{show}"
    );
    let human = env.corral_with(&["run", "show", &id], &no_docker).stdout;
    assert!(human.contains("failure    docker_unreachable"), "{human}");
    assert!(human.contains("fix        start Docker"), "{human}");
}

#[test]
fn doctor_passes_on_this_machine() {
    let env = Env::new();
    let checks = json(&env.ok(&["doctor", "--json"]));
    for check in checks.as_array().expect("array") {
        assert_ne!(check["status"], "fail", "{check}");
    }
}

#[test]
fn usage_mistakes_exit_2_with_clap_help() {
    let env = Env::new();
    let ran = env.corral(&["task", "add"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("--project"), "{}", ran.stderr);
    let ran = env.corral(&["project", "set", "--help"]);
    assert_eq!(ran.code, 0);
    assert!(
        ran.stdout.contains("retention-days"),
        "settings listed in help: {}",
        ran.stdout
    );
}

fn test_image() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-test-image.sh");
        let ok = Command::new("bash")
            .arg(script)
            .arg("corral-test/busybox:1")
            .status()
            .expect("runs")
            .success();
        assert!(ok, "building the test image failed");
    });
}

const COUNTER: &str = "i=0; while [ $i -lt 60 ]; do echo \"tick $i\"; i=$((i+1)); sleep 0.05; done; echo made > made.txt";

/// The id of the newest run, once it is running (within a minute).
fn running_run(env: &Env) -> String {
    let started = std::time::Instant::now();
    loop {
        let runs = json(&env.ok(&["runs", "--json"]));
        if let Some(run) = runs.as_array().and_then(|a| a.first())
            && run["state"] == "running"
        {
            return run["id"].as_str().expect("id").to_string();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Starts `corral run Counter --follow`, kills it with SIGKILL while the step prints, waits,
/// then lets `corral logs --follow` (a new process) finish the run. Returns the run id and what
/// that second process printed, after checking every tick arrived once and in order.
fn kill_9_mid_run_then_follow(env: &Env) -> (String, Ran) {
    let mut first = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "Counter", "--follow"])
        .env("CORRAL_DATA_DIR", &env.data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("corral runs");
    // Wait until the step is printing, then kill Corral without warning.
    let run_id = running_run(env);
    std::thread::sleep(std::time::Duration::from_millis(700));
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let show = json(&env.ok(&["run", "show", &run_id, "--json"]));
    assert_eq!(show["state"], "running", "nobody recorded an end: {show}");
    // The step keeps printing while no Corral is running.
    std::thread::sleep(std::time::Duration::from_millis(1000));

    // A new Corral picks the run up, follows the rest and finishes it.
    let ran = env.corral(&["logs", &run_id, "--follow", "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ticks: Vec<String> = ran
        .stdout
        .lines()
        .map(json)
        .filter(|e| e["kind"] == "output" && e["step"] == "agent")
        .map(|e| e["line"].as_str().expect("line").to_string())
        .collect();
    let expected: Vec<String> = (0..60).map(|i| format!("tick {i}")).collect();
    assert_eq!(
        ticks, expected,
        "every line once, in order, including those printed while Corral was dead"
    );
    for line in ran.stdout.lines().map(json) {
        assert!(
            line["at"].as_i64().is_some() && line["seq"].as_i64().is_some(),
            "{line}"
        );
    }
    (run_id, ran)
}

#[test]
fn kill_9_mid_run_loses_nothing_and_the_next_corral_finishes_the_run() {
    test_image();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    env.ok(&["project", "set", "r", "agent-image=corral-test/busybox:1"]);
    env.ok(&[
        "task", "add", "-p", "r", "-t", "Counter", "--", "sh", "-c", COUNTER,
    ]);
    let (run_id, ran) = kill_9_mid_run_then_follow(&env);
    // The file the step made is in the log as a file change, with its time.
    let made = ran
        .stdout
        .lines()
        .map(json)
        .find(|e| e["kind"] == "file_changed" && e["path"] == "made.txt")
        .unwrap_or_else(|| panic!("no file change for made.txt in {}", ran.stdout));
    assert_eq!(made["change"], "created");
    assert!(made["at"].as_i64().is_some(), "{made}");
    let show = json(&env.ok(&["run", "show", &run_id, "--json"]));
    assert_eq!(show["state"], "succeeded", "{show}");
    let branch = show["branch"].as_str().expect("branch");
    assert_eq!(file_on_branch(&repo, branch, "made.txt"), "made\n");
    let stat = env.ok(&["diff", &run_id, "--stat"]);
    assert_eq!(stat.trim(), "A made.txt  +1 -0");
    // main is checked out in the user's repository, its tree clean (the usual case): merged
    // there, with the user's own git. It says so before.
    let preview = env.ok(&["merge", &run_id, "--dry-run"]);
    assert_eq!(
        preview.trim(),
        "fast-forward `main`, in your working tree with your git"
    );
    let merged = env.ok(&["merge", &run_id]);
    assert!(merged.starts_with("merged corral/counter-"), "{merged}");
    assert_eq!(
        std::fs::read_to_string(repo.join("made.txt")).expect("in the working tree"),
        "made\n"
    );
    let tasks = json(&env.ok(&["task", "list", "--json"]));
    assert_eq!(tasks[0]["status"], "done");
    let again = env.ok(&["merge", &run_id, "--dry-run"]);
    assert!(again.contains("holds this result already"), "{again}");
}

#[test]
fn a_run_that_fails_exits_non_zero_and_cancel_and_bad_references_are_clear() {
    test_image();
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    env.ok(&[
        "project",
        "set",
        "r",
        "agent-image=corral-test/busybox:1",
        "verify=exit 4",
    ]);
    env.ok(&["task", "add", "-p", "r", "-t", "T", "--", "true"]);
    let ran = env.corral(&["run", "T"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("failed (checks failed: `verify` (exited with 4))"),
        "{}",
        ran.stderr
    );
    let runs = json(&env.ok(&["runs", "--json"]));
    assert_eq!(runs[0]["reason"], "checks failed: `verify` (exited with 4)");
    let gc = env.ok(&["gc", "--dry-run"]);
    assert!(
        gc.starts_with("would remove 0 checkouts"),
        "retention keeps the only run: {gc}"
    );
    let line = env.fails(&["run", "show", "nope"]);
    assert!(line.contains("no run `nope`"), "{line}");
    env.ok(&[
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "Agent",
        "--runtime",
        "codex",
    ]);
    let line = env.fails(&["run", "Agent"]);
    assert!(line.contains("cannot run"), "{line}");
}

#[test]
fn the_local_sandbox_says_it_is_not_isolated_and_survives_kill_9_too() {
    let env = Env::new();
    let repo = env.repo("r");
    env.ok(&["project", "add", s(&repo)]);
    env.ok(&["project", "set", "r", "sandbox=local"]);
    let shown = env.ok(&["project", "show", "r"]);
    assert!(shown.contains("NOT isolated"), "{shown}");
    env.ok(&[
        "task", "add", "-p", "r", "-t", "Counter", "--", "sh", "-c", COUNTER,
    ]);
    let (run_id, _) = kill_9_mid_run_then_follow(&env);
    let show = json(&env.ok(&["run", "show", &run_id, "--json"]));
    assert_eq!(show["state"], "succeeded", "{show}");
    assert_eq!(show["sandbox"], "local", "{show}");
    let branch = show["branch"].as_str().expect("branch");
    assert_eq!(file_on_branch(&repo, branch, "made.txt"), "made\n");

    // `corral diff` on a live run shows the working tree as it is now.
    env.ok(&[
        "task",
        "add",
        "-p",
        "r",
        "-t",
        "Live",
        "--",
        "sh",
        "-c",
        "echo x > live.txt; sleep 30",
    ]);
    let mut live = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "Live"])
        .env("CORRAL_DATA_DIR", &env.data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("corral runs");
    let started = std::time::Instant::now();
    let live_id = loop {
        let runs = json(&env.ok(&["runs", "--task", "Live", "--json"]));
        if let Some(run) = runs.as_array().and_then(|a| a.first())
            && run["state"] == "running"
        {
            let id = run["id"].as_str().expect("id").to_string();
            if env.ok(&["diff", &id, "--stat"]).trim() == "A live.txt  +1 -0" {
                break id;
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the live diff never showed live.txt"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    env.ok(&["run", "cancel", &live_id]);
    let _ = live.kill();
    let _ = live.wait();

    env.ok(&["task", "add", "-p", "r", "-t", "Quick", "--", "true"]);
    let ran = env.corral(&["run", "Quick"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("NOT isolated") && ran.stderr.contains("sandbox=docker"),
        "{}",
        ran.stderr
    );
    let text = env.ok(&["run", "show", &run_id]);
    assert!(text.contains("local processes (NOT isolated)"), "{text}");
}
