//! `corral run`, `runs`, `logs`, `diff`.

use std::io::Write;
use std::time::Duration;

use corral_core::{
    AgentEvent, FailKind, OutputStream, Run, RunEvent, RunEventBody, RunState, RunStatus, StepName,
};
use corral_engine::{Engine, EngineError};
use serde::Serialize;

use super::interrupt::{self, Signals};
use crate::cli::{LogFormat, OnInterrupt, RunArgs, RunCommand};
use crate::output;
use crate::usage_error;

#[derive(Debug, Serialize)]
struct RunJson {
    id: String,
    task_id: String,
    project_id: String,
    attempt: u32,
    state: RunStatus,
    /// The failure's message (kept for scripts written before `failure`).
    reason: Option<String>,
    /// Why it failed: `kind` to branch on, the message, the kind's fix.
    failure: Option<FailureJson>,
    branch: Option<String>,
    base_commit: Option<String>,
    result_commit: Option<String>,
    exit_code: Option<i64>,
    merged_commit: Option<String>,
    checkout_path: Option<String>,
    container_id: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    /// `docker` or `local` (not isolated), once the run has a sandbox.
    sandbox: Option<&'static str>,
    agent_session_id: Option<String>,
    /// The run this one follows up, and the message it sent.
    follow_up_of: Option<String>,
    follow_up_message: Option<String>,
}

#[derive(Debug, Serialize)]
struct FailureJson {
    kind: FailKind,
    message: String,
    fix: Option<&'static str>,
}

impl RunJson {
    fn new(r: &Run) -> Self {
        RunJson {
            id: r.id.to_string(),
            task_id: r.task_id.to_string(),
            project_id: r.project_id.to_string(),
            attempt: r.attempt,
            state: r.state.status(),
            reason: r.state.failure().map(|f| f.message.clone()),
            failure: r.state.failure().map(|f| FailureJson {
                kind: f.kind,
                message: f.message.clone(),
                fix: f.kind.fix(),
            }),
            branch: r.branch.clone(),
            base_commit: r.base_commit.clone(),
            result_commit: r.result_commit.clone(),
            exit_code: r.exit_code,
            merged_commit: r.merged_commit.clone(),
            checkout_path: r.checkout_path.clone(),
            container_id: r.container_id.clone(),
            sandbox: r.sandbox_kind().map(|k| k.as_str()),
            agent_session_id: r.agent_session_id.clone(),
            follow_up_of: r.follow_up.as_ref().map(|f| f.of.to_string()),
            follow_up_message: r.follow_up.as_ref().map(|f| f.message.clone()),
            created_at: r.created_at.0,
            started_at: r.started_at.map(|t| t.0),
            finished_at: r.finished_at.map(|t| t.0),
        }
    }
}

/// `run show --json`: the run, and the files its commit left out.
#[derive(Debug, Serialize)]
struct RunShowJson<'a> {
    #[serde(flatten)]
    run: RunJson,
    left_out: Vec<LeftOutJson<'a>>,
}

#[derive(Debug, Serialize)]
struct LeftOutJson<'a> {
    path: &'a str,
    size: u64,
    max_bytes: u64,
}

