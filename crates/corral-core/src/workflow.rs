//! A project's workflow: everything about how its tasks are run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::project::{
    AgentPermissions, AgentTasks, ChainOn, ImageChoice, MergeStyle, NetworkPolicy, ResourceLimits,
    Retention, SandboxKind,
};
use crate::runtime::Runtime;

/// Everything about how a project's tasks are run. New fields get a serde default so rows
/// written by older versions still load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workflow {
    pub image: ImageChoice,
    pub setup_command: Option<String>,
    pub verify_command: Option<String>,
    pub runtime: Runtime,
    pub model: Option<String>,
    pub env: BTreeMap<String, String>,
    /// Names of secrets (values live in the OS keychain, never here).
    pub secret_names: Vec<String>,
    pub limits: ResourceLimits,
    pub network: NetworkPolicy,
    /// Hosts the sandbox may reach through the gateway's proxy with `network=allowlist`: exact
    /// names, `*.suffix`, or addresses.
    pub allow_hosts: Vec<String>,
    /// Whether provider-side tools (web search and fetch run by the provider, remote MCP
    /// servers) stay in model requests; they reach the internet past the allowlist.
    pub provider_tools: bool,
    /// Tokens a run may use (as its provider reports them) before the gateway refuses further
    /// model calls; `None`: no budget.
    pub budget_tokens: Option<u64>,
    pub max_concurrent_runs: u32,
    pub retention: Retention,
    pub sandbox: SandboxKind,
    /// The network a Dockerfile build gets (its RUN steps usually download things).
    pub build_network: NetworkPolicy,
    /// A task's command or agent that prints nothing for this long is stopped and the run fails.
    pub inactivity_timeout_secs: u32,
    /// What its coding agents may do without asking.
    pub agent_permissions: AgentPermissions,
    /// Files bigger than this (MiB) are left out of a run's commit, and said so.
    pub max_file_mib: u64,
    /// What agents may do with the project's tasks (MCP `create_task`, `add_dependency`).
    pub agent_tasks: AgentTasks,
    /// Tasks one run's agent may create.
    pub agent_task_limit: u32,
    /// How long an agent's `ask_human` call waits for the answer before it returns that the
    /// question is pending (the answer then comes as a resumed turn). Below the agent CLIs'
    /// own tool timeouts.
    pub ask_wait_secs: u32,
    /// Keep the graph scheduler on: a task that becomes ready starts by itself.
    pub auto_run: bool,
    /// When a task counts as finished for its dependants.
    pub chain_on: ChainOn,
    /// How `merge` puts a run's result into the project branch.
    pub merge_style: MergeStyle,
    /// The longest one check may run before it is stopped and fails.
    pub verify_timeout_secs: u32,
    /// Named checks (`verify.NAME=`), run in this order after the unnamed `verify` command.
    pub checks: Vec<crate::check::Check>,
    /// How many times an agent whose work failed the checks is told the failures and tries
    /// again (0: never).
    pub verify_retries: u32,
    /// An agent reviewer, the last check (`verify.review=agent`).
    pub reviewer: Option<crate::check::Reviewer>,
    /// Subtasks one orchestrate task's agent may create.
    pub max_subtasks: u32,
    /// Tokens one orchestration (its own runs and its subtasks') may use before nothing new
    /// starts and a person decides whether it goes on; `None`: no budget.
    pub orchestrate_budget_tokens: Option<u64>,
    /// How deep orchestrate tasks may nest: 1, subtasks may not orchestrate.
    pub orchestrate_depth: u32,
}

impl Default for Workflow {
    fn default() -> Self {
        Self {
            image: ImageChoice::Default,
            setup_command: None,
            verify_command: None,
            runtime: Runtime::ClaudeCode,
            model: None,
            env: BTreeMap::new(),
            secret_names: Vec::new(),
            limits: ResourceLimits::default(),
            network: NetworkPolicy::Allowlist,
            allow_hosts: Vec::new(),
            provider_tools: false,
            budget_tokens: None,
            max_concurrent_runs: 4,
            retention: Retention::default(),
            sandbox: SandboxKind::Docker,
            build_network: NetworkPolicy::Bridge,
            inactivity_timeout_secs: 30 * 60,
            agent_permissions: AgentPermissions::Auto,
            max_file_mib: 50,
            agent_tasks: AgentTasks::Propose,
            agent_task_limit: 20,
            ask_wait_secs: 50,
            auto_run: false,
            chain_on: ChainOn::Success,
            merge_style: MergeStyle::Merge,
            verify_timeout_secs: 10 * 60,
            checks: Vec::new(),
            verify_retries: 2,
            reviewer: None,
            max_subtasks: 12,
            orchestrate_budget_tokens: None,
            orchestrate_depth: 1,
        }
    }
}

impl Workflow {
    /// Every check a run's result goes through, in order: the unnamed `verify` command first,
    /// then the named ones.
    pub fn all_checks(&self) -> Vec<crate::check::Check> {
        let unnamed = self
            .verify_command
            .iter()
            .map(|command| crate::check::Check {
                name: crate::check::UNNAMED.to_string(),
                command: command.clone(),
            });
        unnamed.chain(self.checks.iter().cloned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_rows_missing_new_fields_still_load() {
        let old = r#"{"runtime":"codex","network":"host"}"#;
        let wf: Workflow = serde_json::from_str(old).expect("loads");
        assert_eq!(wf.runtime, Runtime::Codex);
        assert_eq!(wf.network, NetworkPolicy::Host);
        assert_eq!(wf.limits, ResourceLimits::default());
        assert_eq!(wf.retention.keep_runs, 20);
    }
}
