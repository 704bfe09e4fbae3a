//! Live updates across processes: a run driven by one `corral run` process, followed by
//! `corral logs <run> --follow --json` in another. Each sample writes a file into the run's
//! checkout and times until the follower prints its `file_changed` entry; p50/p95/max over 100
//! writes. The local sandbox (no Docker needed; the watcher and the database are the same for
//! Docker runs). Prints numbers; asserts nothing about speed.
//! Run: `cargo bench -p corral-cli --bench cross_process_follow`.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use corral_testkit::git;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WRITES: usize = 100;

fn corral(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_corral"));
    cmd.env("CORRAL_DATA_DIR", data).env_remove("CORRAL_LOG");
    cmd
}

fn ok(data: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = corral(data).args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "corral {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    ms(sorted[i.min(sorted.len() - 1)])
}

/// The live run's id and checkout, once `corral run` has made them.
fn live_run(data: &Path) -> anyhow::Result<(String, PathBuf)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs: serde_json::Value = serde_json::from_str(&ok(data, &["runs", "--json"])?)?;
        if let Some(run) = runs.get(0)
            && run["state"] == "running"
            && let (Some(id), Some(checkout)) = (run["id"].as_str(), run["checkout_path"].as_str())
        {
            return Ok((id.to_string(), PathBuf::from(checkout)));
        }
        anyhow::ensure!(Instant::now() < deadline, "the run did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo)?;
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "x")?;
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "first"]);
    ok(
        &data,
        &["project", "add", repo.to_str().unwrap_or_default()],
    )?;
    ok(&data, &["project", "set", "repo", "sandbox=local"])?;
    ok(
        &data,
        &[
            "task", "add", "-p", "repo", "-t", "Wait", "--", "sleep", "600",
        ],
    )?;

    // The driver: `corral run` in a process of its own.
    let driver = corral(&data)
        .args(["run", "Wait"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let (run, checkout) = live_run(&data)?;

    // The follower, in another process; each line is timed as it arrives.
    let mut follower = corral(&data)
        .args(["logs", &run, "--follow", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = follower
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let (tx, rx) = mpsc::channel::<(Instant, String)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    std::thread::sleep(Duration::from_millis(500)); // the follower has read the log so far

    let mut samples = Vec::with_capacity(WRITES);
    for i in 0..WRITES {
        let name = format!("sample-{i}.txt");
        let written = Instant::now();
        std::fs::write(checkout.join(&name), format!("{i}\n"))?;
        let seen = loop {
            let (at, line) = rx.recv_timeout(Duration::from_secs(10))?;
            if line.contains("file_changed") && line.contains(&format!("\"{name}\"")) {
                break at;
            }
        };
        samples.push(seen.duration_since(written));
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(follower);
    stop(driver);
    let _ = ok(&data, &["run", "cancel", &run]);

    samples.sort();
    println!(
        "cross-process follow: a file written in a run's checkout (run driven by `corral run`) \
         until `corral logs --follow --json` in another process prints it, {WRITES} writes: \
         p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        percentile(&samples, 0.5),
        percentile(&samples, 0.95),
        ms(samples[samples.len() - 1])
    );
    Ok(())
}
