//! `key=value` editing of a project's workflow, shared by the CLI (`corral project set`) and any
//! other text front end. An empty value clears an optional setting.

use crate::project::{
    AgentPermissions, ChainOn, ImageChoice, NetworkPolicy, SandboxKind, Workflow,
};
use crate::validate::{self, ValidationError};

/// Every key `Workflow::set` accepts, with what its value means. `env.<NAME>` sets one
/// environment variable.
pub const SETTING_KEYS: [(&str, &str); 27] = [
    (
        "path",
        "the repository's folder, when it moved (a project added by path)",
    ),
    (
        "base-image",
        "image Corral builds its agent image from (empty: default)",
    ),
    ("agent-image", "ready image used as is (empty: default)"),
    (
        "dockerfile",
        "Dockerfile in the repository to build the run image from, e.g. .devcontainer/Dockerfile (empty: default)",
    ),
    (
        "setup",
        "command run once in each new run's container (empty: none)",
    ),
    ("verify", "command that checks a run's result (empty: none)"),
    ("runtime", "default agent runtime"),
    ("model", "default model (empty: the runtime's default)"),
    (
        "agent-permissions",
        "auto (the default: bypass in a container, which is the boundary, edits in the local sandbox) | edits (agents may edit files, and ask for the rest) | bypass (agents may do anything without asking)",
    ),
    (
        "network",
        "allowlist (the default: no network; the model API through Corral's gateway, which adds the key outside the sandbox, and allow-hosts through its proxy) | none (nothing; not for agents) | host | bridge (the whole network: the API key then enters the sandbox)",
    ),
    (
        "allow-hosts",
        "comma-separated hosts the sandbox may reach with network=allowlist: names, *.suffix or addresses, e.g. registry.npmjs.org,*.pythonhosted.org (empty: none)",
    ),
    (
        "provider-tools",
        "on | off: keep provider-side tools (web search and fetch run by the provider, remote MCP servers) in model requests; they reach the internet past the allowlist (default off)",
    ),
    (
        "budget-tokens",
        "tokens a run may use before its model calls are refused and it fails, e.g. 2000000 (empty or off: no budget)",
    ),
    (
        "build-network",
        "network of a Dockerfile build: none | host | bridge (default bridge; a build cannot use the gateway)",
    ),
    (
        "sandbox",
        "docker | local (local runs commands on this machine as you: NOT isolated)",
    ),
    ("memory", "memory limit, e.g. 4g, 512m (MiB when no unit)"),
    ("cpus", "CPU limit, e.g. 2 or 1.5"),
    ("pids", "process limit"),
    ("max-runs", "runs of this project at once"),
    (
        "auto-run",
        "on | off: keep the graph running, so a task starts by itself once the tasks it runs after are finished (default off)",
    ),
    (
        "chain-on",
        "success | merge: a task is finished for the tasks after it when its run succeeded, or only once its result is merged into the project branch (default success)",
    ),
    (
        "inactivity-timeout",
        "stop a task's command or agent silent for this long, e.g. 30m, 90s, 2h (default 30m)",
    ),
    (
        "max-file-size",
        "files bigger than this are left out of a run's commit, e.g. 50m, 1g (default 50m)",
    ),
    ("retention-runs", "finished checkouts to keep"),
    (
        "retention-days",
        "keep checkouts younger than this many days",
    ),
    (
        "secrets",
        "comma-separated secret names (values live in the OS keychain)",
    ),
    (
        "env.<NAME>",
        "environment variable for runs (empty: remove)",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error("unknown setting `{key}`; valid settings: {valid}")]
    UnknownKey { key: String, valid: String },
    #[error("bad value for `{key}`: {source}")]
    Invalid {
        key: String,
        #[source]
        source: ValidationError,
    },
}

fn valid_keys() -> String {
    SETTING_KEYS
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(", ")
}

fn optional(value: &str) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Parses a memory size: `4g`, `512m`, `2048` (MiB), `1.5g`.
fn parse_memory_mib(value: &str) -> Result<u64, ValidationError> {
    parse_size_mib("memory", value, validate::MEMORY_MIB_RANGE)
}

