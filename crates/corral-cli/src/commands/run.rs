//! `corral run` (start and wait, show, cancel), `follow-up` and `runs`.

use std::io::Write;
use std::time::Duration;

use corral_core::{Run, RunState};
use corral_engine::Engine;

use super::interrupt::{self, Signals};
use super::log::print_log;
use super::run_json::{CommentJson, LeftOutJson, RunJson, RunShowJson, UpstreamJson};
use crate::cli::{LogFormat, OnInterrupt, RunArgs, RunCommand};
use crate::output;
use crate::usage_error;

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
            let upstream = engine.run_upstream(run.id).await?;
            let network = engine.run_network(run.id).await?;
            let consults = engine.consults_of(run.id).await?;
            let comments = engine.review_comments(run.id).await?;
            if json {
                output::json(
                    out,
                    &RunShowJson {
                        run: RunJson::new(&run).with_overlaps(
                            engine
                                .run_overlaps(&[run.id])
                                .await?
                                .get(&run.id)
                                .map(Vec::as_slice)
                                .unwrap_or_default(),
                        ),
                        left_out: left_out
                            .iter()
                            .map(|f| LeftOutJson {
                                path: &f.path,
                                size: f.size,
                                max_bytes: f.max_bytes,
                            })
                            .collect(),
                        upstream: upstream
                            .iter()
                            .map(|u| UpstreamJson {
                                task_id: u.task.to_string(),
                                run_id: u.run.to_string(),
                                commit: u.commit.clone(),
                                merged: u.merged,
                            })
                            .collect(),
                        network,
                        consults: consults.iter().map(RunJson::new).collect(),
                        review_comments: comments.iter().map(CommentJson::new).collect(),
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
                if let Some(consult) = &run.consult {
                    writeln!(
                        out,
                        "consult of {} (answers its agent's question)",
                        consult.of
                    )?;
                }
                for c in &consults {
                    let runtime = c.consult.as_ref().and_then(|c| c.runtime);
                    let who =
                        runtime.map_or_else(|| "the task's agent".to_string(), |r| r.to_string());
                    writeln!(out, "consulted  {who} in run {} ({})", c.id, c.state.name())?;
                }
                for c in &run.checks {
                    writeln!(
                        out,
                        "check      {} {}: {} ({:.1} s, attempt {})",
                        if c.passed() { "✓" } else { "✗" },
                        c.name,
                        c.how(),
                        c.duration_ms as f64 / 1000.0,
                        c.attempt
                    )?;
                }
                for c in &comments {
                    let outdated = if c.outdated { " (outdated)" } else { "" };
                    let sent = match c.sent_in {
                        Some(f) if f != run.id => format!(", sent in run {f}"),
                        _ => String::new(),
                    };
                    writeln!(
                        out,
                        "comment    {}:{}{outdated}: {}{sent}",
                        c.comment.path, c.comment.line, c.comment.text
                    )?;
                }
                writeln!(out, "branch     {}", run.branch.as_deref().unwrap_or("-"))?;
                for u in &upstream {
                    let title = engine
                        .task(u.task)
                        .await
                        .map(|t| t.task.title)
                        .unwrap_or_else(|_| u.task.to_string());
                    let how = if u.merged { "merged in" } else { "already in" };
                    writeln!(
                        out,
                        "upstream   `{title}`: {} {how} (run {})",
                        &u.commit[..u.commit.len().min(12)],
                        u.run
                    )?;
                }
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
                if network.requests > 0 {
                    writeln!(out, "network    {}", network.describe())?;
                }
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
                        writeln!(
                            out,
                            "           {} ({})",
                            file.path,
                            output::human_size(file.size)
                        )?;
                    }
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Some(RunCommand::Dismiss { run }) => {
            let run = engine.find_run(&run).await?;
            let run = engine.dismiss_run(run.id).await?;
            writeln!(out, "set aside run {}", run.id)?;
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
        Err(got) => {
            return interrupt::handle(engine, run_id, got, on_interrupt, &mut signals).await;
        }
    };
    // What its end set going here (its sandbox's removal, its consult runs' cancelling)
    // finishes before this process exits, which would stop it half-way.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while engine.runs_driven_here() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    announce_follow_up(&started, &source);
    wait_and_report(engine, started.id, follow, format, on_interrupt, out).await
}

fn announce_follow_up(started: &Run, source: &Run) {
    eprintln!(
        "run {} started: a follow-up of run {} on branch {}",
        started.id,
        source.id,
        started.branch.as_deref().unwrap_or("-")
    );
}

/// `corral review`: the comments (`PATH:LINE`, text pairs) and the message as one follow-up.
pub async fn review(
    engine: &Engine,
    run: &str,
    (pairs, message): (&[String], Option<String>),
    (follow, format, on_interrupt): (bool, LogFormat, OnInterrupt),
    out: &mut impl Write,
) -> anyhow::Result<std::process::ExitCode> {
    let source = engine.find_run(run).await?;
    let comments = pairs
        .chunks(2)
        .map(|pair| {
            let [location, text] = pair else {
                return Err(usage_error(
                    "each --comment takes PATH:LINE and the text".into(),
                ));
            };
            let (path, line) = corral_core::review::parse_location(location)
                .map_err(|e| usage_error(e.to_string()))?;
            Ok(corral_core::review::NewComment {
                path,
                line,
                text: text.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = engine.review_run(source.id, comments, message).await?;
    announce_follow_up(&started, &source);
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
    let ids: Vec<corral_core::RunId> = runs.iter().map(|r| r.id).collect();
    let overlaps = engine.run_overlaps(&ids).await?;
    let overlaps_of = |r: &Run| overlaps.get(&r.id).map(Vec::as_slice).unwrap_or_default();
    if json {
        return Ok(output::json(
            out,
            &runs
                .iter()
                .map(|r| RunJson::new(r).with_overlaps(overlaps_of(r)))
                .collect::<Vec<_>>(),
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
                match &r.consult {
                    Some(c) => format!("(consult of {})", c.of),
                    None => r.branch.clone().unwrap_or_else(|| "-".into()),
                },
                output::cell(
                    titles.get(&r.task_id).map(String::as_str).unwrap_or("?"),
                    50,
                ),
                overlap_cell(overlaps_of(r), &titles),
            ]
        })
        .collect();
    Ok(output::table(
        out,
        &["ID", "STATE", "ATTEMPT", "BRANCH", "TASK", "OVERLAPS"],
        &rows,
    )?)
}

/// "src/a.rs (with `B`)", "3 paths (with `B`, `C`)", or "-".
fn overlap_cell(
    overlaps: &[corral_engine::Overlap],
    titles: &std::collections::HashMap<corral_core::TaskId, String>,
) -> String {
    let Some(first) = overlaps.first() else {
        return "-".into();
    };
    let mut with: Vec<String> = overlaps
        .iter()
        .map(|o| {
            format!(
                "`{}`",
                titles.get(&o.task).map(String::as_str).unwrap_or("?")
            )
        })
        .collect();
    with.dedup();
    let what = if overlaps.len() == 1 {
        first.path.clone()
    } else {
        format!("{} paths", overlaps.len())
    };
    output::cell(&format!("{what} (with {})", with.join(", ")), 60)
}
