//! Projects and their workflow settings.

use corral_core::{
    AgentPermissions, AgentTasks, ChainOn, ImageChoice, MergeStyle, NetworkPolicy, Project,
    RepoSource, ResourceLimits, Retention, Runtime, SandboxKind, Workflow,
};
use serde::{Deserialize, Serialize};
use specta::Type;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeDto {
    ClaudeCode,
    Codex,
    Gemini,
    Opencode,
    Aider,
    Cursor,
    Acp,
    Custom,
}

impl From<Runtime> for RuntimeDto {
    fn from(r: Runtime) -> Self {
        match r {
            Runtime::ClaudeCode => RuntimeDto::ClaudeCode,
            Runtime::Codex => RuntimeDto::Codex,
            Runtime::Gemini => RuntimeDto::Gemini,
            Runtime::Opencode => RuntimeDto::Opencode,
            Runtime::Aider => RuntimeDto::Aider,
            Runtime::Cursor => RuntimeDto::Cursor,
            Runtime::Acp => RuntimeDto::Acp,
            Runtime::Custom => RuntimeDto::Custom,
        }
    }
}

impl From<RuntimeDto> for Runtime {
    fn from(r: RuntimeDto) -> Self {
        match r {
            RuntimeDto::ClaudeCode => Runtime::ClaudeCode,
            RuntimeDto::Codex => Runtime::Codex,
            RuntimeDto::Gemini => Runtime::Gemini,
            RuntimeDto::Opencode => Runtime::Opencode,
            RuntimeDto::Aider => Runtime::Aider,
            RuntimeDto::Cursor => Runtime::Cursor,
            RuntimeDto::Acp => Runtime::Acp,
            RuntimeDto::Custom => Runtime::Custom,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RepoSourceDto {
    Local { path: String },
    Remote { url: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageDto {
    Default,
    Base {
        image: String,
    },
    Agent {
        image: String,
    },
    /// A Dockerfile in the repository, relative to its root.
    Dockerfile {
        path: String,
    },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum NetworkDto {
    /// No network; the model API through Corral's gateway, other hosts from the allowlist.
    Allowlist,
    None,
    Host,
    Bridge,
}

/// `local` runs steps as host processes: NOT isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SandboxDto {
    Docker,
    Local,
}

impl From<SandboxKind> for SandboxDto {
    fn from(k: SandboxKind) -> Self {
        match k {
            SandboxKind::Docker => SandboxDto::Docker,
            SandboxKind::Local => SandboxDto::Local,
        }
    }
}

impl From<SandboxDto> for SandboxKind {
    fn from(k: SandboxDto) -> Self {
        match k {
            SandboxDto::Docker => SandboxKind::Docker,
            SandboxDto::Local => SandboxKind::Local,
        }
    }
}

/// What a project's agents may do without asking: `auto` (the default), `edits`, `bypass`, or
/// `ask` (anything beyond edits is asked of a person in the inbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum AgentPermissionsDto {
    /// Bypass in a container, edits in the local sandbox.
    Auto,
    Edits,
    Bypass,
    Ask,
}

impl From<AgentPermissions> for AgentPermissionsDto {
    fn from(p: AgentPermissions) -> Self {
        match p {
            AgentPermissions::Auto => AgentPermissionsDto::Auto,
            AgentPermissions::Edits => AgentPermissionsDto::Edits,
            AgentPermissions::Bypass => AgentPermissionsDto::Bypass,
            AgentPermissions::Ask => AgentPermissionsDto::Ask,
        }
    }
}

impl From<AgentPermissionsDto> for AgentPermissions {
    fn from(p: AgentPermissionsDto) -> Self {
        match p {
            AgentPermissionsDto::Auto => AgentPermissions::Auto,
            AgentPermissionsDto::Edits => AgentPermissions::Edits,
            AgentPermissionsDto::Bypass => AgentPermissions::Bypass,
            AgentPermissionsDto::Ask => AgentPermissions::Ask,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct EnvVarDto {
    pub name: String,
    pub value: String,
}

/// Every workflow setting of a project, as the settings form edits it.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct WorkflowDto {
    pub image: ImageDto,
    pub setup_command: Option<String>,
    pub verify_command: Option<String>,
    pub runtime: RuntimeDto,
    pub model: Option<String>,
    pub env: Vec<EnvVarDto>,
    pub secret_names: Vec<String>,
    pub memory_mib: u32,
    pub cpus: f64,
    pub pids: u32,
    pub network: NetworkDto,
    /// Hosts reachable through the gateway's proxy with `network=allowlist`.
    pub allow_hosts: Vec<String>,
    /// Keep provider-side tools (web search/fetch by the provider) in model requests.
    pub provider_tools: bool,
    /// Tokens a run may use; `None`: no budget.
    pub budget_tokens: Option<f64>,
    /// The network of a Dockerfile build's RUN steps.
    pub build_network: NetworkDto,
    pub sandbox: SandboxDto,
    pub max_concurrent_runs: u32,
    pub retention_runs: u32,
    pub retention_days: u32,
    /// Stop a task's command or agent that prints nothing for this long.
    pub inactivity_timeout_secs: u32,
    pub agent_permissions: AgentPermissionsDto,
    /// Files bigger than this (MiB) are left out of a run's commit.
    pub max_file_mib: u32,
    /// Keep the graph running: a task starts by itself once it is ready.
    pub auto_run: bool,
    /// When a task counts as finished for the tasks after it.
    pub chain_on: ChainOn,
    /// How Merge puts a run's result into the project branch.
    pub merge_style: MergeStyle,
    /// The longest one check may run before it fails (seconds).
    pub verify_timeout_secs: u32,
    /// Named checks, run in order after the verify command.
    pub checks: Vec<corral_core::Check>,
    /// Times an agent whose work failed the checks is sent back with the failures.
    pub verify_retries: u32,
    /// An agent reviewer as the last check; `None`: off.
    pub reviewer: Option<ReviewerDto>,
    /// Subtasks one orchestrate task's agent may create.
    pub max_subtasks: u32,
    /// Tokens one orchestration may use before a person decides; `None`: no budget.
    pub orchestrate_budget_tokens: Option<f64>,
    /// How deep orchestrate tasks may nest (1: subtasks may not orchestrate).
    pub orchestrate_depth: u32,
    /// What agents may do with the project's tasks (MCP create_task, add_dependency).
    pub agent_tasks: AgentTasksDto,
    /// Tasks one run's agent may create.
    pub agent_task_limit: u32,
    /// How long an agent's question waits in its tool call (seconds, 1 to 55).
    pub ask_wait_secs: u32,
}

/// The agent reviewer: its runtime (`None`: the task's) and model (`None`: its default).
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ReviewerDto {
    pub runtime: Option<RuntimeDto>,
    pub model: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum AgentTasksDto {
    /// Tasks agents create wait for a person's approval.
    Propose,
    Allow,
    Deny,
}

impl From<AgentTasks> for AgentTasksDto {
    fn from(a: AgentTasks) -> Self {
        match a {
            AgentTasks::Propose => AgentTasksDto::Propose,
            AgentTasks::Allow => AgentTasksDto::Allow,
            AgentTasks::Deny => AgentTasksDto::Deny,
        }
    }
}

impl From<AgentTasksDto> for AgentTasks {
    fn from(a: AgentTasksDto) -> Self {
        match a {
            AgentTasksDto::Propose => AgentTasks::Propose,
            AgentTasksDto::Allow => AgentTasks::Allow,
            AgentTasksDto::Deny => AgentTasks::Deny,
        }
    }
}

fn network_dto(n: NetworkPolicy) -> NetworkDto {
    match n {
        NetworkPolicy::Allowlist => NetworkDto::Allowlist,
        NetworkPolicy::None => NetworkDto::None,
        NetworkPolicy::Host => NetworkDto::Host,
        NetworkPolicy::Bridge => NetworkDto::Bridge,
    }
}

fn network_policy(n: NetworkDto) -> NetworkPolicy {
    match n {
        NetworkDto::Allowlist => NetworkPolicy::Allowlist,
        NetworkDto::None => NetworkPolicy::None,
        NetworkDto::Host => NetworkPolicy::Host,
        NetworkDto::Bridge => NetworkPolicy::Bridge,
    }
}

fn blank_to_none(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl From<&Workflow> for WorkflowDto {
    fn from(w: &Workflow) -> Self {
        WorkflowDto {
            image: match &w.image {
                ImageChoice::Default => ImageDto::Default,
                ImageChoice::Base { image } => ImageDto::Base {
                    image: image.clone(),
                },
                ImageChoice::Agent { image } => ImageDto::Agent {
                    image: image.clone(),
                },
                ImageChoice::Dockerfile { path } => ImageDto::Dockerfile { path: path.clone() },
            },
            setup_command: w.setup_command.clone(),
            verify_command: w.verify_command.clone(),
            runtime: w.runtime.into(),
            model: w.model.clone(),
            env: w
                .env
                .iter()
                .map(|(k, v)| EnvVarDto {
                    name: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            secret_names: w.secret_names.clone(),
            memory_mib: u32::try_from(w.limits.memory_mib).unwrap_or(u32::MAX),
            cpus: f64::from(w.limits.cpu_millis) / 1000.0,
            pids: w.limits.pids,
            network: network_dto(w.network),
            allow_hosts: w.allow_hosts.clone(),
            provider_tools: w.provider_tools,
            budget_tokens: w.budget_tokens.map(|b| b as f64),
            build_network: network_dto(w.build_network),
            sandbox: w.sandbox.into(),
            max_concurrent_runs: w.max_concurrent_runs,
            retention_runs: w.retention.keep_runs,
            retention_days: w.retention.keep_days,
            inactivity_timeout_secs: w.inactivity_timeout_secs,
            agent_permissions: w.agent_permissions.into(),
            max_file_mib: u32::try_from(w.max_file_mib).unwrap_or(u32::MAX),
            auto_run: w.auto_run,
            chain_on: w.chain_on,
            merge_style: w.merge_style,
            verify_timeout_secs: w.verify_timeout_secs,
            checks: w.checks.clone(),
            verify_retries: w.verify_retries,
            reviewer: w.reviewer.as_ref().map(|r| ReviewerDto {
                runtime: r.runtime.map(Into::into),
                model: r.model.clone(),
            }),
            max_subtasks: w.max_subtasks,
            orchestrate_budget_tokens: w.orchestrate_budget_tokens.map(|b| b as f64),
            orchestrate_depth: w.orchestrate_depth,
            agent_tasks: w.agent_tasks.into(),
            agent_task_limit: w.agent_task_limit,
            ask_wait_secs: w.ask_wait_secs,
        }
    }
}

impl WorkflowDto {
    /// The domain workflow; the engine validates it.
    pub fn into_workflow(self) -> Workflow {
        Workflow {
            image: match self.image {
                ImageDto::Default => ImageChoice::Default,
                ImageDto::Base { image } => ImageChoice::Base {
                    image: image.trim().to_string(),
                },
                ImageDto::Agent { image } => ImageChoice::Agent {
                    image: image.trim().to_string(),
                },
                ImageDto::Dockerfile { path } => ImageChoice::Dockerfile {
                    path: path.trim().to_string(),
                },
            },
            setup_command: blank_to_none(self.setup_command),
            verify_command: blank_to_none(self.verify_command),
            runtime: self.runtime.into(),
            model: blank_to_none(self.model),
            env: self
                .env
                .into_iter()
                .map(|e| (e.name.trim().to_string(), e.value))
                .collect(),
            secret_names: self
                .secret_names
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            limits: ResourceLimits {
                memory_mib: u64::from(self.memory_mib),
                // Saturates: an absurd number of CPUs is refused by validation.
                #[allow(clippy::cast_possible_truncation)]
                cpu_millis: (self.cpus.max(0.0) * 1000.0).round() as u32,
                pids: self.pids,
            },
            network: network_policy(self.network),
            allow_hosts: self
                .allow_hosts
                .into_iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            provider_tools: self.provider_tools,
            // Whole tokens; a float cast saturates (a huge number is a huge budget).
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            budget_tokens: self
                .budget_tokens
                .filter(|b| b.is_finite() && *b >= 1.0)
                .map(|b| b.round() as u64),
            build_network: network_policy(self.build_network),
            inactivity_timeout_secs: self.inactivity_timeout_secs,
            agent_permissions: self.agent_permissions.into(),
            max_file_mib: u64::from(self.max_file_mib),
            sandbox: self.sandbox.into(),
            max_concurrent_runs: self.max_concurrent_runs,
            auto_run: self.auto_run,
            chain_on: self.chain_on,
            merge_style: self.merge_style,
            verify_timeout_secs: self.verify_timeout_secs,
            checks: self
                .checks
                .into_iter()
                .map(|c| corral_core::Check {
                    name: c.name.trim().to_string(),
                    command: c.command.trim().to_string(),
                })
                .filter(|c| !c.name.is_empty() || !c.command.is_empty())
                .collect(),
            verify_retries: self.verify_retries,
            reviewer: self.reviewer.map(|r| corral_core::check::Reviewer {
                runtime: r.runtime.map(Into::into),
                model: blank_to_none(r.model),
            }),
            max_subtasks: self.max_subtasks,
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            orchestrate_budget_tokens: self
                .orchestrate_budget_tokens
                .filter(|b| b.is_finite() && *b >= 1.0)
                .map(|b| b.round() as u64),
            orchestrate_depth: self.orchestrate_depth,
            agent_tasks: self.agent_tasks.into(),
            agent_task_limit: self.agent_task_limit,
            ask_wait_secs: self.ask_wait_secs,
            retention: Retention {
                keep_runs: self.retention_runs,
                keep_days: self.retention_days,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ProjectDto {
    pub id: String,
    pub name: String,
    pub source: RepoSourceDto,
    pub default_branch: Option<String>,
    pub workflow: WorkflowDto,
    pub created_at: f64,
}

impl From<&Project> for ProjectDto {
    fn from(p: &Project) -> Self {
        ProjectDto {
            id: p.id.to_string(),
            name: p.name.clone(),
            source: match &p.source {
                RepoSource::Local { path } => RepoSourceDto::Local {
                    path: path.display().to_string(),
                },
                RepoSource::Remote { url } => RepoSourceDto::Remote { url: url.clone() },
            },
            default_branch: p.default_branch.clone(),
            workflow: (&p.workflow).into(),
            created_at: p.created_at.0 as f64,
        }
    }
}