/// Parses a size in MiB (`4g`, `512m`, `2048`, `1.5g`) for `field`, within `range`.
fn parse_size_mib(
    field: &'static str,
    value: &str,
    range: (u64, u64),
) -> Result<u64, ValidationError> {
    let bad = || ValidationError::BadValue {
        field,
        given: value.to_string(),
        expected: "a size such as 4g, 512m or 2048 (MiB)",
    };
    let v = value.trim().to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let (number, factor) = match v.chars().last() {
        Some('g') => (&v[..v.len() - 1], 1024.0),
        Some('m') => (&v[..v.len() - 1], 1.0),
        Some('t') => (&v[..v.len() - 1], 1024.0 * 1024.0),
        _ => (v, 1.0),
    };
    let n: f64 = number.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    // A float cast saturates: a huge number becomes u64::MAX, which in_range refuses.
    #[allow(clippy::cast_possible_truncation)]
    let mib = (n * factor).round() as u64;
    validate::in_range(field, mib, range)
}

fn parse_cpu_millis(value: &str) -> Result<u32, ValidationError> {
    let bad = || ValidationError::BadValue {
        field: "cpus",
        given: value.to_string(),
        expected: "a number of CPUs such as 2 or 1.5",
    };
    let n: f64 = value.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    // A float cast saturates: a huge number becomes u32::MAX, which in_range refuses.
    #[allow(clippy::cast_possible_truncation)]
    let millis = (n * 1000.0).round() as u32;
    validate::in_range("cpus (thousandths)", millis, validate::CPU_MILLIS_RANGE)
}

fn parse_u32(field: &'static str, value: &str, range: (u32, u32)) -> Result<u32, ValidationError> {
    let n: u32 = value
        .trim()
        .parse()
        .map_err(|_| ValidationError::BadValue {
            field,
            given: value.to_string(),
            expected: "a whole number",
        })?;
    validate::in_range(field, n, range)
}

/// Parses a duration: `90s`, `30m`, `2h`, or seconds without a unit.
fn parse_duration_secs(value: &str) -> Result<u32, ValidationError> {
    let bad = || ValidationError::BadValue {
        field: "inactivity-timeout",
        given: value.to_string(),
        expected: "a duration such as 90s, 30m or 2h",
    };
    let v = value.trim().to_ascii_lowercase();
    let (number, factor) = match v.chars().last() {
        Some('s') => (&v[..v.len() - 1], 1),
        Some('m') => (&v[..v.len() - 1], 60),
        Some('h') => (&v[..v.len() - 1], 3600),
        _ => (v.as_str(), 1),
    };
    let secs = number
        .trim()
        .parse::<u32>()
        .map_err(|_| bad())?
        .checked_mul(factor)
        .ok_or_else(bad)?;
    validate::in_range("inactivity-timeout", secs, validate::INACTIVITY_SECS_RANGE)?;
    Ok(secs)
}

fn parse_sandbox(value: &str) -> Result<SandboxKind, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "docker" => Ok(SandboxKind::Docker),
        "local" => Ok(SandboxKind::Local),
        _ => Err(ValidationError::BadValue {
            field: "sandbox",
            given: value.to_string(),
            expected: "docker or local",
        }),
    }
}

fn parse_permissions(value: &str) -> Result<AgentPermissions, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(AgentPermissions::Auto),
        "edits" => Ok(AgentPermissions::Edits),
        "bypass" => Ok(AgentPermissions::Bypass),
        _ => Err(ValidationError::BadValue {
            field: "agent-permissions",
            given: value.to_string(),
            expected: "auto, edits or bypass",
        }),
    }
}

fn parse_on_off(field: &'static str, value: &str) -> Result<bool, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(ValidationError::BadValue {
            field,
            given: value.to_string(),
            expected: "on or off",
        }),
    }
}

