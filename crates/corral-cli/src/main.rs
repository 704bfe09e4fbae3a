//! `corral`: the Corral engine without a window. Parses the command line, opens the engine on the
//! data dir, runs one command, and turns any error into one clear line on stderr.

mod cli;
mod commands;
mod output;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use corral_engine::{Config, Engine, EngineError, logging};

use crate::cli::{Cli, Command, LogFormat};

/// A mistake in how the command was called (as opposed to an engine error).
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub(crate) fn usage_error(message: String) -> anyhow::Error {
    UsageError(message).into()
}

/// Exit codes: 0 success, 1 an error (or a failing doctor check), 2 bad usage (clap's), 70 a bug.
const EXIT_BUG: u8 = 70;

fn print_error(err: &anyhow::Error) -> ExitCode {
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        // `corral task list | head`: the reader has all it wanted.
        return ExitCode::SUCCESS;
    }
    match err.downcast_ref::<EngineError>() {
        Some(engine) => match engine.fix() {
            Some(fix) => eprintln!("error: {engine}; fix: {fix}"),
            None => eprintln!("error: {engine}"),
        },
        None => eprintln!("error: {err:#}"),
    }
    ExitCode::FAILURE
}

async fn run(cli: Cli, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let engine = Engine::open(Config::new(data_dir)).await?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let code = match cli.command {
        Command::Doctor { json } => {
            let healthy = commands::doctor::run(&engine, json, &mut out).await?;
            if healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Project(command) => {
            commands::project::run(&engine, command, &mut out).await?;
            ExitCode::SUCCESS
        }
        Command::Task(command) => {
            commands::task::run(&engine, command, &mut out).await?;
            ExitCode::SUCCESS
        }
        Command::Run(args) => commands::run::run(&engine, args, &mut out).await?,
        Command::Runs {
            task,
            project,
            json,
        } => {
            commands::run::runs(&engine, task, project, json, &mut out).await?;
            ExitCode::SUCCESS
        }
        Command::FollowUp {
            run,
            message,
            follow,
            json,
            raw,
            on_interrupt,
        } => {
            let how = (follow, LogFormat::of(json, raw), on_interrupt);
            commands::run::follow_up(&engine, &run, &message, how, &mut out).await?
        }
        Command::Review {
            run,
            comments,
            message,
            follow,
            json,
            on_interrupt,
        } => {
            let how = (follow, LogFormat::of(json, false), on_interrupt);
            let sent = (comments.as_slice(), message);
            commands::run::review(&engine, &run, sent, how, &mut out).await?
        }
        Command::Inbox { json } => {
            commands::inbox::list(&engine, json, &mut out).await?;
            ExitCode::SUCCESS
        }
        Command::Answer {
            request,
            options,
            text,
        } => {
            commands::inbox::answer(&engine, &request, &options, text.as_deref(), &mut out).await?;
            ExitCode::SUCCESS
        }
        Command::Drive { run } => commands::interrupt::drive(&engine, &run).await?,
        Command::Logs {
            run,
            follow,
            json,
            raw,
        } => {
            commands::log::logs(&engine, run, follow, LogFormat::of(json, raw), &mut out).await?;
            ExitCode::SUCCESS
        }
        Command::Key(command) => {
            commands::key::run(&engine, command, &mut out).await?;
            ExitCode::SUCCESS
        }
        Command::Graph(command) => commands::graph::run(&engine, command, &mut out).await?,
        Command::Gc { dry_run } => {
            engine.resume_runs().await?;
            let r = engine.gc(dry_run).await?;
            let verb = if dry_run { "would remove" } else { "removed" };
            writeln!(
                out,
                "{verb} {} checkouts ({:.1} MiB), {} merged branches, {} containers, {} images; {} stuck runs failed",
                r.checkouts_removed.len(),
                r.bytes_reclaimed as f64 / 1_048_576.0,
                r.branches_removed.len(),
                r.containers_removed.len(),
                r.images_removed.len(),
                r.stuck_runs_failed.len()
            )?;
            ExitCode::SUCCESS
        }
        Command::Merge {
            run,
            dry_run: true,
            force,
        } => {
            let run = engine.find_run(&run).await?;
            let preview = if force {
                engine.force_merge_preview(run.id).await?
            } else {
                engine.merge_preview(run.id).await?
            };
            writeln!(out, "{}", preview.describe())?;
            if matches!(preview.how, corral_engine::MergeHow::Refused(_)) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Merge {
            run,
            dry_run: false,
            force,
        } => {
            let run = engine.find_run(&run).await?;
            let merged = if force {
                engine.force_merge_run(run.id).await?
            } else {
                engine.merge_run(run.id).await?
            };
            writeln!(
                out,
                "merged {} into the project branch as {}",
                merged.branch.as_deref().unwrap_or("the run"),
                merged.merged_commit.as_deref().unwrap_or("?")
            )?;
            ExitCode::SUCCESS
        }
        Command::Diff {
            run,
            stat,
            against_project,
            path,
        } => {
            commands::diff::diff(&engine, run, stat, against_project, path, &mut out).await?;
            ExitCode::SUCCESS
        }
    };
    out.flush()?;
    engine.close().await?;
    Ok(code)
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "error: internal error ({info}); fix: please report it with the log from the data dir's logs folder"
        );
        std::process::exit(i32::from(EXIT_BUG));
    }));
    let cli = Cli::parse();
    let Some(data_dir) = cli.data_dir.clone().or_else(Config::default_data_dir) else {
        eprintln!(
            "error: no data dir: HOME is not set; fix: pass --data-dir or set CORRAL_DATA_DIR"
        );
        return ExitCode::FAILURE;
    };
    // Logging is best effort: an unwritable data dir is reported by Engine::open, clearly.
    let _log = logging::init(
        &data_dir.join("logs"),
        std::env::var_os("CORRAL_LOG").is_some(),
    )
    .ok();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, data_dir)) {
        Ok(code) => code,
        Err(err) => print_error(&err),
    }
}
