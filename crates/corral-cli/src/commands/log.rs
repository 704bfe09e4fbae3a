//! A run's log as the CLI prints it (`corral logs`, `run --follow`): readable lines like the
//! window's (an agent's raw output only with `--raw`), or JSON lines.

use std::io::Write;
use std::time::Duration;

use corral_core::{AgentEvent, OutputStream, Run, RunEvent, RunEventBody, StepName};
use corral_engine::Engine;
use serde::Serialize;

use crate::cli::LogFormat;

#[derive(Debug, Serialize)]
struct EventJson<'a> {
    run_id: String,
    seq: i64,
    at: i64,
    #[serde(flatten)]
    body: &'a RunEventBody,
}

fn short(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or_default();
    if first.chars().count() > max || text.lines().nth(1).is_some() {
        format!("{}…", first.chars().take(max).collect::<String>())
    } else {
        first.to_string()
    }
}

fn print_agent_event(out: &mut impl Write, event: &AgentEvent) -> std::io::Result<()> {
    match event {
        AgentEvent::SessionStarted { session_id } => writeln!(out, " agent ~ session {session_id}"),
        AgentEvent::AssistantText { text } => {
            for line in text.lines() {
                writeln!(out, " agent > {line}")?;
            }
            Ok(())
        }
        AgentEvent::Thinking { text } => writeln!(out, " agent ~ thinking: {}", short(text, 120)),
        AgentEvent::ToolCall { name, input, .. } => {
            writeln!(out, " agent * {name} {}", short(&input.to_string(), 160))
        }
        AgentEvent::ToolResult { ok, output, .. } => writeln!(
            out,
            " agent = {} {}",
            if *ok { "ok" } else { "failed" },
            short(output, 160)
        ),
        AgentEvent::FileEdit { path } => writeln!(out, " agent ~ edited {path}"),
        AgentEvent::Usage {
            input_tokens,
            output_tokens,
            cost_micro_usd,
        } => {
            let cost = cost_micro_usd
                .map(|c| format!(", ${:.4}", c as f64 / 1_000_000.0))
                .unwrap_or_default();
            writeln!(
                out,
                " agent ~ tokens in {input_tokens}, out {output_tokens}{cost}"
            )
        }
        AgentEvent::Error { message } => writeln!(out, " agent ! {message}"),
        AgentEvent::Finished { ok, .. } => writeln!(
            out,
            " agent ~ finished {}",
            if *ok { "ok" } else { "with an error" }
        ),
        // The line itself is in the log already, as output.
        AgentEvent::Raw { .. } => Ok(()),
    }
}

/// Whether the run's task runs a coding agent (its own runtime, or its project's default).
async fn is_agent_run(engine: &Engine, run_id: corral_core::RunId) -> anyhow::Result<bool> {
    let task = engine.task(engine.run(run_id).await?.task_id).await?.task;
    let runtime = match task.runtime {
        Some(runtime) => runtime,
        None => engine.project(task.project_id).await?.workflow.runtime,
    };
    Ok(runtime != corral_core::Runtime::Custom)
}

/// How one run's log is printed: the format, and whether the run is an agent's (whose raw
/// stdout lines are left out of the readable log, as the window does).
#[derive(Debug, Clone, Copy)]
struct LogView {
    format: LogFormat,
    agent: bool,
}

