//! `key=value` editing of a project's workflow, shared by the CLI (`corral project set`) and any
//! other text front end. An empty value clears an optional setting.

use crate::project::{ImageChoice, NetworkPolicy, Workflow};
use crate::settings_values::{
    parse_agent_tasks, parse_allow_hosts, parse_budget, parse_build_network, parse_chain_on,
    parse_cpu_millis, parse_duration_secs, parse_memory_mib, parse_merge_style, parse_network,
    parse_on_off, parse_permissions, parse_sandbox, parse_size_mib, parse_u32,
};
use crate::validate::{self, ValidationError};

pub use crate::settings_docs::SETTING_KEYS;

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
        if let Some(rest) = key
            .strip_prefix("verify.review")
            .filter(|rest| rest.is_empty() || rest.starts_with('.'))
        {
            return self.set_reviewer(rest, value).map_err(invalid);
        }
        if let Some(name) = key.strip_prefix("verify.") {
            if !crate::check::valid_name(name) {
                return Err(invalid(ValidationError::BadValue {
                    field: "check name",
                    given: name.to_string(),
                    expected: "1 to 32 of a-z, 0-9, - and _, starting with a letter or digit \
                               (not `verify`, the unnamed check)",
                }));
            }
            match optional(value) {
                None => self.checks.retain(|c| c.name != name),
                Some(command) => match self.checks.iter_mut().find(|c| c.name == name) {
                    Some(check) => check.command = command,
                    None => self.checks.push(crate::check::Check {
                        name: name.to_string(),
                        command,
                    }),
                },
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
            "verify-timeout" => {
                self.verify_timeout_secs =
                    parse_duration_secs("verify-timeout", value, validate::VERIFY_SECS_RANGE)
                        .map_err(invalid)?
            }
            "verify-retries" => {
                self.verify_retries =
                    parse_u32("verify-retries", value, validate::VERIFY_RETRIES_RANGE)
                        .map_err(invalid)?
            }
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
            "budget-tokens" => {
                self.budget_tokens = parse_budget("budget-tokens", value).map_err(invalid)?
            }
            "agent-tasks" => self.agent_tasks = parse_agent_tasks(value).map_err(invalid)?,
            "agent-task-limit" => {
                self.agent_task_limit =
                    parse_u32("agent-task-limit", value, validate::AGENT_TASK_LIMIT_RANGE)
                        .map_err(invalid)?
            }
            "max-subtasks" => {
                self.max_subtasks = parse_u32("max-subtasks", value, validate::MAX_SUBTASKS_RANGE)
                    .map_err(invalid)?
            }
            "orchestrate-budget-tokens" => {
                self.orchestrate_budget_tokens =
                    parse_budget("orchestrate-budget-tokens", value).map_err(invalid)?
            }
            "orchestrate-depth" => {
                self.orchestrate_depth = parse_u32(
                    "orchestrate-depth",
                    value,
                    validate::ORCHESTRATE_DEPTH_RANGE,
                )
                .map_err(invalid)?
            }
            "ask-wait" => {
                self.ask_wait_secs =
                    parse_duration_secs("ask-wait", value, validate::ASK_WAIT_SECS_RANGE)
                        .map_err(invalid)?
            }
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
            "merge-style" => self.merge_style = parse_merge_style(value).map_err(invalid)?,
            "inactivity-timeout" => {
                self.inactivity_timeout_secs = parse_duration_secs(
                    "inactivity-timeout",
                    value,
                    validate::INACTIVITY_SECS_RANGE,
                )
                .map_err(invalid)?
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

    /// `verify.review` (`rest` empty), `.runtime` or `.model`.
    fn set_reviewer(&mut self, rest: &str, value: &str) -> Result<(), ValidationError> {
        let off = || ValidationError::BadValue {
            field: "verify.review",
            given: "off".into(),
            expected: "verify.review=agent first: the agent reviewer is off",
        };
        match rest {
            "" => match value.trim() {
                "" | "off" => self.reviewer = None,
                "agent" => {
                    self.reviewer.get_or_insert_with(Default::default);
                }
                other => {
                    return Err(ValidationError::BadValue {
                        field: "verify.review",
                        given: other.to_string(),
                        expected: "agent (or empty: off)",
                    });
                }
            },
            ".runtime" => {
                let runtime = match optional(value) {
                    None => None,
                    Some(r) => Some(r.parse::<crate::runtime::Runtime>()?),
                };
                if matches!(
                    runtime,
                    Some(crate::runtime::Runtime::Custom | crate::runtime::Runtime::Acp)
                ) {
                    return Err(ValidationError::BadValue {
                        field: "verify.review.runtime",
                        given: value.to_string(),
                        expected: "a coding agent's runtime (claude-code, codex, gemini, ...)",
                    });
                }
                self.reviewer.as_mut().ok_or_else(off)?.runtime = runtime;
            }
            ".model" => {
                let model = optional(value);
                if model.as_deref().is_some_and(|m| m.starts_with('-')) {
                    return Err(ValidationError::BadValue {
                        field: "verify.review.model",
                        given: value.to_string(),
                        expected: "a model name (not starting with -)",
                    });
                }
                self.reviewer.as_mut().ok_or_else(off)?.model = model;
            }
            _ => {
                return Err(ValidationError::BadValue {
                    field: "verify.review",
                    given: format!("verify.review{rest}"),
                    expected: "verify.review, verify.review.runtime or verify.review.model",
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
        for (i, check) in self.checks.iter().enumerate() {
            if !crate::check::valid_name(&check.name)
                || self.checks[..i].iter().any(|c| c.name == check.name)
            {
                return Err(ValidationError::BadValue {
                    field: "check name",
                    given: check.name.clone(),
                    expected: "a unique name of 1 to 32 of a-z, 0-9, - and _ (not `verify`)",
                });
            }
            validate::command("check command", &check.command)?;
        }
        if let Some(reviewer) = &self.reviewer
            && matches!(
                reviewer.runtime,
                Some(crate::runtime::Runtime::Custom | crate::runtime::Runtime::Acp)
            )
        {
            return Err(ValidationError::BadValue {
                field: "verify.review.runtime",
                given: reviewer.runtime.map(|r| r.to_string()).unwrap_or_default(),
                expected: "a coding agent's runtime (claude-code, codex, gemini, ...)",
            });
        }
        validate::in_range(
            "max-subtasks",
            self.max_subtasks,
            validate::MAX_SUBTASKS_RANGE,
        )?;
        validate::in_range(
            "orchestrate-depth",
            self.orchestrate_depth,
            validate::ORCHESTRATE_DEPTH_RANGE,
        )?;
        validate::in_range(
            "verify-retries",
            self.verify_retries,
            validate::VERIFY_RETRIES_RANGE,
        )?;
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
            "agent-task-limit",
            self.agent_task_limit,
            validate::AGENT_TASK_LIMIT_RANGE,
        )?;
        validate::in_range(
            "verify-timeout (seconds)",
            self.verify_timeout_secs,
            validate::VERIFY_SECS_RANGE,
        )?;
        validate::in_range(
            "ask-wait",
            self.ask_wait_secs,
            validate::ASK_WAIT_SECS_RANGE,
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
