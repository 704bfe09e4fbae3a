//! `corral graph run`, `graph stop` and `graph show`.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use corral_core::graph_run::Blocked;
use corral_core::{Project, RunStatus, TaskGraph, TaskId, TaskStatus};
use corral_engine::Engine;
use serde::Serialize;

use crate::cli::GraphCommand;

pub async fn run(
    engine: &Engine,
    command: GraphCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    match command {
        GraphCommand::Show { project, json, dot } => {
            let projects = match project {
                Some(p) => vec![engine.find_project(&p).await?],
                None => engine.list_projects().await?,
            };
            let mut all = Vec::new();
            for project in &projects {
                all.extend(shown_tasks(engine, project).await?);
            }
            if json {
                crate::output::json(out, &all)?;
            } else if dot {
                write_dot(out, &projects, &all)?;
            } else {
                write_layers(out, &projects, &all)?;
            }
            Ok(ExitCode::SUCCESS)
        }
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
        GraphCommand::Run {
            project,
            follow,
            json,
        } => {
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
            let mut awaiting = std::collections::BTreeSet::new();
            loop {
                if follow {
                    for run in engine.project_runs(project.id).await?.into_iter().rev() {
                        let now = run.state.status();
                        if seen.insert(run.task_id, now) != Some(now) {
                            if json {
                                crate::output::json_line(
                                    out,
                                    &serde_json::json!({
                                        "event": "run",
                                        "task": title(&run.task_id),
                                        "task_id": run.task_id.to_string(),
                                        "run_id": run.id.to_string(),
                                        "state": now,
                                    }),
                                )?;
                            } else {
                                writeln!(out, "{}: {}", title(&run.task_id), run.state)?;
                            }
                            out.flush()?;
                        }
                    }
                    // With chain-on=merge the graph waits for the user to merge.
                    let step = engine.graph_step(project.id, since).await?;
                    for task in step.awaiting_merge.difference(&awaiting) {
                        if json {
                            crate::output::json_line(
                                out,
                                &serde_json::json!({
                                    "event": "awaiting_merge",
                                    "task": title(task),
                                    "task_id": task.to_string(),
                                }),
                            )?;
                        } else {
                            writeln!(
                                out,
                                "{}: waiting to be merged into the project branch (chain-on=merge)",
                                title(task)
                            )?;
                        }
                        out.flush()?;
                    }
                    awaiting = step.awaiting_merge;
                }
                if engine.graph_running_since(project.id).await?.is_none() {
                    break;
                }
                match &changes {
                    Some(changes) => changes.next(Duration::from_secs(1)).await,
                    None => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            }
            // Stopped: the live runs go on, and this process drives some of them; leaving now
            // would leave them to whichever Corral opens next.
            let mut said = false;
            while engine.runs_driven_here() > 0 {
                if !said {
                    said = true;
                    eprintln!(
                        "the graph of `{}` starts nothing more; waiting for {} live run(s) to end \
                         (cancel them with `corral run cancel <run>`)",
                        project.name,
                        engine.runs_driven_here()
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let step = engine.graph_step(project.id, since).await?;
            let failed: Vec<String> = step
                .blocked
                .iter()
                .filter(|(_, why)| **why == Blocked::Failed)
                .map(|(task, _)| title(task))
                .collect();
            let blocked: Vec<(String, String)> = step
                .blocked
                .iter()
                .filter_map(|(task, why)| match why {
                    Blocked::Upstream { task: by } => Some((title(task), title(by))),
                    Blocked::Failed => None,
                })
                .collect();
            let not_started: Vec<String> = step.start.iter().map(&title).collect();
            let awaiting_merge: Vec<String> = step.awaiting_merge.iter().map(&title).collect();
            let waiting: Vec<String> = step.waiting.iter().map(&title).collect();
            let succeeded = step.finished;
            if json {
                crate::output::json_line(
                    out,
                    &serde_json::json!({
                        "event": "over",
                        "succeeded": succeeded,
                        "failed": failed,
                        "blocked": blocked
                            .iter()
                            .map(|(t, by)| serde_json::json!({"task": t, "by": by}))
                            .collect::<Vec<_>>(),
                        "not_started": not_started,
                        "awaiting_merge": awaiting_merge,
                        "waiting": waiting,
                    }),
                )?;
            } else if succeeded {
                writeln!(out, "every task of `{}` succeeded", project.name)?;
            }
            if succeeded {
                return Ok(ExitCode::SUCCESS);
            }
            let mut reasons: Vec<String> = failed.iter().map(|t| format!("`{t}` failed")).collect();
            reasons.extend(
                blocked
                    .iter()
                    .map(|(t, by)| format!("`{t}` is blocked by `{by}`")),
            );
            reasons.extend(not_started.iter().map(|t| {
                format!("`{t}` did not start (the graph run was stopped, or starting it failed)")
            }));
            reasons.extend(
                awaiting_merge
                    .iter()
                    .map(|t| format!("`{t}` waits to be merged")),
            );
            reasons.extend(
                waiting
                    .iter()
                    .map(|t| format!("`{t}` did not run (the graph run was stopped)")),
            );
            if reasons.is_empty() {
                reasons.push("it was stopped while tasks still run".to_string());
            }
            eprintln!(
                "the graph of `{}` is over: {}",
                project.name,
                reasons.join("; ")
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A task as `graph show` shows it.
#[derive(Debug, Serialize)]
struct ShownTask {
    id: String,
    project: String,
    title: String,
    layer: usize,
    status: &'static str,
    /// For a blocked task: the upstream task that failed or was cancelled, and which of the two.
    blocked_by: Option<String>,
    blocked_how: Option<&'static str>,
    after: Vec<String>,
    /// Tasks it runs after with newer work than its latest run started from.
    stale_after: Vec<String>,
    /// Paths its latest run changed that another live run changed too.
    overlaps: Vec<String>,
    /// The orchestrate task it is a subtask of (its id): shown nested under it.
    parent: Option<String>,
}

async fn shown_tasks(engine: &Engine, project: &Project) -> anyhow::Result<Vec<ShownTask>> {
    let views = engine.list_task_summaries(Some(project.id)).await?;
    let edges: Vec<(TaskId, TaskId)> = views
        .iter()
        .flat_map(|v| v.depends_on.iter().map(|after| (v.task.id, *after)))
        .collect();
    let (graph, _) = TaskGraph::from_edges(views.iter().map(|v| v.task.id), &edges);
    let layers = graph.layers();
    let status: HashMap<TaskId, TaskStatus> = views.iter().map(|v| (v.task.id, v.status)).collect();
    let title: HashMap<TaskId, &str> = views
        .iter()
        .map(|v| (v.task.id, v.task.title.as_str()))
        .collect();
    // For a blocked task: the failed or cancelled task it waits on, directly or further up.
    let blocker = |task: TaskId| {
        (status.get(&task) == Some(&TaskStatus::Blocked))
            .then(|| {
                graph.upstream_of(task).into_iter().find(|u| {
                    matches!(
                        status.get(u),
                        Some(TaskStatus::Failed | TaskStatus::Cancelled)
                    )
                })
            })
            .flatten()
    };
    let mut shown: Vec<ShownTask> = views
        .iter()
        .map(|v| ShownTask {
            id: v.task.id.to_string(),
            project: project.name.clone(),
            title: v.task.title.clone(),
            layer: layers.get(&v.task.id).copied().unwrap_or(0),
            status: v.status.as_str(),
            blocked_by: blocker(v.task.id).and_then(|u| title.get(&u).map(|t| t.to_string())),
            blocked_how: blocker(v.task.id).and_then(|u| status.get(&u).map(|s| s.as_str())),
            after: v
                .depends_on
                .iter()
                .filter_map(|a| title.get(a).map(|t| t.to_string()))
                .collect(),
            stale_after: v
                .stale_after
                .iter()
                .filter_map(|a| title.get(a).map(|t| t.to_string()))
                .collect(),
            overlaps: v.overlaps.iter().map(|o| o.path.clone()).collect(),
            parent: v.task.parent.map(|p| p.to_string()),
        })
        .collect();
    shown.sort_by(|a, b| (a.layer, &a.title).cmp(&(b.layer, &b.title)));
    Ok(shown)
}

fn write_layers(
    out: &mut impl Write,
    projects: &[Project],
    tasks: &[ShownTask],
) -> std::io::Result<()> {
    for project in projects {
        writeln!(out, "project {}", project.name)?;
        let mut layer = None;
        // Subtasks are shown under their orchestrator, not in the project's layers.
        for task in tasks
            .iter()
            .filter(|t| t.project == project.name && t.parent.is_none())
        {
            if layer != Some(task.layer) {
                layer = Some(task.layer);
                writeln!(out, "  layer {}", task.layer)?;
            }
            write_task(out, tasks, task, 4)?;
        }
    }
    Ok(())
}

/// One task's line at `indent`, then its subtasks (in their layers' order) under it.
fn write_task(
    out: &mut impl Write,
    tasks: &[ShownTask],
    task: &ShownTask,
    indent: usize,
) -> std::io::Result<()> {
    let mut why = match (&task.blocked_by, task.blocked_how) {
        (Some(b), Some(how)) => format!(" (by `{b}`, {how})"),
        (Some(b), None) => format!(" (by `{b}`)"),
        _ => String::new(),
    };
    if !task.stale_after.is_empty() {
        why.push_str(&format!(
            " (stale: newer work of {})",
            task.stale_after
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !task.overlaps.is_empty() {
        why.push_str(&format!(" (overlaps on {})", task.overlaps.join(", ")));
    }
    if !task.after.is_empty() && task.parent.is_some() {
        why.push_str(&format!(" (after {})", task.after.join(", ")));
    }
    let width = 44usize.saturating_sub(indent);
    writeln!(
        out,
        "{:indent$}{:<width$} {}{why}",
        "", task.title, task.status
    )?;
    // Nesting is at most a few levels (orchestrate-depth); a loop of parents cannot recur
    // past the indent cap.
    if indent < 24 {
        for sub in tasks
            .iter()
            .filter(|t| t.parent.as_deref() == Some(task.id.as_str()))
        {
            write_task(out, tasks, sub, indent + 2)?;
        }
    }
    Ok(())
}

fn write_dot(
    out: &mut impl Write,
    projects: &[Project],
    tasks: &[ShownTask],
) -> std::io::Result<()> {
    let escaped = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let quoted = |s: &str| format!("\"{}\"", escaped(s));
    writeln!(out, "digraph corral {{")?;
    writeln!(out, "  rankdir=LR;")?;
    for project in projects {
        writeln!(
            out,
            "  subgraph {} {{",
            quoted(&format!("cluster {}", project.name))
        )?;
        writeln!(out, "    label={};", quoted(&project.name))?;
        for task in tasks.iter().filter(|t| t.project == project.name) {
            // DOT's `\n` breaks the label's line.
            let label = format!("\"{}\\n{}\"", escaped(&task.title), task.status);
            writeln!(out, "    {} [label={label}];", quoted(&task.id))?;
        }
        writeln!(out, "  }}")?;
    }
    let ids: HashMap<(&str, &str), &str> = tasks
        .iter()
        .map(|t| ((t.project.as_str(), t.title.as_str()), t.id.as_str()))
        .collect();
    for task in tasks {
        for after in &task.after {
            if let Some(from) = ids.get(&(task.project.as_str(), after.as_str())) {
                writeln!(out, "  {} -> {};", quoted(from), quoted(&task.id))?;
            }
        }
    }
    writeln!(out, "}}")
}