fn parse_chain_on(value: &str) -> Result<ChainOn, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "success" => Ok(ChainOn::Success),
        "merge" => Ok(ChainOn::Merge),
        _ => Err(ValidationError::BadValue {
            field: "chain-on",
            given: value.to_string(),
            expected: "success or merge",
        }),
    }
}

fn parse_network(value: &str) -> Result<NetworkPolicy, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "allowlist" => Ok(NetworkPolicy::Allowlist),
        "none" => Ok(NetworkPolicy::None),
        "host" => Ok(NetworkPolicy::Host),
        "bridge" => Ok(NetworkPolicy::Bridge),
        _ => Err(ValidationError::BadValue {
            field: "network",
            given: value.to_string(),
            expected: "one of allowlist, none, host, bridge",
        }),
    }
}

fn parse_build_network(value: &str) -> Result<NetworkPolicy, ValidationError> {
    match parse_network(value) {
        Ok(NetworkPolicy::Allowlist) | Err(_) => Err(ValidationError::BadValue {
            field: "build-network",
            given: value.to_string(),
            expected: "one of none, host, bridge (a Dockerfile build cannot use the gateway)",
        }),
        Ok(policy) => Ok(policy),
    }
}

/// `a.example,*.example.org,10.0.0.5`: names (letters, digits, `-`, `.`), `*.suffix`, or
/// addresses.
fn parse_allow_hosts(value: &str) -> Result<Vec<String>, ValidationError> {
    let mut hosts = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let name = entry.strip_prefix("*.").unwrap_or(entry);
        let address = entry
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok();
        let valid_name = !name.is_empty()
            && name.len() <= 253
            && !name.starts_with(['.', '-'])
            && !name.ends_with('-')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !address && !valid_name {
            return Err(ValidationError::BadValue {
                field: "allow-hosts",
                given: entry.to_string(),
                expected: "host names, *.suffix or addresses, separated by commas",
            });
        }
        let entry = entry.to_ascii_lowercase();
        if !hosts.contains(&entry) {
            hosts.push(entry);
        }
    }
    Ok(hosts)
}

fn parse_budget(value: &str) -> Result<Option<u64>, ValidationError> {
    let v = value.trim().to_ascii_lowercase().replace('_', "");
    if v.is_empty() || v == "off" {
        return Ok(None);
    }
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(ValidationError::BadValue {
            field: "budget-tokens",
            given: value.to_string(),
            expected: "a number of tokens, or off",
        }),
    }
}

