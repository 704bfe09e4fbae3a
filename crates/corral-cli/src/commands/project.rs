//! `corral project ...`.

use std::io::Write;
use std::sync::LazyLock;

use corral_core::{ImageChoice, Project, SETTING_KEYS};
use corral_engine::Engine;

use crate::cli::ProjectCommand;
use crate::output::{self, ProjectJson};
use crate::usage_error;

pub static SETTINGS_HELP: LazyLock<String> = LazyLock::new(|| {
    let mut help = String::from("Settings:\n");
    for (key, what) in SETTING_KEYS {
        help.push_str(&format!("  {key:<16} {what}\n"));
    }
    help
});

fn parse_pairs(pairs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(usage_error(format!(
                "expected KEY=VALUE, got `{pair}`; see `corral project set --help` for the keys"
            ))),
        })
        .collect()
}

fn describe(project: &Project, tasks: usize, out: &mut impl Write) -> std::io::Result<()> {
    let wf = &project.workflow;
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    let image = match &wf.image {
        ImageChoice::Default => "Corral's default agent image".to_string(),
        ImageChoice::Base { image } => format!("agent image built from {image}"),
        ImageChoice::Agent { image } => format!("{image} (used as is)"),
        ImageChoice::Dockerfile { path } => format!("built from {path} in the repository"),
    };
    let env = if wf.env.is_empty() {
        "(none)".to_string()
    } else {
        wf.env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let secrets = if wf.secret_names.is_empty() {
        "(none)".to_string()
    } else {
        wf.secret_names.join(", ")
    };
    let rows = [
        ("id", project.id.to_string()),
        ("name", project.name.clone()),
        ("source", project.source.describe()),
        (
            "branch",
            project
                .default_branch
                .clone()
                .unwrap_or_else(|| "(remote HEAD)".into()),
        ),
        ("tasks", tasks.to_string()),
        ("image", image),
        ("setup", or_none(&wf.setup_command)),
        ("verify", or_none(&wf.verify_command)),
        (
            "checks",
            if wf.checks.is_empty() {
                "(none named)".to_string()
            } else {
                wf.checks
                    .iter()
                    .map(|c| format!("{}: {}", c.name, c.command))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        ),
        (
            "reviewer",
            match &wf.reviewer {
                None => "(none)".to_string(),
                Some(r) => format!(
                    "an agent ({}{}) reviews each result as the last check",
                    r.runtime.map_or("the task's".to_string(), |r| r.to_string()),
                    r.model
                        .as_deref()
                        .map(|m| format!(", model {m}"))
                        .unwrap_or_default()
                ),
            },
        ),
        (
            "verify-timeout",
            format!("{} s (a check running longer is stopped)", wf.verify_timeout_secs),
        ),
        (
            "verify-retries",
            format!(
                "{} (an agent whose work fails the checks is sent back this many times)",
                wf.verify_retries
            ),
        ),
        ("runtime", wf.runtime.to_string()),
        (
            "model",
            wf.model
                .clone()
                .unwrap_or_else(|| "(runtime default)".into()),
        ),
        (
            "agents may",
            match wf.agent_permissions {
                corral_core::AgentPermissions::Auto => {
                    "do anything without asking in a container, which is the boundary; edit files in the local sandbox (agent-permissions=auto)".to_string()
                }
                corral_core::AgentPermissions::Edits => {
                    "edit files (agent-permissions=edits)".to_string()
                }
                corral_core::AgentPermissions::Bypass => {
                    "do anything without asking (agent-permissions=bypass)".to_string()
                }
                corral_core::AgentPermissions::Ask => {
                    "edit files, and ask you in the inbox for anything else (agent-permissions=ask; Claude Code)".to_string()
                }
            },
        ),
        (
            "network",
            match wf.network {
                corral_core::NetworkPolicy::Allowlist => {
                    "allowlist: no network; the model API through Corral's gateway (the key stays outside the sandbox)".to_string()
                }
                corral_core::NetworkPolicy::None => {
                    "none: no network at all (agents cannot run)".to_string()
                }
                other => format!(
                    "{}: the sandbox has this machine's network, and an agent's API key is in it",
                    other.as_str()
                ),
            },
        ),
        (
            "allow-hosts",
            if wf.allow_hosts.is_empty() {
                "(none)".to_string()
            } else {
                wf.allow_hosts.join(", ")
            },
        ),
        (
            "provider-tools",
            if wf.provider_tools {
                "on: provider-side web search and fetch are kept".to_string()
            } else {
                "off: provider-side web search and fetch are removed from requests".to_string()
            },
        ),
        (
            "budget-tokens",
            wf.budget_tokens
                .map_or_else(|| "off".to_string(), |b| format!("{b} per run")),
        ),
        (
            "orchestrate-budget-tokens",
            wf.orchestrate_budget_tokens
                .map_or_else(|| "off".to_string(), |b| format!("{b} per orchestration")),
        ),
        (
            "orchestrate-depth",
            match wf.orchestrate_depth {
                1 => "1 (subtasks may not orchestrate)".to_string(),
                n => format!("{n} levels of orchestrators"),
            },
        ),
        (
            "agent-tasks",
            match wf.agent_tasks {
                corral_core::AgentTasks::Propose => {
                    "propose (tasks agents create wait for your approval)".to_string()
                }
                corral_core::AgentTasks::Allow => {
                    "allow (tasks agents create can run at once)".to_string()
                }
                corral_core::AgentTasks::Deny => "deny (agents cannot create tasks)".to_string(),
            },
        ),
        (
            "agent-task-limit",
            format!("{} per run", wf.agent_task_limit),
        ),
        ("ask-wait", format!("{}s", wf.ask_wait_secs)),
        (
            "sandbox",
            match wf.sandbox {
                corral_core::SandboxKind::Docker => "docker (one container per run)".to_string(),
                corral_core::SandboxKind::Local => {
                    "local: NOT isolated, steps run on this machine as you".to_string()
                }
            },
        ),
        (
            "limits",
            format!(
                "memory {} MiB, cpus {}, pids {}",
                wf.limits.memory_mib,
                f64::from(wf.limits.cpu_millis) / 1000.0,
                wf.limits.pids
            ),
        ),
        ("max runs", wf.max_concurrent_runs.to_string()),
        (
            "auto-run",
            if wf.auto_run {
                "on: a task starts by itself once it is ready".to_string()
            } else {
                "off: tasks run when started (graph run, run)".to_string()
            },
        ),
        (
            "chain-on",
            match wf.chain_on {
                corral_core::ChainOn::Success => {
                    "success: a task's run succeeding lets the tasks after it start".to_string()
                }
                corral_core::ChainOn::Merge => {
                    "merge: the tasks after a task start once its result is merged".to_string()
                }
            },
        ),
        (
            "merge-style",
            match wf.merge_style {
                corral_core::MergeStyle::Merge => {
                    "merge: a fast-forward, or a merge commit when the branch moved on".to_string()
                }
                corral_core::MergeStyle::Squash => {
                    "squash: a run's work goes in as one commit".to_string()
                }
                corral_core::MergeStyle::FfOnly => {
                    "ff-only: only a fast-forward; refused when the branch moved on".to_string()
                }
            },
        ),
        (
            "max file",
            format!("{} MiB (bigger files stay out of commits)", wf.max_file_mib),
        ),
        (
            "retention",
            format!(
                "keep {} newest checkouts and any younger than {} days",
                wf.retention.keep_runs, wf.retention.keep_days
            ),
        ),
        ("env", env),
        ("secrets", secrets),
    ];
    for (k, v) in rows {
        writeln!(out, "{k:<10} {v}")?;
    }
    Ok(())
}

pub async fn run(
    engine: &Engine,
    command: ProjectCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Add { source, name } => {
            let p = engine.add_project(&source, name.as_deref()).await?;
            writeln!(
                out,
                "added project `{}` ({}) from {}",
                p.name,
                p.id,
                p.source.describe()
            )?;
            writeln!(
                out,
                "next: corral task add --project '{}' --title '...' --prompt '...'",
                p.name
            )?;
        }
        ProjectCommand::List { json } => {
            let projects = engine.list_projects().await?;
            let tasks = engine.list_task_summaries(None).await?;
            let count = |p: &Project| tasks.iter().filter(|t| t.task.project_id == p.id).count();
            if json {
                let items: Vec<_> = projects
                    .iter()
                    .map(|p| ProjectJson::new(p, Some(count(p))))
                    .collect();
                output::json(out, &items)?;
            } else if projects.is_empty() {
                writeln!(
                    out,
                    "no projects yet; add one with `corral project add <path>`"
                )?;
            } else {
                let rows: Vec<Vec<String>> = projects
                    .iter()
                    .map(|p| {
                        vec![
                            p.name.clone(),
                            count(p).to_string(),
                            p.default_branch.clone().unwrap_or_else(|| "-".into()),
                            p.id.to_string(),
                            p.source.describe(),
                        ]
                    })
                    .collect();
                output::table(out, &["NAME", "TASKS", "BRANCH", "ID", "SOURCE"], &rows)?;
            }
        }
        ProjectCommand::Show { project, json } => {
            let p = engine.find_project(&project).await?;
            let tasks = engine.list_task_summaries(Some(p.id)).await?.len();
            if json {
                output::json(out, &ProjectJson::new(&p, Some(tasks)))?;
            } else {
                describe(&p, tasks, out)?;
            }
        }
        ProjectCommand::Set { project, settings } => {
            let pairs = parse_pairs(&settings)?;
            let p = engine.find_project(&project).await?;
            let p = engine.set_project_settings(p.id, &pairs).await?;
            writeln!(out, "updated project `{}`", p.name)?;
        }
        ProjectCommand::Rm { project } => {
            let p = engine.find_project(&project).await?;
            let p = engine.remove_project(p.id).await?;
            writeln!(
                out,
                "removed project `{}` and its tasks from Corral ({} was not touched)",
                p.name,
                p.source.describe()
            )?;
        }
    }
    Ok(())
}
