//! Corral's own overhead in the three-subtask orchestration, and how soon the orchestrator is
//! woken: the real Claude Code CLI as the orchestrator against the scripted model server (a
//! `CORRAL-MCP-ORCHESTRATE-WAIT` goal: A and B at once, C after both, all command lines that
//! sleep 2 s; it ends its turn and is woken with their results, then calls finish), `corral
//! run` in the local sandbox and in Docker. From the logs: the wall time is the orchestrator
//! run's, from queued to its end; the agents' and subtasks' time is the union of the
//! orchestrator's agent turns and the subtasks' own steps; Corral's overhead is what is left
//! (checkouts, containers, commits, starting what became ready, waiting, the integration).
//! The wake-up is from the last subtask run's end to the orchestrator's wake event. Prints
//! medians; asserts nothing about speed.
//! Run: `cargo bench -p corral-cli --bench orchestrate` (needs Docker and npm).
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // benchmarks: a failure is the report

use std::path::Path;

#[path = "common/cli.rs"]
mod cli;
use cli::{corral, local_and_docker, median, output};

#[allow(dead_code)] // the benchmark uses the server, not every helper of the tests
#[path = "../tests/cli/model_server.rs"]
mod model_server;

const SAMPLES: usize = 5;
/// The subtasks are command lines: only where agents may run commands without asking.
const BYPASS: &str = "agent-permissions=bypass";

/// A run's log as JSON events.
fn log(data: &Path, run: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    Ok(output(corral(data).args(["logs", run, "--json"]))?
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The (start, end) of each step of a run's log (the `steps` named, or every step).
fn steps(events: &[serde_json::Value], only: Option<&str>) -> Vec<(f64, f64)> {
    let at = |e: &serde_json::Value| e["at"].as_f64().unwrap_or(0.0);
    let mut out = Vec::new();
    let mut open = None;
    for e in events {
        if only.is_some_and(|s| e["step"] != s) {
            continue;
        }
        if e["kind"] == "step_started" {
            open = Some(at(e));
        } else if e["kind"] == "step_exited"
            && let Some(start) = open.take()
        {
            out.push((start, at(e)));
        }
    }
    out
}

/// How long the intervals cover together.
fn union(mut spans: Vec<(f64, f64)>) -> f64 {
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (s, e) in spans {
        current = match current {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    total + current.map_or(0.0, |(s, e)| e - s)
}

/// One sample: a fresh goal run to its end; (wall, agents and subtasks, wake-up) in ms.
fn sample(data: &Path, i: usize) -> anyhow::Result<(f64, f64, f64)> {
    let title = format!("Goal {i}");
    output(corral(data).args([
        "task",
        "add",
        "-p",
        "b",
        "-t",
        &title,
        "--kind",
        "orchestrate",
        "--prompt",
        "CORRAL-MCP-ORCHESTRATE-WAIT-SLOW: make c.txt from a.txt and b.txt",
    ]))?;
    output(corral(data).args(["run", &title]))?;
    let shown: serde_json::Value = serde_json::from_str(&output(
        corral(data).args(["task", "show", &title, "--json"]),
    )?)?;
    let runs: serde_json::Value =
        serde_json::from_str(&output(corral(data).args(["runs", "--json"]))?)?;
    let runs = runs.as_array().cloned().unwrap_or_default();
    let goal = runs
        .iter()
        .find(|r| r["task_id"] == shown["id"])
        .ok_or_else(|| anyhow::anyhow!("no run of {title}"))?;
    let goal_id = goal["id"].as_str().unwrap_or_default();
    let goal_log = log(data, goal_id)?;
    let first = goal_log
        .first()
        .and_then(|e| e["at"].as_f64())
        .unwrap_or(0.0);
    let last = goal_log
        .last()
        .and_then(|e| e["at"].as_f64())
        .unwrap_or(0.0);
    let mut busy = steps(&goal_log, Some("agent"));
    let subtask_ids: Vec<&str> = shown["subtasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    let mut last_subtask_end = 0.0f64;
    for run in runs
        .iter()
        .filter(|r| subtask_ids.contains(&r["task_id"].as_str().unwrap_or_default()))
    {
        let sub_log = log(data, run["id"].as_str().unwrap_or_default())?;
        busy.extend(steps(&sub_log, Some("agent")));
        last_subtask_end = last_subtask_end.max(run["finished_at"].as_f64().unwrap_or(0.0));
    }
    let woken = goal_log
        .iter()
        .find(|e| e["kind"] == "orchestrator_woken")
        .and_then(|e| e["at"].as_f64())
        .ok_or_else(|| anyhow::anyhow!("{title} was never woken"))?;
    Ok((last - first, union(busy), woken - last_subtask_end))
}

fn main() -> anyhow::Result<()> {
    let (url, _requests) = model_server::model_server();
    let dir = tempfile::tempdir()?;
    // Docker keeps the default network=allowlist: the orchestrator reaches Corral's MCP
    // server through the gateway.
    let setups = local_and_docker(dir.path(), &url, &[BYPASS], &[])?;
    println!(
        "a goal of three subtasks (A and B at once, C after both; each sleeps 2 s), median of {SAMPLES} (scripted server):"
    );
    for (label, data) in &setups {
        sample(data, 99)?; // warm-up (builds the agent image once)
        let samples = (0..SAMPLES)
            .map(|i| sample(data, i))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let wall = median(samples.iter().map(|s| s.0).collect());
        let busy = median(samples.iter().map(|s| s.1).collect());
        let overhead = median(samples.iter().map(|s| s.0 - s.1).collect());
        let wake = median(samples.iter().map(|s| s.2).collect());
        let worst_wake = samples.iter().map(|s| s.2).fold(0.0, f64::max);
        println!(
            "  {label:<14} wall {wall:>6.0} ms = agents and subtasks {busy:>6.0} ms + Corral {overhead:>5.0} ms; wake-up {wake:>4.0} ms after the last subtask ended (worst {worst_wake:.0} ms)"
        );
    }
    Ok(())
}