fn print_event(out: &mut impl Write, event: &RunEvent, view: LogView) -> std::io::Result<()> {
    if view.format == LogFormat::Json {
        let line = EventJson {
            run_id: event.run_id.to_string(),
            seq: event.seq,
            at: event.at.0,
            body: &event.body,
        };
        serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::other)?;
        return writeln!(out);
    }
    match &event.body {
        // What an agent's stdout line says is printed from its parsed entries; `--raw` prints
        // the line too.
        RunEventBody::Output { step, stream, .. }
            if view.agent
                && view.format == LogFormat::Readable
                && *step == StepName::Agent
                && *stream == OutputStream::Stdout =>
        {
            Ok(())
        }
        RunEventBody::Output {
            step, stream, line, ..
        } => {
            let mark = if *stream == OutputStream::Stderr {
                '!'
            } else {
                '|'
            };
            writeln!(out, "{:>6} {mark} {line}", step.as_str())
        }
        RunEventBody::UpstreamMerged {
            task_id,
            commit,
            merged,
            ..
        } => {
            let how = if *merged { "merged in" } else { "already in" };
            let short = &commit[..commit.len().min(12)];
            writeln!(out, "   run - upstream task {task_id}: {short} {how}")
        }
        RunEventBody::Overlap { run_id, path, .. } => {
            writeln!(
                out,
                "   run - overlap: run {run_id} (live too) changed {path} as well"
            )
        }
        RunEventBody::StepStarted { step, argv } => {
            writeln!(out, "{:>6} $ {}", step.as_str(), argv.join(" "))
        }
        RunEventBody::StepExited { step, exit_code } => {
            writeln!(out, "{:>6} - exited with {exit_code}", step.as_str())
        }
        RunEventBody::StateChanged {
            from, to, reason, ..
        } => match reason {
            Some(reason) => writeln!(out, "   run = {from} -> {to}: {reason}"),
            None => writeln!(out, "   run = {from} -> {to}"),
        },
        RunEventBody::Note { text } => writeln!(out, "   run - {text}"),
        RunEventBody::Network { request: r } => {
            let status = r.status.map(|s| format!(" -> {s}")).unwrap_or_default();
            match &r.blocked {
                Some(rule) => writeln!(
                    out,
                    "   net ! {} {}{}{status} BLOCKED: {}",
                    r.method,
                    r.host,
                    r.path,
                    rule.describe()
                ),
                None => {
                    let stripped = if r.stripped_tools.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; removed provider-side tools: {}",
                            r.stripped_tools.join(", ")
                        )
                    };
                    writeln!(
                        out,
                        "   net - {} {}{}{status} ({} up, {} down, {} ms{stripped})",
                        r.method,
                        r.host,
                        r.path,
                        crate::output::human_size(r.bytes_up),
                        crate::output::human_size(r.bytes_down),
                        r.duration_ms
                    )
                }
            }
        }
        RunEventBody::Agent { event } => print_agent_event(out, event),
        RunEventBody::ToolCall { call } => match &call.outcome {
            corral_core::ToolOutcome::Ok { summary } => writeln!(
                out,
                "   mcp - {}({}) -> {summary}",
                call.tool, call.arguments
            ),
            corral_core::ToolOutcome::Error { message } => writeln!(
                out,
                "   mcp ! {}({}) refused: {message}",
                call.tool, call.arguments
            ),
        },
        RunEventBody::Progress { text } => writeln!(out, "   run ~ {text}"),
        RunEventBody::CheckStarted {
            name,
            command,
            attempt,
        } => writeln!(out, " check > {name} (attempt {attempt}): {command}"),
        RunEventBody::CheckEnded { result } => writeln!(
            out,
            " check {} {} {} in {:.1} s",
            if result.passed() { "✓" } else { "✗" },
            result.name,
            result.how(),
            result.duration_ms as f64 / 1000.0
        ),
        RunEventBody::OrchestratorFinished { summary } => {
            writeln!(out, "finish > {summary}")
        }
        RunEventBody::OrchestratorWoken { reason, message } => writeln!(
            out,
            "  wake > {}: {}",
            reason.as_str(),
            message.replace('\n', "\n         ")
        ),
        RunEventBody::ReviewSubmitted { review } => writeln!(
            out,
            "review {} {}: {} ({} comment{})",
            match review.verdict {
                corral_core::review::Verdict::Approve => "✓",
                corral_core::review::Verdict::RequestChanges => "✗",
            },
            match review.verdict {
                corral_core::review::Verdict::Approve => "approved",
                corral_core::review::Verdict::RequestChanges => "changes requested",
            },
            review.summary,
            review.comments.len(),
            if review.comments.len() == 1 { "" } else { "s" }
        ),
        RunEventBody::VerifyRetry {
            attempt,
            of,
            failed,
            ..
        } => writeln!(
            out,
            " retry > attempt {attempt} of {of}: the agent is told what failed ({})",
            failed.join(", ")
        ),
        RunEventBody::FileLeftOut {
            path,
            size,
            max_bytes,
        } => writeln!(
            out,
            "  file - {path:?} left out of the commit: {} is over max-file-size ({})",
            crate::output::human_size(*size),
            crate::output::human_size(*max_bytes)
        ),
        RunEventBody::FileChanged {
            path,
            change,
            from,
            size,
            link,
        } => {
            let from = from
                .as_deref()
                .map(|f| format!(" (from {f})"))
                .unwrap_or_default();
            let size = size.map(|s| format!(", {s} bytes")).unwrap_or_default();
            let link = link
                .as_deref()
                .map(|t| format!(", a link to {t:?}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  file ~ {} {path:?}{from}{size}{link}",
                change.as_str()
            )
        }
    }
}

/// Prints stored events from `after` on; with `follow`, keeps polling until the run is over
/// and everything is printed. Returns the run as it ended (or is).
pub async fn print_log(
    engine: &Engine,
    run_id: corral_core::RunId,
    follow: bool,
    format: LogFormat,
    out: &mut impl Write,
) -> anyhow::Result<Run> {
    let view = LogView {
        format,
        agent: is_agent_run(engine, run_id).await?,
    };
    // Woken by any process's commit (the run may be driven by another one); polled when the
    // data dir cannot be watched.
    let changes = if follow {
        engine.database_changes().ok()
    } else {
        None
    };
    let mut after = 0;
    loop {
        let run = engine.run(run_id).await?;
        let events = engine.run_events(run_id, after, 2000).await?;
        for event in &events {
            print_event(out, event, view)?;
            after = event.seq;
        }
        out.flush()?;
        if events.len() == 2000 {
            continue;
        }
        if !follow || run.state.is_terminal() {
            // One more read: events committed just before the final state.
            let tail = engine.run_events(run_id, after, u64::MAX >> 1).await?;
            for event in &tail {
                print_event(out, event, view)?;
            }
            out.flush()?;
            return Ok(engine.run(run_id).await?);
        }
        match &changes {
            Some(changes) => changes.next(Duration::from_secs(1)).await,
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

pub async fn logs(
    engine: &Engine,
    run: String,
    follow: bool,
    format: LogFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let run = engine.find_run(&run).await?;
    if follow {
        // This process may have to drive the run: after a crash nobody else does. And while it
        // waits it carries on a graph run whose scheduling process died (unless another
        // process, the app say, schedules already).
        engine.resume_runs().await?;
        engine.start_scheduler();
    }
    print_log(engine, run.id, follow, format, out).await?;
    Ok(())
}
