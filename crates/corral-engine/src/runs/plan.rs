//! A run's plan: what it will do, worked out once from its task, project and run before
//! anything is prepared: its sandbox, its steps as data (name, command line, environment) and,
//! for an agent task, the agent call. Pure: the API key is looked up by the caller (the only
//! IO) and passed in, so the adapter is resolved and the key read once per run, and the plan
//! is tested without Docker.

use std::path::{Path, PathBuf};

use corral_agents::{Adapter, AgentRequest};
use corral_core::{Project, Run, Runtime, SandboxKind, StepName, Task};

use super::agent;
use super::network::{self, NetworkPlan};
use crate::error::{EngineError, EngineResult};
use crate::keys::FoundKey;

/// One step to run in the sandbox. Its environment may hold the API key: `Debug` shows names
/// only.
pub(crate) struct StepSpec {
    pub name: StepName,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl std::fmt::Debug for StepSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("StepSpec")
            .field("name", &self.name)
            .field("argv", &self.argv)
            .field("env", &names)
            .finish()
    }
}

/// The task's own work: a command line, or a coding agent.
#[derive(Debug)]
pub(crate) enum Work {
    Command(StepSpec),
    Agent(Box<AgentCall>),
}

/// A coding agent's step, with what the run needs to set it up and read its output.
pub(crate) struct AgentCall {
    pub adapter: Box<dyn Adapter>,
    pub request: AgentRequest,
    pub step: StepSpec,
    /// The agent's home on the host (its configuration files are written there).
    pub home_on_host: PathBuf,
    /// Said in the run's log before the agent starts (the keychain could not be read).
    pub key_note: Option<String>,
    /// Why there is no API key in the step's environment: only a run picked up after its agent
    /// started may go on without one (the running agent has it); starting the agent fails.
    pub missing_key: Option<EngineError>,
    /// The API key itself is in the sandbox (Corral's gateway does not speak for it).
    pub key_inside: bool,
}

impl std::fmt::Debug for AgentCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCall")
            .field("runtime", &self.adapter.runtime())
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl AgentCall {
    pub fn program(&self) -> &str {
        self.adapter.program()
    }
}

/// One of the project's checks, and how it runs.
#[derive(Debug)]
pub(crate) struct PlannedCheck {
    pub check: corral_core::Check,
    pub how: CheckStep,
}

/// A check's command as the verify step it runs as, or the agent reviewer.
#[derive(Debug)]
pub(crate) enum CheckStep {
    Command(StepSpec),
    Reviewer(corral_core::check::Reviewer),
}

/// Everything a run does, in order: setup (once), the work, its checks; and, with
/// `network=allowlist` in a container, what its gateway needs.
#[derive(Debug)]
pub(crate) struct RunPlan {
    pub sandbox: SandboxKind,
    pub setup: Option<StepSpec>,
    pub work: Work,
    /// The project's checks, in order (none for a consult run: it has no result).
    pub checks: Vec<PlannedCheck>,
    pub network: Option<NetworkPlan>,
}

/// A shell command line as a step.
fn shell(name: StepName, command: &str) -> StepSpec {
    StepSpec {
        name,
        argv: vec!["sh".to_string(), "-c".to_string(), command.to_string()],
        env: Vec::new(),
    }
}

/// Whether the task can run with this adapter (`None`: a custom command) on the project's
/// settings, before any key is looked up or anything prepared.
pub(crate) fn check(
    task: &Task,
    project: &Project,
    adapter: Option<&dyn Adapter>,
) -> EngineResult<()> {
    let refuse = |reason: &str| {
        Err(EngineError::NotRunnable {
            reason: reason.to_string(),
        })
    };
    match task.approval {
        corral_core::Approval::Approved => {}
        corral_core::Approval::Proposed => {
            return refuse(&format!(
                "an agent proposed it, and it waits for your approval: `corral task approve {}`",
                task.id
            ));
        }
        corral_core::Approval::Rejected => {
            return refuse("it was proposed by an agent and rejected");
        }
    }
    if task.kind == corral_core::TaskKind::Orchestrate && project.workflow.max_concurrent_runs < 2 {
        return refuse(&format!(
            "an orchestrator keeps its run slot while its subtasks run, and project `{}` runs \
             one run at a time; `corral project set {} max-runs=2` (or more)",
            project.name, project.name
        ));
    }
    if task.kind == corral_core::TaskKind::Orchestrate
        && project.workflow.sandbox == SandboxKind::Docker
        && project.workflow.network != corral_core::NetworkPolicy::Allowlist
    {
        return refuse(&format!(
            "an orchestrator works through Corral's MCP server, which a container reaches only \
             through the gateway, and project `{}` has network={}; `corral project set {} \
             network=allowlist`",
            project.name,
            project.workflow.network.as_str(),
            project.name
        ));
    }
    if adapter.is_some() && project.workflow.network == corral_core::NetworkPolicy::None {
        return refuse(&format!(
            "an agent needs its model API, and project `{}` has network=none; let it through \
             Corral's gateway (the key stays outside the sandbox): `corral project set {} \
             network=allowlist`",
            project.name, project.name
        ));
    }
    match adapter {
        None if task.command.is_none() => {
            refuse("a custom task needs a command line (`--runtime custom -- CMD ...`)")
        }
        None => Ok(()),
        Some(adapter) if adapter.runtime() == Runtime::Acp && task.command.is_none() => {
            refuse("an acp task needs the agent's command line (`--runtime acp -- gemini --acp`)")
        }
        Some(_) if task.prompt.trim().is_empty() => refuse("the task has no prompt for the agent"),
        Some(_) => Ok(()),
    }
}

