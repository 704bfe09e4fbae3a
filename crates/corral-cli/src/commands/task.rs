//! `corral task ...`.

use std::collections::HashMap;
use std::io::{Read, Write};

use corral_core::validate::PROMPT_MAX_BYTES;
use corral_core::{Project, ProjectId, Runtime, TaskId, TaskStatus, TaskSummary, ValidationError};
use corral_engine::{Engine, NewTask, TaskUpdate, TaskView};

use crate::cli::{DepCommand, PromptArgs, TaskCommand};
use crate::output::{self, SubtaskJson, TaskJson};
use crate::usage_error;

/// The prompt from `--prompt`, `--prompt-file FILE` or `--prompt-file -` (stdin).
fn read_prompt(args: &PromptArgs) -> anyhow::Result<Option<String>> {
    if let Some(text) = &args.prompt {
        return Ok(Some(text.clone()));
    }
    let Some(path) = &args.prompt_file else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    let limit = PROMPT_MAX_BYTES as u64 + 1;
    if path.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)?;
    } else {
        let file = std::fs::File::open(path).map_err(|e| {
            usage_error(format!(
                "cannot read the prompt file {}: {e}",
                path.display()
            ))
        })?;
        file.take(limit).read_to_end(&mut bytes)?;
    }
    if bytes.len() > PROMPT_MAX_BYTES {
        let size = std::fs::metadata(path)
            .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX))
            .unwrap_or(bytes.len());
        return Err(
            corral_engine::EngineError::from(ValidationError::PromptTooLarge {
                bytes: size,
                max: PROMPT_MAX_BYTES,
            })
            .into(),
        );
    }
    String::from_utf8(bytes).map(Some).map_err(|_| {
        usage_error(format!(
            "the prompt file {} is not UTF-8 text",
            path.display()
        ))
    })
}

fn parse_runtime(value: &str) -> anyhow::Result<Option<Runtime>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(
        value
            .parse::<Runtime>()
            .map_err(corral_engine::EngineError::from)?,
    ))
}

async fn scope(engine: &Engine, project: Option<&str>) -> anyhow::Result<Option<Project>> {
    Ok(match project {
        Some(p) => Some(engine.find_project(p).await?),
        None => None,
    })
}

async fn find(
    engine: &Engine,
    reference: &str,
    project: Option<&Project>,
) -> anyhow::Result<TaskId> {
    Ok(engine.find_task(reference, project).await?.id)
}

/// The other end of a dependency: looked up in `scope`, or else in the task's own project, and
/// only then everywhere (so naming a task of another project gets the engine's clear refusal).
async fn find_after(
    engine: &Engine,
    task: TaskId,
    reference: &str,
    scope: Option<&Project>,
) -> anyhow::Result<TaskId> {
    if scope.is_some() {
        return find(engine, reference, scope).await;
    }
    let owner = engine
        .project(engine.task(task).await?.task.project_id)
        .await?;
    match engine.find_task(reference, Some(&owner)).await {
        Ok(t) => Ok(t.id),
        Err(corral_engine::EngineError::TaskNotFound { .. }) => find(engine, reference, None).await,
        Err(other) => Err(other.into()),
    }
}

fn project_names(projects: &[Project]) -> HashMap<ProjectId, &str> {
    projects.iter().map(|p| (p.id, p.name.as_str())).collect()
}

fn print_list(
    views: &[TaskView<TaskSummary>],
    names: &HashMap<ProjectId, &str>,
    with_project: bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let titles: HashMap<TaskId, &str> = views
        .iter()
        .map(|v| (v.task.id, v.task.title.as_str()))
        .collect();
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            let after = v
                .depends_on
                .iter()
                .map(|d| output::cell(titles.get(d).copied().unwrap_or("?"), 24))
                .collect::<Vec<_>>()
                .join(", ");
            let mut row = vec![v.task.id.to_string(), v.status.as_str().to_string()];
            if with_project {
                row.push(output::cell(
                    names.get(&v.task.project_id).copied().unwrap_or("?"),
                    24,
                ));
            }
            row.push(
                v.task
                    .runtime
                    .map_or_else(|| "-".to_string(), |r| r.to_string()),
            );
            row.push(if after.is_empty() { "-".into() } else { after });
            row.push(output::cell(&v.task.title, 60));
            row
        })
        .collect();
    let header: &[&str] = if with_project {
        &["ID", "STATUS", "PROJECT", "RUNTIME", "AFTER", "TITLE"]
    } else {
        &["ID", "STATUS", "RUNTIME", "AFTER", "TITLE"]
    };
    output::table(out, header, &rows)
}

