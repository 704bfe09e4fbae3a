//! What one retry cycle after a failed check adds over the agent's own time: the real Claude
//! Code CLI against the scripted model server (a `CORRAL-CHECKS` task: attempt 1 writes a file
//! the check rejects, attempt 2 fixes it), `corral run` in the local sandbox and in a Docker
//! container. From the run's log: the cycle runs from the failed check's end to the passing
//! check's end; Corral's share is the cycle minus the agent's step (its resumed turn) and the
//! check's own step. Prints medians; asserts nothing about speed.
//! Run: `cargo bench -p corral-cli --bench retry_cycle` (needs Docker and npm).
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // benchmarks: a failure is the report

use std::path::Path;

#[path = "common/cli.rs"]
mod cli;
use cli::{corral, local_and_docker, median, output};

#[allow(dead_code)] // the benchmark uses the server, not every helper of the tests
#[path = "../tests/cli/model_server.rs"]
mod model_server;

const SAMPLES: usize = 7;
const CHECK: &str = "verify.test=grep -q fixed answer.txt || { echo \"answer.txt says $(cat answer.txt)\"; exit 1; }";

/// One sample: a fresh task run to its end; (cycle, agent's turn, check) in ms.
fn sample(data: &Path, i: usize) -> anyhow::Result<(f64, f64, f64)> {
    let title = format!("Answer {i}");
    output(corral(data).args([
        "task",
        "add",
        "-p",
        "b",
        "-t",
        &title,
        "--prompt",
        "CORRAL-CHECKS: write answer.txt",
    ]))?;
    output(corral(data).args(["run", &title]))?;
    let runs: serde_json::Value =
        serde_json::from_str(&output(corral(data).args(["runs", "--json"]))?)?;
    let id = runs[0]["id"].as_str().unwrap_or_default().to_string();
    let log = output(corral(data).args(["logs", &id, "--json"]))?;
    let events: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let at = |e: &serde_json::Value| e["at"].as_f64().unwrap_or(0.0);
    let find = |kind: &str, step: Option<&str>, nth: usize| -> anyhow::Result<f64> {
        events
            .iter()
            .filter(|e| e["kind"] == kind && step.is_none_or(|s| e["step"] == s))
            .nth(nth)
            .map(at)
            .ok_or_else(|| anyhow::anyhow!("no {kind} #{nth} in the log of {id}"))
    };
    let failed_check_end = find("check_ended", None, 0)?;
    let passed_check_end = find("check_ended", None, 1)?;
    let agent = find("step_exited", Some("agent"), 1)? - find("step_started", Some("agent"), 1)?;
    let check = passed_check_end - find("check_started", None, 1)?;
    Ok((passed_check_end - failed_check_end, agent, check))
}

fn main() -> anyhow::Result<()> {
    let (url, _requests) = model_server::model_server();
    let dir = tempfile::tempdir()?;
    let setups = local_and_docker(dir.path(), &url, &[CHECK], &["network=host"])?;
    println!("one retry cycle after a failed check, median of {SAMPLES} (scripted server):");
    for (label, data) in &setups {
        sample(data, 99)?; // warm-up (builds the agent image once)
        let samples = (0..SAMPLES)
            .map(|i| sample(data, i))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let cycle = median(samples.iter().map(|s| s.0).collect());
        let agent = median(samples.iter().map(|s| s.1).collect());
        let check = median(samples.iter().map(|s| s.2).collect());
        let added = median(samples.iter().map(|s| s.0 - s.1 - s.2).collect());
        println!(
            "  {label:<14} cycle {cycle:>6.0} ms = agent's resumed turn {agent:>6.0} ms + check {check:>4.0} ms + Corral {added:>5.0} ms"
        );
    }
    Ok(())
}