/// Bytes as the biggest whole unit: `4.0 GiB`, `100.0 MiB`, `12 bytes`.
fn human_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    UNITS
        .iter()
        .find(|(_, size)| bytes >= *size)
        .map(|(unit, size)| format!("{:.1} {unit}", bytes as f64 / *size as f64))
        .unwrap_or_else(|| format!("{bytes} bytes"))
}

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
        RunEventBody::Agent { event } => print_agent_event(out, event),
        RunEventBody::FileLeftOut {
            path,
            size,
            max_bytes,
        } => writeln!(
            out,
            "  file - {path:?} left out of the commit: {} is over max-file-size ({})",
            human_size(*size),
            human_size(*max_bytes)
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
async fn print_log(
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

fn outcome_code(run: &Run) -> std::process::ExitCode {
    match run.state {
        RunState::Succeeded => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::FAILURE,
    }
}

fn sandbox_text(run: &Run) -> &'static str {
    match run.sandbox_kind() {
        Some(corral_core::SandboxKind::Docker) => "docker container",
        Some(corral_core::SandboxKind::Local) => "local processes (NOT isolated)",
        None => "-",
    }
}

fn summary(run: &Run) -> String {
    let branch = run
        .branch
        .as_deref()
        .map(|b| format!(" on branch {b}"))
        .unwrap_or_default();
    format!("run {} {}{branch}", run.id, run.state)
}

pub async fn run(
    engine: &Engine,
    args: RunArgs,
    out: &mut impl Write,
) -> anyhow::Result<std::process::ExitCode> {
    match args.command {
        Some(RunCommand::Show { run, json }) => {
            let run = engine.find_run(&run).await?;
            let left_out = engine.run_left_out(run.id).await?;
            if json {
                output::json(
                    out,
                    &RunShowJson {
                        run: RunJson::new(&run),
                        left_out: left_out
                            .iter()
                            .map(|f| LeftOutJson {
                                path: &f.path,
                                size: f.size,
                                max_bytes: f.max_bytes,
                            })
                            .collect(),
                    },
                )?;
            } else {
                let task = engine
                    .task(run.task_id)
                    .await
                    .map(|t| t.task.title)
                    .unwrap_or_default();
                writeln!(out, "id         {}", run.id)?;
                writeln!(out, "task       {task} ({})", run.task_id)?;
                writeln!(out, "attempt    {}", run.attempt)?;
                writeln!(out, "state      {}", run.state)?;
                if let Some(failure) = run.state.failure() {
                    writeln!(out, "failure    {}", failure.kind)?;
                    if let Some(fix) = failure.kind.fix() {
                        writeln!(out, "fix        {fix}")?;
                    }
                }
                writeln!(out, "sandbox    {}", sandbox_text(&run))?;
                if let Some(follow_up) = &run.follow_up {
                    writeln!(out, "follows up {}: {}", follow_up.of, follow_up.message)?;
                }
                writeln!(out, "branch     {}", run.branch.as_deref().unwrap_or("-"))?;
                writeln!(
                    out,
                    "base       {}",
                    run.base_commit.as_deref().unwrap_or("-")
                )?;
                writeln!(
                    out,
                    "result     {}",
                    run.result_commit.as_deref().unwrap_or("-")
                )?;
                writeln!(
                    out,
                    "exit code  {}",
                    run.exit_code.map_or("-".into(), |c| c.to_string())
                )?;
                writeln!(
                    out,
                    "checkout   {}",
                    run.checkout_path.as_deref().unwrap_or("-")
                )?;
                if let Some(max) = left_out.first().map(|f| f.max_bytes) {
                    writeln!(
                        out,
                        "left out   {} file(s) over max-file-size ({} MiB), still in the \
                         checkout; raise it (`corral project set <project> max-file-size=...`) \
                         and run again to include them:",
                        left_out.len(),
                        max / (1024 * 1024)
                    )?;
                    for file in &left_out {
                        writeln!(out, "           {} ({})", file.path, human_size(file.size))?;
                    }
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Some(RunCommand::Cancel { run }) => {
            let run = engine.find_run(&run).await?;
            engine.resume_runs().await?;
            engine.cancel_run(run.id).await?;
            // Wait for the supervisor (here or in another process) to record it.
            for _ in 0..100 {
                let now = engine.run(run.id).await?;
                if now.state.is_terminal() {
                    writeln!(out, "{}", summary(&now))?;
                    return Ok(std::process::ExitCode::SUCCESS);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            writeln!(out, "cancel requested for run {}", run.id)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        None => {
            let Some(task) = args.task else {
                return Err(usage_error(
                    "name the task to run: corral run <task>".into(),
                ));
            };
            let scope = match &args.project {
                Some(p) => Some(engine.find_project(p).await?),
                None => None,
            };
            let task = engine.find_task(&task, scope.as_ref()).await?;
            let project = engine.project(task.project_id).await?;
            let started = engine.start_run(task.id).await?;
            eprintln!("run {} of `{}` started", started.id, task.title);
            if project.workflow.sandbox == corral_core::SandboxKind::Local {
                eprintln!(
                    "warning: project `{}` uses the local sandbox: the run's commands execute on \
                     this machine as you, NOT isolated (`corral project set {} sandbox=docker` to \
                     isolate)",
                    project.name, project.name
                );
            }
            let format = LogFormat::of(args.json, args.raw);
            wait_and_report(
                engine,
                started.id,
                args.follow,
                format,
                args.on_interrupt,
                out,
            )
            .await
        }
    }
}

/// Waits for a started run to end (printing its log with `follow`), then says how it ended. A
/// signal meanwhile cancels or detaches (see `interrupt`).
async fn wait_and_report(
    engine: &Engine,
    run_id: corral_core::RunId,
    follow: bool,
    format: LogFormat,
    on_interrupt: OnInterrupt,
    out: &mut impl Write,
) -> anyhow::Result<std::process::ExitCode> {
    let json = format == LogFormat::Json;
    let mut signals = Signals::install()?;
    let waited = tokio::select! {
        run = wait_for_end(engine, run_id, follow, format, out) => Ok(run?),
        got = signals.next() => Err(got),
    };
    let run = match waited {
        Ok(run) => run,
        Err(got) => return interrupt::handle(engine, run_id, got, on_interrupt).await,
    };
    if json && !follow {
        output::json(out, &RunJson::new(&run))?;
    }
    out.flush()?;
    eprintln!("{}", summary(&run));
    Ok(outcome_code(&run))
}

async fn wait_for_end(
    engine: &Engine,
    run_id: corral_core::RunId,
    follow: bool,
    format: LogFormat,
    out: &mut impl Write,
) -> anyhow::Result<Run> {
    if follow {
        return print_log(engine, run_id, true, format, out).await;
    }
    loop {
        let run = engine.run(run_id).await?;
        if run.state.is_terminal() {
            return Ok(run);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn follow_up(
    engine: &Engine,
    run: &str,
    message: &str,
    (follow, format, on_interrupt): (bool, LogFormat, OnInterrupt),
    out: &mut impl Write,
) -> anyhow::Result<std::process::ExitCode> {
    let source = engine.find_run(run).await?;
    let started = engine.start_follow_up(source.id, message).await?;
    eprintln!(
        "run {} started: a follow-up of run {} on branch {}",
        started.id,
        source.id,
        started.branch.as_deref().unwrap_or("-")
    );
    wait_and_report(engine, started.id, follow, format, on_interrupt, out).await
}

pub async fn runs(
    engine: &Engine,
    task: Option<String>,
    project: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let scope = match &project {
        Some(p) => Some(engine.find_project(p).await?),
        None => None,
    };
    let task_id = match &task {
        Some(t) => Some(engine.find_task(t, scope.as_ref()).await?.id),
        None => None,
    };
    let mut runs = engine.list_runs(task_id).await?;
    if let Some(p) = &scope {
        runs.retain(|r| r.project_id == p.id);
    }
    if json {
        return Ok(output::json(
            out,
            &runs.iter().map(RunJson::new).collect::<Vec<_>>(),
        )?);
    }
    if runs.is_empty() {
        writeln!(out, "no runs yet; start one with `corral run <task>`")?;
        return Ok(());
    }
    let titles: std::collections::HashMap<_, _> = engine
        .list_task_summaries(None)
        .await?
        .into_iter()
        .map(|v| (v.task.id, v.task.title))
        .collect();
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.state.to_string(),
                r.attempt.to_string(),
                r.branch.clone().unwrap_or_else(|| "-".into()),
                output::cell(
                    titles.get(&r.task_id).map(String::as_str).unwrap_or("?"),
                    50,
                ),
            ]
        })
        .collect();
    Ok(output::table(
        out,
        &["ID", "STATE", "ATTEMPT", "BRANCH", "TASK"],
        &rows,
    )?)
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
        // This process may have to drive the run: after a crash nobody else does.
        engine.resume_runs().await?;
    }
    print_log(engine, run.id, follow, format, out).await?;
    Ok(())
}

pub async fn diff(
    engine: &Engine,
    run: String,
    stat: bool,
    path: Option<String>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let run = engine.find_run(&run).await?;
    let mut files = engine.run_diff(run.id, 1024 * 1024).await?;
    if let Some(path) = &path {
        files.retain(|f| &f.path == path);
        if files.is_empty() {
            return Err(EngineError::Git {
                path: path.clone(),
                message: "not changed by this run".into(),
            }
            .into());
        }
    }
    if files.is_empty() {
        writeln!(out, "no changes")?;
        return Ok(());
    }
    for f in &files {
        let status = match f.status {
            corral_git::FileStatus::Added => "A",
            corral_git::FileStatus::Modified => "M",
            corral_git::FileStatus::Deleted => "D",
            corral_git::FileStatus::Renamed => "R",
            corral_git::FileStatus::TypeChanged => "T",
            corral_git::FileStatus::LeftOut => "L",
        };
        if f.status == corral_git::FileStatus::LeftOut {
            writeln!(
                out,
                "{status} {}  left out of the commit (over max-file-size; still in the checkout)",
                f.path
            )?;
            continue;
        }
        if stat {
            let counts = if f.binary {
                "binary".to_string()
            } else {
                format!("+{} -{}", f.added, f.removed)
            };
            writeln!(out, "{status} {}  {counts}", f.path)?;
        } else {
            writeln!(out, "{status} {}", f.path)?;
            match &f.patch {
                Some(patch) => {
                    write!(out, "{patch}")?;
                    if f.truncated {
                        writeln!(out, "... (patch cut at 1 MiB)")?;
                    }
                }
                None => writeln!(out, "(binary file)")?,
            }
        }
    }
    Ok(())
}