fn print_task(
    v: &TaskView,
    project: &str,
    titles: &HashMap<TaskId, String>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let t = &v.task;
    let named = |ids: &[TaskId]| {
        if ids.is_empty() {
            "(none)".to_string()
        } else {
            ids.iter()
                .map(|id| {
                    titles
                        .get(id)
                        .map_or_else(|| id.to_string(), |t| format!("{t} ({id})"))
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    writeln!(out, "id         {}", t.id)?;
    writeln!(out, "title      {}", t.title)?;
    writeln!(out, "project    {project}")?;
    writeln!(out, "status     {}", v.status.as_str())?;
    writeln!(
        out,
        "runtime    {}",
        t.runtime
            .map_or("(project default)".into(), |r| r.to_string())
    )?;
    writeln!(
        out,
        "model      {}",
        t.model.as_deref().unwrap_or("(project default)")
    )?;
    if let Some(argv) = &t.command {
        writeln!(out, "command    {argv:?}")?;
    }
    if let corral_core::CreatedBy::Run(run) = t.created_by {
        writeln!(out, "created by the agent of run {run}")?;
    }
    writeln!(out, "after      {}", named(&v.depends_on))?;
    writeln!(out, "before     {}", named(&v.dependents))?;
    writeln!(out, "attempts   {}", t.max_attempts)?;
    writeln!(out, "prompt")?;
    for line in t.prompt.lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

pub async fn run(
    engine: &Engine,
    command: TaskCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        TaskCommand::Add {
            project,
            title,
            prompt,
            runtime,
            model,
            after,
            max_attempts,
            kind,
            command,
        } => {
            let kind = corral_core::TaskKind::parse(&kind)
                .ok_or_else(|| usage_error(format!("unknown task kind `{kind}`")))?;
            let project = engine.find_project(&project).await?;
            let prompt = read_prompt(&prompt)?.unwrap_or_default();
            let runtime = match runtime {
                Some(r) => parse_runtime(&r)?,
                None => None,
            };
            let mut after_ids = Vec::with_capacity(after.len());
            for reference in &after {
                after_ids.push(find(engine, reference, Some(&project)).await?);
            }
            let view = engine
                .create_task(NewTask {
                    project_id: project.id,
                    title,
                    prompt,
                    runtime,
                    model,
                    command: (!command.is_empty()).then_some(command),
                    after: after_ids,
                    max_attempts,
                    kind,
                    ..Default::default()
                })
                .await?;
            writeln!(
                out,
                "added task `{}` ({}) — {}",
                view.task.title,
                view.task.id,
                view.status.as_str()
            )?;
        }
        TaskCommand::List { project, json } => {
            let scope = scope(engine, project.as_deref()).await?;
            let projects = match &scope {
                Some(p) => vec![p.clone()],
                None => engine.list_projects().await?,
            };
            let names = project_names(&projects);
            let project_id = scope.as_ref().map(|p| p.id);
            if json {
                let views = engine.list_tasks(project_id).await?;
                let items: Vec<_> = views
                    .iter()
                    .map(|v| TaskJson::new(v, names.get(&v.task.project_id).copied().unwrap_or("")))
                    .collect();
                output::json(out, &items)?;
                return Ok(());
            }
            let views = engine.list_task_summaries(project_id).await?;
            if views.is_empty() {
                writeln!(
                    out,
                    "no tasks yet; add one with `corral task add --project P --title T --prompt TEXT`"
                )?;
            } else {
                print_list(&views, &names, scope.is_none(), out)?;
            }
        }
        TaskCommand::Show {
            task,
            project,
            json,
        } => {
            let scope = scope(engine, project.as_deref()).await?;
            let id = find(engine, &task, scope.as_ref()).await?;
            let view = engine.task(id).await?;
            let project = engine.project(view.task.project_id).await?;
            let subtasks = engine.subtasks(view.task.id).await?;
            if json {
                let mut shown = TaskJson::new(&view, &project.name);
                shown.subtasks = subtasks.iter().map(SubtaskJson::new).collect();
                output::json(out, &shown)?;
            } else {
                let titles = engine
                    .list_task_summaries(Some(project.id))
                    .await?
                    .into_iter()
                    .map(|v| (v.task.id, v.task.title))
                    .collect();
                print_task(&view, &project.name, &titles, out)?;
                for sub in &subtasks {
                    writeln!(
                        out,
                        "subtask    {} `{}` ({})",
                        sub.status.as_str(),
                        sub.task.title,
                        sub.task.id
                    )?;
                }
            }
        }
        TaskCommand::Edit {
            task,
            project,
            title,
            prompt,
            runtime,
            model,
            max_attempts,
            command,
        } => {
            let scope = scope(engine, project.as_deref()).await?;
            let id = find(engine, &task, scope.as_ref()).await?;
            let runtime = match runtime {
                Some(r) => Some(parse_runtime(&r)?),
                None => None,
            };
            let update = TaskUpdate {
                title,
                prompt: read_prompt(&prompt)?,
                runtime,
                model: model.map(|m| (!m.trim().is_empty()).then_some(m)),
                command: (!command.is_empty()).then_some(Some(command)),
                max_attempts,
            };
            if update.title.is_none()
                && update.prompt.is_none()
                && update.runtime.is_none()
                && update.model.is_none()
                && update.command.is_none()
                && update.max_attempts.is_none()
            {
                return Err(usage_error(
                    "nothing to change; give --title, --prompt, --prompt-file, --runtime, --model, --max-attempts or -- COMMAND".into(),
                ));
            }
            let view = engine.update_task(id, update).await?;
            writeln!(out, "updated task `{}`", view.task.title)?;
        }
        TaskCommand::Dep(DepCommand::Add {
            task,
            after,
            project,
        }) => {
            let scope = scope(engine, project.as_deref()).await?;
            let task_id = find(engine, &task, scope.as_ref()).await?;
            let after_id = find_after(engine, task_id, &after, scope.as_ref()).await?;
            let view = engine.add_dependency(task_id, after_id).await?;
            let live = if matches!(view.status, TaskStatus::Running | TaskStatus::NeedsInput) {
                " (its live run goes on as it started: the dependency applies to its next run)"
            } else {
                ""
            };
            writeln!(
                out,
                "`{}` now runs after `{after}` — {}{live}",
                view.task.title,
                view.status.as_str()
            )?;
        }
        TaskCommand::Dep(DepCommand::Rm {
            task,
            after,
            project,
        }) => {
            let scope = scope(engine, project.as_deref()).await?;
            let task_id = find(engine, &task, scope.as_ref()).await?;
            let after_id = find_after(engine, task_id, &after, scope.as_ref()).await?;
            let view = engine.remove_dependency(task_id, after_id).await?;
            writeln!(
                out,
                "`{}` no longer waits for `{after}` — {}",
                view.task.title,
                view.status.as_str()
            )?;
        }
        TaskCommand::Approve { task, project } => {
            let scope = scope(engine, project.as_deref()).await?;
            let id = find(engine, &task, scope.as_ref()).await?;
            let view = engine.approve_task(id).await?;
            writeln!(
                out,
                "approved `{}` — {}",
                view.task.title,
                view.status.as_str()
            )?;
        }
        TaskCommand::Reject { task, project } => {
            let scope = scope(engine, project.as_deref()).await?;
            let id = find(engine, &task, scope.as_ref()).await?;
            let view = engine.reject_task(id).await?;
            writeln!(out, "rejected `{}`: it will not run", view.task.title)?;
        }
        TaskCommand::Rm { task, project, yes } => {
            let scope = scope(engine, project.as_deref()).await?;
            let id = find(engine, &task, scope.as_ref()).await?;
            let view = engine.task(id).await?;
            if !view.dependents.is_empty() {
                let mut names = Vec::new();
                for d in &view.dependents {
                    names.push(format!("`{}`", engine.task(*d).await?.task.title));
                }
                if !yes {
                    return Err(usage_error(format!(
                        "{} run(s) after `{}`; removed, it would no longer be waited for. \
                         Remove it anyway with --yes",
                        names.join(", "),
                        view.task.title
                    )));
                }
                writeln!(
                    out,
                    "{} no longer wait for `{}`",
                    names.join(", "),
                    view.task.title
                )?;
            }
            let removed = engine.delete_task(id).await?;
            writeln!(out, "removed task `{}` ({})", removed.title, removed.id)?;
        }
    }
    Ok(())
}