impl Workflow {
    /// Applies one `key=value` setting. On error the workflow is unchanged.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SettingError> {
        let invalid = |source| SettingError::Invalid {
            key: key.to_string(),
            source,
        };
        if let Some(name) = key.strip_prefix("env.") {
            validate::env_name(name).map_err(invalid)?;
            if value.is_empty() {
                self.env.remove(name);
            } else {
                self.env.insert(name.to_string(), value.to_string());
            }
            return Ok(());
        }
        match key {
            "base-image" => {
                self.image = optional(value)
                    .map_or(ImageChoice::Default, |image| ImageChoice::Base { image });
            }
            "agent-image" => {
                self.image = optional(value)
                    .map_or(ImageChoice::Default, |image| ImageChoice::Agent { image });
            }
            "dockerfile" => {
                self.image = match optional(value) {
                    None => ImageChoice::Default,
                    Some(path) => {
                        validate::repo_relative_path("dockerfile", &path).map_err(invalid)?;
                        ImageChoice::Dockerfile { path }
                    }
                };
            }
            "setup" => self.setup_command = optional(value),
            "verify" => self.verify_command = optional(value),
            "runtime" => self.runtime = value.parse().map_err(invalid)?,
            "model" => self.model = optional(value),
            "agent-permissions" => {
                self.agent_permissions = parse_permissions(value).map_err(invalid)?
            }
            "network" => self.network = parse_network(value).map_err(invalid)?,
            "allow-hosts" => self.allow_hosts = parse_allow_hosts(value).map_err(invalid)?,
            "provider-tools" => {
                self.provider_tools = parse_on_off("provider-tools", value).map_err(invalid)?
            }
            "budget-tokens" => self.budget_tokens = parse_budget(value).map_err(invalid)?,
            "build-network" => self.build_network = parse_build_network(value).map_err(invalid)?,
            "sandbox" => self.sandbox = parse_sandbox(value).map_err(invalid)?,
            "memory" => self.limits.memory_mib = parse_memory_mib(value).map_err(invalid)?,
            "cpus" => self.limits.cpu_millis = parse_cpu_millis(value).map_err(invalid)?,
            "pids" => {
                self.limits.pids =
                    parse_u32("pids", value, validate::PIDS_RANGE).map_err(invalid)?
            }
            "max-runs" => {
                self.max_concurrent_runs =
                    parse_u32("max-runs", value, validate::MAX_RUNS_RANGE).map_err(invalid)?
            }
            "auto-run" => self.auto_run = parse_on_off("auto-run", value).map_err(invalid)?,
            "chain-on" => self.chain_on = parse_chain_on(value).map_err(invalid)?,
            "inactivity-timeout" => {
                self.inactivity_timeout_secs = parse_duration_secs(value).map_err(invalid)?
            }
            "max-file-size" => {
                self.max_file_mib =
                    parse_size_mib("max-file-size", value, validate::MAX_FILE_MIB_RANGE)
                        .map_err(invalid)?
            }
            "retention-runs" => {
                self.retention.keep_runs =
                    parse_u32("retention-runs", value, validate::RETENTION_RUNS_RANGE)
                        .map_err(invalid)?
            }
            "retention-days" => {
                self.retention.keep_days =
                    parse_u32("retention-days", value, validate::RETENTION_DAYS_RANGE)
                        .map_err(invalid)?
            }
            "secrets" => {
                let names: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                for name in &names {
                    validate::env_name(name).map_err(invalid)?;
                }
                self.secret_names = names;
            }
            _ => {
                return Err(SettingError::UnknownKey {
                    key: key.to_string(),
                    valid: valid_keys(),
                });
            }
        }
        Ok(())
    }

    /// Checks every field of a workflow built directly (not through `set`), e.g. by the UI.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match &self.image {
            ImageChoice::Base { image } | ImageChoice::Agent { image } => {
                validate::command("image", image)?;
            }
            ImageChoice::Dockerfile { path } => validate::repo_relative_path("dockerfile", path)?,
            ImageChoice::Default => {}
        }
        if let Some(setup) = &self.setup_command {
            validate::command("setup command", setup)?;
        }
        if let Some(verify) = &self.verify_command {
            validate::command("verify command", verify)?;
        }
        for name in self.env.keys().chain(self.secret_names.iter()) {
            validate::env_name(name)?;
        }
        parse_allow_hosts(&self.allow_hosts.join(","))?;
        if self.build_network == NetworkPolicy::Allowlist {
            parse_build_network("allowlist")?;
        }
        validate::in_range(
            "memory (MiB)",
            self.limits.memory_mib,
            validate::MEMORY_MIB_RANGE,
        )?;
        validate::in_range(
            "cpus (thousandths)",
            self.limits.cpu_millis,
            validate::CPU_MILLIS_RANGE,
        )?;
        validate::in_range("pids", self.limits.pids, validate::PIDS_RANGE)?;
        validate::in_range(
            "max-file-size (MiB)",
            self.max_file_mib,
            validate::MAX_FILE_MIB_RANGE,
        )?;
        validate::in_range(
            "max-runs",
            self.max_concurrent_runs,
            validate::MAX_RUNS_RANGE,
        )?;
        validate::in_range(
            "retention-runs",
            self.retention.keep_runs,
            validate::RETENTION_RUNS_RANGE,
        )?;
        validate::in_range(
            "retention-days",
            self.retention.keep_days,
            validate::RETENTION_DAYS_RANGE,
        )?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "settings_keys_tests.rs"]
mod tests;
