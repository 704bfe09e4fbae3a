//! `corral graph run` and `graph stop`.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use corral_core::graph_run::Blocked;
use corral_core::{RunStatus, TaskId};
use corral_engine::Engine;

use crate::cli::GraphCommand;

pub async fn run(
    engine: &Engine,
    command: GraphCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    match command {
        GraphCommand::Stop { project } => {
            let project = engine.find_project(&project).await?;
            if engine.stop_graph(project.id).await? {
                writeln!(
                    out,
                    "the graph of `{}` starts nothing more; live runs go on",
                    project.name
                )?;
            } else {
                writeln!(out, "the graph of `{}` was not running", project.name)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        GraphCommand::Run { project, follow } => {
            let project = engine.find_project(&project).await?;
            let (since, already) = engine.run_graph(project.id).await?;
            if already {
                eprintln!(
                    "the graph of `{}` is running already; following it",
                    project.name
                );
            }
            // Runs left by a process that died are picked up; this process schedules while
            // it waits, unless another one (the app) does already.
            engine.resume_runs().await?;
            engine.start_scheduler();
            let titles: HashMap<TaskId, String> = engine
                .list_task_summaries(Some(project.id))
                .await?
                .into_iter()
                .map(|t| (t.task.id, t.task.title))
                .collect();
            let title = |t: &TaskId| titles.get(t).cloned().unwrap_or_else(|| t.to_string());
            let changes = engine.database_changes().ok();
            let mut seen: HashMap<TaskId, RunStatus> = HashMap::new();
            loop {
                if follow {
                    for run in engine.list_runs(None).await?.into_iter().rev() {
                        if run.project_id != project.id {
                            continue;
                        }
                        let now = run.state.status();
                        if seen.insert(run.task_id, now) != Some(now) {
                            writeln!(out, "{}: {}", title(&run.task_id), run.state)?;
                            out.flush()?;
                        }
                    }
                }
                if engine.graph_running_since(project.id).await?.is_none() {
                    break;
                }
                match &changes {
                    Some(changes) => changes.next(Duration::from_secs(1)).await,
                    None => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            }
            let step = engine.graph_step(project.id, since).await?;
            let not_done: Vec<String> = step
                .blocked
                .iter()
                .map(|(task, why)| match why {
                    Blocked::Failed => format!("`{}` failed", title(task)),
                    Blocked::Upstream { task: failed } => {
                        format!("`{}` is blocked by `{}`", title(task), title(failed))
                    }
                })
                .collect();
            if not_done.is_empty() && step.start.is_empty() {
                writeln!(out, "every task of `{}` succeeded", project.name)?;
                Ok(ExitCode::SUCCESS)
            } else {
                let mut reasons = not_done;
                reasons.extend(
                    step.start
                        .iter()
                        .map(|t| format!("`{}` could not start", title(t))),
                );
                eprintln!(
                    "the graph of `{}` is over: {}",
                    project.name,
                    reasons.join("; ")
                );
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
