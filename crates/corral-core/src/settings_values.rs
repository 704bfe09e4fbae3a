//! Parsing one setting's value (`4g`, `30m`, `on`, `allowlist`, `a.example,*.example.org`)
//! into what the workflow keeps, each with the error that names the setting.

use crate::project::{
    AgentPermissions, AgentTasks, ChainOn, MergeStyle, NetworkPolicy, SandboxKind,
};
use crate::validate::{self, ValidationError};

pub(crate) fn parse_memory_mib(value: &str) -> Result<u64, ValidationError> {
    parse_size_mib("memory", value, validate::MEMORY_MIB_RANGE)
}

/// Parses a size in MiB (`4g`, `512m`, `2048`, `1.5g`) for `field`, within `range`.
pub(crate) fn parse_size_mib(
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

pub(crate) fn parse_cpu_millis(value: &str) -> Result<u32, ValidationError> {
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

pub(crate) fn parse_u32(
    field: &'static str,
    value: &str,
    range: (u32, u32),
) -> Result<u32, ValidationError> {
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
pub(crate) fn parse_duration_secs(
    field: &'static str,
    value: &str,
    range: (u32, u32),
) -> Result<u32, ValidationError> {
    let bad = || ValidationError::BadValue {
        field,
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
    validate::in_range(field, secs, range)?;
    Ok(secs)
}

pub(crate) fn parse_sandbox(value: &str) -> Result<SandboxKind, ValidationError> {
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

pub(crate) fn parse_permissions(value: &str) -> Result<AgentPermissions, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(AgentPermissions::Auto),
        "edits" => Ok(AgentPermissions::Edits),
        "bypass" => Ok(AgentPermissions::Bypass),
        "ask" => Ok(AgentPermissions::Ask),
        _ => Err(ValidationError::BadValue {
            field: "agent-permissions",
            given: value.to_string(),
            expected: "auto, edits, bypass or ask",
        }),
    }
}

pub(crate) fn parse_agent_tasks(value: &str) -> Result<AgentTasks, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "propose" => Ok(AgentTasks::Propose),
        "allow" => Ok(AgentTasks::Allow),
        "deny" => Ok(AgentTasks::Deny),
        _ => Err(ValidationError::BadValue {
            field: "agent-tasks",
            given: value.to_string(),
            expected: "propose, allow or deny",
        }),
    }
}

pub(crate) fn parse_on_off(field: &'static str, value: &str) -> Result<bool, ValidationError> {
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

pub(crate) fn parse_chain_on(value: &str) -> Result<ChainOn, ValidationError> {
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

pub(crate) fn parse_merge_style(value: &str) -> Result<MergeStyle, ValidationError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "merge" => Ok(MergeStyle::Merge),
        "squash" => Ok(MergeStyle::Squash),
        "ff-only" | "ff_only" => Ok(MergeStyle::FfOnly),
        _ => Err(ValidationError::BadValue {
            field: "merge-style",
            given: value.to_string(),
            expected: "merge, squash or ff-only",
        }),
    }
}

pub(crate) fn parse_network(value: &str) -> Result<NetworkPolicy, ValidationError> {
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

pub(crate) fn parse_build_network(value: &str) -> Result<NetworkPolicy, ValidationError> {
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
pub(crate) fn parse_allow_hosts(value: &str) -> Result<Vec<String>, ValidationError> {
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

pub(crate) fn parse_budget(
    field: &'static str,
    value: &str,
) -> Result<Option<u64>, ValidationError> {
    let v = value.trim().to_ascii_lowercase().replace('_', "");
    if v.is_empty() || v == "off" {
        return Ok(None);
    }
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(ValidationError::BadValue {
            field,
            given: value.to_string(),
            expected: "a number of tokens, or off",
        }),
    }
}
