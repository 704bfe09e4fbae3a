//! What Corral adds to an agent run's wall time: the real Claude Code CLI run bare on this
//! machine against the scripted model server, against `corral run` of the same prompt with the
//! same server, in the local sandbox and in a Docker container (its agent image built once
//! before the samples). Wall time is process start to exit of the bare CLI or of `corral run`.
//! Prints medians; asserts nothing about speed.
//! Run: `cargo bench -p corral-cli --bench agent_overhead` (needs Docker and npm).
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use corral_testkit::git;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)] // the benchmark uses the server, not every helper of the tests
#[path = "../tests/cli/model_server.rs"]
mod model_server;

const SAMPLES: usize = 7;
const PROMPT: &str = "Write hello.txt saying hello";
const KEY: &str = "sk-bench";

fn run(cmd: &mut Command) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let out = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
    let took = started.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(took)
}

fn script(name: &str) -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    let out = Command::new("bash").arg(path).output()?;
    anyhow::ensure!(out.status.success(), "{name} failed");
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn corral(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_corral"));
    cmd.env("CORRAL_DATA_DIR", data)
        .env("ANTHROPIC_API_KEY", KEY);
    cmd
}

/// A project on `repo` set up with `settings` and one task; returns the data dir.
fn project(
    dir: &Path,
    name: &str,
    repo: &Path,
    url: &str,
    settings: &[&str],
) -> anyhow::Result<PathBuf> {
    let data = dir.join(name);
    run(corral(&data).args([
        "project",
        "add",
        repo.to_str().unwrap_or_default(),
        "--name",
        "b",
    ]))?;
    let base = format!("env.ANTHROPIC_BASE_URL={url}");
    let mut set = vec![
        "project",
        "set",
        "b",
        "runtime=claude-code",
        "model=claude-sonnet-4-5",
        &base,
    ];
    set.extend_from_slice(settings);
    run(corral(&data).args(&set))?;
    run(corral(&data).args(["task", "add", "-p", "b", "-t", "Hello", "--prompt", PROMPT]))?;
    Ok(data)
}

fn main() -> anyhow::Result<()> {
    let bin = script("install-test-agents.sh")?;
    let image = script("build-test-node-image.sh")?;
    let (url, _requests) = model_server::model_server();
    let dir = tempfile::tempdir()?;
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo)?;
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "bench\n")?;
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "init"]);

    // Bare: the CLI as the adapter runs it, in a clean clone, with its own home.
    let bare_repo = dir.path().join("bare");
    git(
        dir.path(),
        &["clone", "-q", repo.to_str().unwrap_or_default(), "bare"],
    );
    let home = dir.path().join("home");
    let bare = |home: &Path| -> anyhow::Result<Duration> {
        let _ = std::fs::remove_file(bare_repo.join("hello.txt"));
        std::fs::create_dir_all(home)?;
        run(Command::new(format!("{bin}/claude"))
            .args(["-p", PROMPT, "--output-format", "stream-json", "--verbose"])
            .args([
                "--permission-mode",
                "acceptEdits",
                "--model",
                "claude-sonnet-4-5",
            ])
            .current_dir(&bare_repo)
            .env("HOME", home)
            .env("CLAUDE_CONFIG_DIR", home.join(".claude"))
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("CLAUDE_CODE_MAX_RETRIES", "1")
            .env("IS_SANDBOX", "1")
            .env("ANTHROPIC_BASE_URL", &url)
            .env("ANTHROPIC_API_KEY", KEY))
    };
    bare(&home)?; // warm-up
    let bare_times = (0..SAMPLES)
        .map(|i| bare(&home.join(i.to_string())))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    let local = project(dir.path(), "local", &repo, &url, &["sandbox=local", &path])?;
    let base = format!("base-image={image}");
    let docker = project(
        dir.path(),
        "docker",
        &repo,
        &url,
        &[&base, "network=host", "build-network=host"],
    )?;
    let mut figures = vec![("claude bare on the host", median(bare_times))];
    for (label, data) in [
        ("corral run, local sandbox", &local),
        ("corral run, Docker", &docker),
    ] {
        run(corral(data).args(["run", "Hello"]))?; // warm-up (builds the agent image once)
        let times = (0..SAMPLES)
            .map(|_| run(corral(data).args(["run", "Hello"])))
            .collect::<anyhow::Result<Vec<_>>>()?;
        figures.push((label, median(times)));
    }
    let bare = figures[0].1;
    println!("agent run wall time, median of {SAMPLES} (scripted server, 2 model turns):");
    for (label, took) in &figures {
        println!(
            "  {label:<28} {:>7.0} ms  (+{:.0} ms over bare)",
            took.as_secs_f64() * 1000.0,
            (took.as_secs_f64() - bare.as_secs_f64()) * 1000.0
        );
    }
    Ok(())
}