impl RunPlan {
    /// The plan of `run`. `agent` is the task's adapter with its API key (`None` for a custom
    /// command); `sandbox_dir` is the run's sandbox folder on the host; `gateway` is the run's
    /// placeholder key and where its doors are, when it goes out through the gateway (its MCP
    /// door comes with it; `local_relay` is the relay on this machine, a local agent's MCP
    /// server).
    pub fn resolve(
        run: &Run,
        task: &Task,
        project: &Project,
        sandbox_dir: &Path,
        agent: Option<(Box<dyn Adapter>, EngineResult<FoundKey>)>,
        gateway: Option<(corral_gateway::Secret, network::Doors)>,
        local_relay: &Path,
    ) -> EngineResult<RunPlan> {
        check(task, project, agent.as_ref().map(|(a, _)| a.as_ref()))?;
        // A run keeps the sandbox it started in, whatever the project says now.
        let sandbox = run.sandbox_kind().unwrap_or(project.workflow.sandbox);
        let isolated = sandbox == SandboxKind::Docker;
        // Whether the run uses the gateway was settled by the caller (once per run: a run
        // keeps the network it started with).
        let placeholder = gateway.as_ref().map(|(p, _)| p.clone());
        // In a container every step's web traffic goes to the gateway's proxy.
        let step_env = if gateway.is_some() && isolated {
            network::proxy_env()
        } else {
            Vec::new()
        };
        let mut gateway_key = None;
        let mut key_inside = false;
        let work = match agent {
            None => Work::Command(StepSpec {
                name: StepName::Agent,
                argv: task.command.clone().unwrap_or_default(),
                env: step_env.clone(),
            }),
            Some((adapter, key)) => {
                let home_on_host = sandbox_dir.join("home");
                let home = if isolated {
                    format!("{}/home", corral_sandbox::RUN_DIR_IN_CONTAINER)
                } else {
                    home_on_host.display().to_string()
                };
                let mut request =
                    agent::request(run, task, project, adapter.as_ref(), &home, isolated);
                // The gateway speaks for the key's provider when the agent reads that
                // provider's base URL: the agent gets the door and a placeholder.
                let provider = key
                    .as_ref()
                    .ok()
                    .and_then(|k| network::provider_of_key(&k.name))
                    .filter(|p| adapter.base_url_env() == network::base_url_var(*p))
                    .filter(|_| placeholder.is_some());
                if let (Some(provider), Some((_, doors))) = (provider, &gateway) {
                    request.base_url = Some(doors.url(provider));
                }
                if let Some((_, doors)) = &gateway {
                    request.mcp = doors.mcp_server(local_relay);
                }
                // `auto`: bypass only where the container is the whole boundary (no network but
                // the gateway, no key inside); edits everywhere else.
                if project.workflow.agent_permissions == corral_core::AgentPermissions::Auto
                    && run.consult.is_none()
                {
                    request.permission = if isolated && provider.is_some() {
                        corral_agents::PermissionMode::Bypass
                    } else {
                        corral_agents::PermissionMode::AcceptEdits
                    };
                }
                let mut env = agent::home_env(&home);
                env.extend(adapter.env(&request));
                env.extend(step_env.iter().cloned());
                let mut notes = Vec::new();
                let missing_key = match key {
                    Ok(key) => {
                        if let Some(why) = &key.keychain_error {
                            notes.push(format!(
                                "no OS keychain ({why}); {} was read from Corral's environment",
                                key.name
                            ));
                        }
                        match (provider, &placeholder) {
                            (Some(provider), Some(placeholder)) => {
                                // Codex reads OPENAI_API_KEY whichever name its key has.
                                if key.name == "CODEX_API_KEY" {
                                    let placeholder = placeholder.expose().to_string();
                                    env.push(("OPENAI_API_KEY".into(), placeholder));
                                }
                                env.push((key.name, placeholder.expose().to_string()));
                                gateway_key =
                                    Some((provider, corral_gateway::Secret::new(key.value)));
                            }
                            _ => {
                                notes.extend(key_inside_note(
                                    project,
                                    adapter.as_ref(),
                                    &key.name,
                                    isolated,
                                    placeholder.is_some(),
                                ));
                                key_inside = true;
                                env.push((key.name, key.value));
                            }
                        }
                        None
                    }
                    Err(missing) => Some(missing),
                };
                let argv = adapter.command(&request);
                Work::Agent(Box::new(AgentCall {
                    step: StepSpec {
                        name: StepName::Agent,
                        argv,
                        env,
                    },
                    adapter,
                    request,
                    home_on_host,
                    key_note: (!notes.is_empty()).then(|| notes.join("; ")),
                    missing_key,
                    key_inside,
                }))
            }
        };
        // The project's variables come first in every step, then the step's own. With the
        // gateway, those naming a provider's upstream are the gateway's and stay outside (but
        // for an agent that holds its key itself and so talks to its provider directly).
        let hide_upstreams = gateway.is_some() && !key_inside;
        let project_env: Vec<(String, String)> = project
            .workflow
            .env
            .iter()
            .filter(|(k, _)| {
                !hide_upstreams || !network::UPSTREAM_VARS.iter().any(|(var, _)| var == k)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let with_env = |mut spec: StepSpec, own: &[(String, String)]| {
            let mut env = project_env.clone();
            env.extend(spec.env);
            env.extend(own.iter().cloned());
            spec.env = env;
            spec
        };
        let work = match work {
            Work::Command(spec) => Work::Command(with_env(spec, &[])),
            Work::Agent(mut call) => {
                call.step = with_env(call.step, &[]);
                Work::Agent(call)
            }
        };
        // A consult run only looks: the asking run's checkout is set up, and it has no result
        // to check.
        let own_steps = run.consult.is_none();
        Ok(RunPlan {
            sandbox,
            setup: project
                .workflow
                .setup_command
                .as_deref()
                .filter(|_| own_steps)
                .map(|c| with_env(shell(StepName::Setup, c), &step_env)),
            work,
            checks: project
                .workflow
                .all_checks()
                .into_iter()
                .filter(|_| own_steps)
                .map(|check| PlannedCheck {
                    how: CheckStep::Command(with_env(
                        shell(StepName::Verify, &check.command),
                        &step_env,
                    )),
                    check,
                })
                .chain(
                    project
                        .workflow
                        .reviewer
                        .clone()
                        .filter(|_| own_steps)
                        .map(|reviewer| PlannedCheck {
                            check: corral_core::Check {
                                name: corral_core::check::REVIEW.to_string(),
                                command: format!(
                                    "agent reviewer ({})",
                                    reviewer
                                        .runtime
                                        .map_or("the task's agent".to_string(), |r| r.to_string())
                                ),
                            },
                            how: CheckStep::Reviewer(reviewer),
                        }),
                )
                .collect(),
            network: gateway.map(|(p, doors)| NetworkPlan::new(project, p, doors, gateway_key)),
        })
    }
}

/// Said in the run's log when the API key goes into the sandbox.
fn key_inside_note(
    project: &Project,
    adapter: &dyn Adapter,
    key: &str,
    isolated: bool,
    gateway: bool,
) -> Option<String> {
    if gateway {
        let reach = if isolated {
            "and its model API must be in the project's allow-hosts"
        } else {
            "which reaches its model API directly"
        };
        return Some(format!(
            "Corral's gateway does not speak for {} with {key}: the key is in the sandbox, {reach}",
            adapter.runtime()
        ));
    }
    let network = project.workflow.network;
    (isolated
        && matches!(
            network,
            corral_core::NetworkPolicy::Host | corral_core::NetworkPolicy::Bridge
        ))
    .then(|| {
        format!(
            "network={}: the sandbox has this machine's network and {key} is in its \
                 environment; network=allowlist keeps the key outside",
            network.as_str()
        )
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
