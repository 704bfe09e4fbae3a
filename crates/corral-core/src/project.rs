//! A project: a git repository plus the workflow settings every run of its tasks uses.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ids::ProjectId;
use crate::runtime::Runtime;
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub source: RepoSource,
    /// The branch runs start from. For a URL project this is learned when it is first cloned.
    pub default_branch: Option<String>,
    pub workflow: Workflow,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where a project's repository lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RepoSource {
    /// The user's own repository on this machine. Corral never touches its working tree or index.
    Local { path: PathBuf },
    /// A remote repository, mirrored into the data dir before runs.
    Remote { url: String },
}

impl RepoSource {
    /// The last path component without `.git`: the default project name.
    pub fn default_name(&self) -> String {
        let raw = match self {
            RepoSource::Local { path } => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            RepoSource::Remote { url } => url
                .trim_end_matches('/')
                .rsplit(['/', ':'])
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        raw.strip_suffix(".git").unwrap_or(&raw).to_string()
    }

    pub fn describe(&self) -> String {
        match self {
            RepoSource::Local { path } => path.display().to_string(),
            RepoSource::Remote { url } => url.clone(),
        }
    }
}

/// Does `s` look like a git URL rather than a local path? Accepts scheme URLs and scp-like
/// `user@host:path`.
pub fn looks_like_git_url(s: &str) -> bool {
    const SCHEMES: [&str; 6] = [
        "https://",
        "http://",
        "ssh://",
        "git://",
        "file://",
        "git+ssh://",
    ];
    if SCHEMES.iter().any(|scheme| s.starts_with(scheme)) {
        return true;
    }
    // scp-like: user@host:path, with no slash before the colon.
    match (s.find('@'), s.find(':')) {
        (Some(at), Some(colon)) => at < colon && !s[..colon].contains('/') && colon + 1 < s.len(),
        _ => false,
    }
}

/// What the project's runs use as their container image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageChoice {
    /// Corral's agent image built on its default base.
    #[default]
    Default,
    /// Corral builds its agent image `FROM` this base image.
    Base { image: String },
    /// A ready image used as is (the agent CLIs must already be in it).
    Agent { image: String },
    /// Built from a Dockerfile in the repository (a path relative to its root), at the run's
    /// base commit; its folder is the build context.
    Dockerfile { path: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NetworkPolicy {
    /// No network interface but loopback; the model API through Corral's gateway (which adds
    /// the key outside the sandbox) and other hosts only when `allow_hosts` names them, through
    /// its proxy. The default.
    #[default]
    Allowlist,
    /// No network at all: only for tasks that need none (an agent needs its model API).
    None,
    /// The host's network namespace.
    Host,
    /// Docker's default bridge network.
    Bridge,
}

impl NetworkPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            NetworkPolicy::Allowlist => "allowlist",
            NetworkPolicy::None => "none",
            NetworkPolicy::Host => "host",
            NetworkPolicy::Bridge => "bridge",
        }
    }
}

/// When a task counts as finished for the tasks that run after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ChainOn {
    /// When its latest run succeeded (the default).
    #[default]
    Success,
    /// Only when its result is in the project branch (merged by Corral or by hand).
    Merge,
}

impl ChainOn {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChainOn::Success => "success",
            ChainOn::Merge => "merge",
        }
    }
}

/// How a succeeded run's result goes into the project branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum MergeStyle {
    /// A fast-forward when the branch has not moved, a merge commit when it has (the default).
    #[default]
    Merge,
    /// The run's work as one new commit on the branch.
    Squash,
    /// Only a fast-forward; refused when the branch has moved on.
    FfOnly,
}

impl MergeStyle {
    pub fn as_str(&self) -> &'static str {
        match self {
            MergeStyle::Merge => "merge",
            MergeStyle::Squash => "squash",
            MergeStyle::FfOnly => "ff-only",
        }
    }
}

/// Where a project's runs execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SandboxKind {
    /// One hardened Docker container per run.
    #[default]
    Docker,
    /// Host processes in the run's checkout, as the user: NOT isolated. For machines without
    /// Docker.
    Local,
}

impl SandboxKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SandboxKind::Docker => "docker",
            SandboxKind::Local => "local",
        }
    }

    /// Whether the run cannot reach the user's files, processes and credentials.
    pub fn is_isolated(&self) -> bool {
        matches!(self, SandboxKind::Docker)
    }
}

/// How much a project lets its coding agents do without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AgentPermissions {
    /// `Bypass` in a container that is the whole boundary (no network but Corral's gateway, no
    /// key inside); `Edits` anywhere else (the local sandbox, an open network, a key inside).
    /// The default.
    #[default]
    Auto,
    /// File edits in the checkout are allowed; commands follow the agent's own rules (Claude
    /// Code `acceptEdits`; Codex in its workspace-write sandbox where it can make one).
    Edits,
    /// Everything is allowed without asking (Claude Code `bypassPermissions`, Codex without
    /// approvals or sandbox): the run's container is the only boundary.
    Bypass,
    /// File edits are allowed; anything else the agent asks a person for in the inbox (allow
    /// once, allow for this run, deny), where its CLI has a headless hook for it (Claude Code,
    /// ACP agents through Corral's bridge); the others run as with `Edits`.
    Ask,
}

impl AgentPermissions {
    pub fn as_str(&self) -> &'static str {
        match self {
            AgentPermissions::Auto => "auto",
            AgentPermissions::Edits => "edits",
            AgentPermissions::Bypass => "bypass",
            AgentPermissions::Ask => "ask",
        }
    }
}

/// What a run's agent may do with its project's tasks through Corral's MCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AgentTasks {
    /// Tasks an agent creates wait for a person to approve them before they can run. The
    /// default.
    #[default]
    Propose,
    /// Tasks an agent creates are runnable at once.
    Allow,
    /// The task-creating tools are not offered.
    Deny,
}

impl AgentTasks {
    pub fn as_str(&self) -> &'static str {
        match self {
            AgentTasks::Propose => "propose",
            AgentTasks::Allow => "allow",
            AgentTasks::Deny => "deny",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLimits {
    pub memory_mib: u64,
    /// Thousandths of a CPU: 1500 is one and a half CPUs.
    pub cpu_millis: u32,
    pub pids: u32,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        Self {
            memory_mib: 4096,
            cpu_millis: 2000,
            pids: 1024,
        }
    }
}

/// How many finished runs' checkouts a project keeps: the newest `keep_runs`, and anything
/// younger than `keep_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub keep_runs: u32,
    pub keep_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep_runs: 20,
            keep_days: 7,
        }
    }
}

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
    fn default_names_come_from_the_last_component() {
        let local = RepoSource::Local {
            path: PathBuf::from("/home/me/my repo"),
        };
        assert_eq!(local.default_name(), "my repo");
        let https = RepoSource::Remote {
            url: "https://example.com/org/thing.git/".into(),
        };
        assert_eq!(https.default_name(), "thing");
        let scp = RepoSource::Remote {
            url: "git@example.com:thing.git".into(),
        };
        assert_eq!(scp.default_name(), "thing");
    }

    #[test]
    fn git_urls_are_told_from_paths() {
        for url in [
            "https://x.org/a.git",
            "ssh://git@x/a",
            "git@x.org:a/b.git",
            "file:///srv/a",
        ] {
            assert!(looks_like_git_url(url), "{url}");
        }
        for path in [
            "/tmp/repo",
            "./repo",
            "C:/x",
            "repo",
            "/tmp/a@b:c/d",
            "me@host:",
        ] {
            assert!(!looks_like_git_url(path), "{path}");
        }
    }

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
