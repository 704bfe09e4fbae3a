//! A project: a git repository plus the workflow settings every run of its tasks uses.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ids::ProjectId;
use crate::time::Timestamp;

pub use crate::workflow::Workflow;

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
}
