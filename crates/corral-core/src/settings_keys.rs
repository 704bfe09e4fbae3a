//! `key=value` editing of a project's workflow, shared by the CLI (`corral project set`) and any
//! other text front end. An empty value clears an optional setting.

use crate::project::{AgentPermissions, ImageChoice, NetworkPolicy, SandboxKind, Workflow};
use crate::validate::{self, ValidationError};

/// Every key `Workflow::set` accepts, with what its value means. `env.<NAME>` sets one
/// environment variable.
pub const SETTING_KEYS: [(&str, &str); 22] = [
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
        "edits (agents may edit files; the default) | bypass (agents may do anything without asking; the container is the boundary)",
    ),
    ("network", "none | host | bridge"),
    (
        "build-network",
        "network of a Dockerfile build: none | host | bridge (default bridge)",
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
        "edits" => Ok(AgentPermissions::Edits),
        "bypass" => Ok(AgentPermissions::Bypass),
        _ => Err(ValidationError::BadValue {
            field: "agent-permissions",
            given: value.to_string(),
            expected: "edits or bypass",
        }),
    }
}

fn parse_network(value: &str) -> Result<NetworkPolicy, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(NetworkPolicy::None),
        "host" => Ok(NetworkPolicy::Host),
        "bridge" => Ok(NetworkPolicy::Bridge),
        _ => Err(ValidationError::BadValue {
            field: "network",
            given: value.to_string(),
            expected: "one of none, host, bridge",
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
            "build-network" => self.build_network = parse_network(value).map_err(invalid)?,
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
mod tests {
    use super::*;
    use crate::runtime::Runtime;

    #[test]
    fn sets_every_documented_key() {
        let mut wf = Workflow::default();
        let pairs = [
            ("base-image", "debian:bookworm-slim"),
            ("setup", "npm ci"),
            ("verify", "npm test"),
            ("runtime", "codex"),
            ("model", "gpt-5"),
            ("network", "host"),
            ("sandbox", "local"),
            ("memory", "1.5g"),
            ("cpus", "1.5"),
            ("pids", "256"),
            ("max-runs", "3"),
            ("retention-runs", "5"),
            ("retention-days", "2"),
            ("secrets", "OPENAI_API_KEY, GH_TOKEN"),
            ("env.RUST_LOG", "debug"),
        ];
        for (k, v) in pairs {
            wf.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
        assert_eq!(
            wf.image,
            ImageChoice::Base {
                image: "debian:bookworm-slim".into()
            }
        );
        assert_eq!(wf.setup_command.as_deref(), Some("npm ci"));
        assert_eq!(wf.verify_command.as_deref(), Some("npm test"));
        assert_eq!(wf.runtime, Runtime::Codex);
        assert_eq!(wf.model.as_deref(), Some("gpt-5"));
        assert_eq!(wf.network, NetworkPolicy::Host);
        assert_eq!(wf.sandbox, SandboxKind::Local);
        assert!(wf.set("sandbox", "chroot").is_err());
        wf.set("agent-permissions", "bypass").expect("a mode");
        assert_eq!(wf.agent_permissions, AgentPermissions::Bypass);
        assert!(wf.set("agent-permissions", "yolo").is_err());
        wf.set("max-file-size", "1g").expect("a size");
        assert_eq!(wf.max_file_mib, 1024);
        assert!(wf.set("max-file-size", "0").is_err());
        assert_eq!(Workflow::default().max_file_mib, 50);
        wf.set("inactivity-timeout", "2m").expect("a duration");
        assert_eq!(wf.inactivity_timeout_secs, 120);
        assert!(wf.set("inactivity-timeout", "0").is_err());
        assert!(wf.set("inactivity-timeout", "soon").is_err());
        wf.set("dockerfile", ".devcontainer/Dockerfile")
            .expect("a repository path");
        assert_eq!(
            wf.image,
            ImageChoice::Dockerfile {
                path: ".devcontainer/Dockerfile".into()
            }
        );
        assert!(wf.set("dockerfile", "../outside/Dockerfile").is_err());
        assert!(wf.set("dockerfile", "/etc/Dockerfile").is_err());
        assert_eq!(wf.limits.memory_mib, 1536);
        assert_eq!(wf.limits.cpu_millis, 1500);
        assert_eq!(wf.limits.pids, 256);
        assert_eq!(wf.max_concurrent_runs, 3);
        assert_eq!(wf.retention.keep_runs, 5);
        assert_eq!(wf.retention.keep_days, 2);
        assert_eq!(wf.secret_names, vec!["OPENAI_API_KEY", "GH_TOKEN"]);
        assert_eq!(wf.env.get("RUST_LOG").map(String::as_str), Some("debug"));
        assert!(wf.validate().is_ok());

        wf.set("agent-image", "me/agent:1").expect("agent image");
        assert_eq!(
            wf.image,
            ImageChoice::Agent {
                image: "me/agent:1".into()
            }
        );
        wf.set("agent-image", "").expect("clear");
        assert_eq!(wf.image, ImageChoice::Default);
        wf.set("env.RUST_LOG", "").expect("remove env");
        assert!(wf.env.is_empty());
        wf.set("verify", "").expect("clear verify");
        assert_eq!(wf.verify_command, None);
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory_mib("4g"), Ok(4096));
        assert_eq!(parse_memory_mib("512M"), Ok(512));
        assert_eq!(parse_memory_mib("2048"), Ok(2048));
        assert_eq!(parse_memory_mib("1GB"), Ok(1024));
        assert!(parse_memory_mib("lots").is_err());
        assert!(parse_memory_mib("1m").is_err(), "below the 64 MiB floor");
        assert!(parse_memory_mib("-1g").is_err());
    }

    #[test]
    fn an_unknown_key_lists_the_valid_ones_and_changes_nothing() {
        let mut wf = Workflow::default();
        let err = wf.set("colour", "blue").expect_err("unknown");
        let msg = err.to_string();
        assert!(msg.contains("unknown setting `colour`"), "{msg}");
        assert!(
            msg.contains("base-image") && msg.contains("env.<NAME>"),
            "{msg}"
        );
        assert_eq!(wf, Workflow::default());
    }

    #[test]
    fn bad_values_are_refused_and_change_nothing() {
        let mut wf = Workflow::default();
        for (k, v) in [
            ("network", "wifi"),
            ("cpus", "many"),
            ("cpus", "0"),
            ("pids", "-3"),
            ("max-runs", "0"),
            ("runtime", "gpt"),
            ("env.1BAD", "x"),
            ("secrets", "OK,NOT OK"),
        ] {
            assert!(wf.set(k, v).is_err(), "{k}={v} must fail");
        }
        assert_eq!(wf, Workflow::default());
    }
}
