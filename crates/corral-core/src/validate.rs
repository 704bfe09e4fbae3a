//! Input validation shared by every front end (CLI, desktop app, MCP). Each rule returns a typed
//! error whose message names the field, the problem and the allowed range.

pub const NAME_MAX_CHARS: usize = 200;
pub const PROMPT_MAX_BYTES: usize = 1024 * 1024;
pub const MEMORY_MIB_RANGE: (u64, u64) = (64, 1024 * 1024);
pub const CPU_MILLIS_RANGE: (u32, u32) = (100, 256_000);
pub const PIDS_RANGE: (u32, u32) = (16, 1_000_000);
pub const MAX_RUNS_RANGE: (u32, u32) = (1, 64);
pub const RETENTION_RUNS_RANGE: (u32, u32) = (0, 100_000);
pub const RETENTION_DAYS_RANGE: (u32, u32) = (0, 3650);
pub const MAX_ATTEMPTS_RANGE: (u32, u32) = (1, 20);
pub const INACTIVITY_SECS_RANGE: (u32, u32) = (1, 7 * 24 * 3600);
/// How long a project's checks may run: a second to a day.
pub const VERIFY_SECS_RANGE: (u32, u32) = (1, 24 * 3600);
/// How many times an agent may be sent back to fix what failed the checks.
pub const VERIFY_RETRIES_RANGE: (u32, u32) = (0, 10);
/// Subtasks one orchestrator may create.
pub const MAX_SUBTASKS_RANGE: (u32, u32) = (1, 100);
pub const ORCHESTRATE_DEPTH_RANGE: (u32, u32) = (1, 3);
pub const AGENT_TASK_LIMIT_RANGE: (u32, u32) = (0, 1000);
/// Below the shortest agent CLI tool timeout we know of (Codex: 60 s).
pub const ASK_WAIT_SECS_RANGE: (u32, u32) = (1, 55);
pub const MAX_FILE_MIB_RANGE: (u64, u64) = (1, 1024 * 1024);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is {chars} characters long; the limit is {max}")]
    TooLong {
        field: &'static str,
        chars: usize,
        max: usize,
    },
    #[error("the prompt is {bytes} bytes; the limit is {max} bytes (1 MiB)")]
    PromptTooLarge { bytes: usize, max: usize },
    #[error("{field} is {value}; it must be between {min} and {max}")]
    OutOfRange {
        field: &'static str,
        value: String,
        min: String,
        max: String,
    },
    #[error(
        "`{name}` is not a valid environment variable name (letters, digits and _, not starting with a digit)"
    )]
    BadEnvName { name: String },
    #[error("unknown runtime `{given}`; valid runtimes: {valid}")]
    UnknownRuntime { given: String, valid: String },
    #[error("`{given}` is not a valid {field}: {expected}")]
    BadValue {
        field: &'static str,
        given: String,
        expected: &'static str,
    },
    #[error("the custom command line is empty; give the program and its arguments")]
    EmptyCommand,
}

/// A display name: trimmed, 1 to 200 characters, no control characters.
pub fn name(field: &'static str, value: &str) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    let chars = trimmed.chars().count();
    if chars > NAME_MAX_CHARS {
        return Err(ValidationError::TooLong {
            field,
            chars,
            max: NAME_MAX_CHARS,
        });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::BadValue {
            field,
            given: trimmed.escape_debug().to_string(),
            expected: "a single line without control characters",
        });
    }
    Ok(trimmed.to_string())
}

/// A task prompt: at most 1 MiB. An empty prompt is allowed (a custom command needs none).
pub fn prompt(value: &str) -> Result<(), ValidationError> {
    if value.len() > PROMPT_MAX_BYTES {
        return Err(ValidationError::PromptTooLarge {
            bytes: value.len(),
            max: PROMPT_MAX_BYTES,
        });
    }
    Ok(())
}

/// A shell command line (setup, verify): when given, it must contain something to run.
pub fn command(field: &'static str, value: &str) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    Ok(trimmed.to_string())
}

/// A path inside the repository: relative, and never climbing out with `..`.
pub fn repo_relative_path(field: &'static str, value: &str) -> Result<(), ValidationError> {
    let path = std::path::Path::new(value.trim());
    let inside = !value.trim().is_empty()
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if inside {
        Ok(())
    } else {
        Err(ValidationError::BadValue {
            field,
            given: value.to_string(),
            expected: "a path relative to the repository root, without `..`",
        })
    }
}

/// An argument vector for the `custom` runtime.
pub fn argv(value: &[String]) -> Result<(), ValidationError> {
    match value.first() {
        Some(program) if !program.trim().is_empty() => Ok(()),
        _ => Err(ValidationError::EmptyCommand),
    }
}

pub fn env_name(name: &str) -> Result<(), ValidationError> {
    let mut chars = name.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ValidationError::BadEnvName {
            name: name.to_string(),
        })
    }
}

pub fn in_range<T: PartialOrd + ToString>(
    field: &'static str,
    value: T,
    (min, max): (T, T),
) -> Result<T, ValidationError> {
    if value < min || value > max {
        return Err(ValidationError::OutOfRange {
            field,
            value: value.to_string(),
            min: min.to_string(),
            max: max.to_string(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            name("title", "  Fix the build ").expect("valid"),
            "Fix the build"
        );
        assert_eq!(
            name("title", "   "),
            Err(ValidationError::Empty { field: "title" })
        );
        let long = "é".repeat(201);
        assert!(matches!(
            name("title", &long),
            Err(ValidationError::TooLong { chars: 201, .. })
        ));
        assert!(
            name("title", &"é".repeat(200)).is_ok(),
            "200 multi-byte chars are fine"
        );
        assert!(matches!(
            name("title", "a\nb"),
            Err(ValidationError::BadValue { .. })
        ));
    }

    #[test]
    fn prompt_limit_is_one_mebibyte() {
        assert!(prompt(&"x".repeat(PROMPT_MAX_BYTES)).is_ok());
        assert!(matches!(
            prompt(&"x".repeat(PROMPT_MAX_BYTES + 1)),
            Err(ValidationError::PromptTooLarge { .. })
        ));
    }

    #[test]
    fn commands_and_argv_must_hold_something() {
        assert!(command("verify command", " \t").is_err());
        assert_eq!(
            command("verify command", " make test ").expect("ok"),
            "make test"
        );
        assert_eq!(argv(&[]), Err(ValidationError::EmptyCommand));
        assert_eq!(argv(&[" ".into()]), Err(ValidationError::EmptyCommand));
        assert!(argv(&["sh".into(), "-c".into(), "true".into()]).is_ok());
    }

    #[test]
    fn env_names_follow_posix() {
        for ok in ["PATH", "_x", "API_KEY_2"] {
            assert!(env_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "2X", "A-B", "A B", "É"] {
            assert!(env_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_name_the_bounds() {
        let err = in_range("pids", 5u32, PIDS_RANGE).expect_err("too small");
        assert_eq!(
            err.to_string(),
            "pids is 5; it must be between 16 and 1000000"
        );
    }
}
