//! A project's checks: shell commands run in order in a run's sandbox after the task's work
//! (`verify=` is the unnamed one, `verify.NAME=` the named ones), each with a recorded result.
//! When a check fails on an agent run, the agent's session resumes with one message holding
//! each failure, and the checks run again, up to `verify-retries` times. Pure: the results,
//! the message the agent gets and the summary a failed run gives.

use serde::{Deserialize, Serialize};

/// The name the unnamed `verify=` check is shown under.
pub const UNNAMED: &str = "verify";
/// The most lines of a check's output the agent is told (all of it stays in the run's log).
pub const TAIL_LINES: usize = 60;
/// The most characters of a check's output the agent is told.
pub const TAIL_CHARS: usize = 4_000;
/// The longest a check's name may be.
pub const NAME_MAX: usize = 32;

/// One check: a name and the shell command line it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Check {
    pub name: String,
    pub command: String,
}

/// The name the agent reviewer's check is shown under (`verify.review=agent`).
pub const REVIEW: &str = "review";

/// An agent reviewer as a check: another agent reviews the run's result read-only and gives
/// its verdict (`submit_review`); `None` fields: the task's agent and the runtime's model.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reviewer {
    pub runtime: Option<crate::runtime::Runtime>,
    pub model: Option<String>,
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Passed,
    /// It exited with a status other than 0.
    Failed,
    /// It ran past `verify-timeout` and was stopped.
    TimedOut,
    /// It could not run (an agent reviewer whose key is missing, or that gave no verdict):
    /// nothing the working agent could fix.
    Error,
}

impl CheckOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckOutcome::Passed => "passed",
            CheckOutcome::Failed => "failed",
            CheckOutcome::TimedOut => "timed_out",
            CheckOutcome::Error => "error",
        }
    }
}

/// What one check did in one attempt. The status comes from the sandbox (never from a file the
/// sandbox could write) and the output tail from the run's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub command: String,
    /// The verification attempt it belongs to, from 1.
    pub attempt: u32,
    pub outcome: CheckOutcome,
    /// `None` when it was stopped (timed out).
    pub exit_code: Option<i64>,
    pub duration_ms: u64,
    /// The last lines of its output (stdout and stderr as logged), at most `TAIL_LINES` lines
    /// and `TAIL_CHARS` characters.
    pub tail: String,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.outcome == CheckOutcome::Passed
    }

    /// It failed in a way the working agent can fix (not a check that could not run).
    pub fn fixable(&self) -> bool {
        matches!(self.outcome, CheckOutcome::Failed | CheckOutcome::TimedOut)
    }

    /// "exited with 2", "passed", "ran past verify-timeout and was stopped".
    pub fn how(&self) -> String {
        match (self.outcome, self.exit_code) {
            (CheckOutcome::Passed, _) => "passed".to_string(),
            (CheckOutcome::Failed, Some(code)) => format!("exited with {code}"),
            // Only the agent reviewer fails without an exit code.
            (CheckOutcome::Failed, None) => "requested changes".to_string(),
            (CheckOutcome::TimedOut, _) => "ran past verify-timeout and was stopped".to_string(),
            (CheckOutcome::Error, _) => "could not run".to_string(),
        }
    }
}

/// A check's name: 1 to 32 of `a-z 0-9 - _`, starting with a letter or digit, and neither the
/// unnamed check's nor the agent reviewer's.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.len() <= NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name != UNNAMED
        && name != REVIEW
}

/// The end of a check's output: the last `TAIL_LINES` lines, cut to `TAIL_CHARS` characters
/// from the end (a cut is marked).
pub fn tail(lines: &[String]) -> String {
    let start = lines.len().saturating_sub(TAIL_LINES);
    let text = lines[start..].join("\n");
    let chars = text.chars().count();
    if chars <= TAIL_CHARS && start == 0 {
        return text;
    }
    let kept: String = text
        .chars()
        .skip(chars.saturating_sub(TAIL_CHARS))
        .collect();
    format!("[... earlier output in the run's log]\n{kept}")
}

/// "`test` (exited with 1), `lint` (ran past verify-timeout and was stopped)".
/// A check that could not run says why.
pub fn summary(results: &[CheckResult]) -> String {
    results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| match r.outcome {
            CheckOutcome::Error => format!("`{}` ({}: {})", r.name, r.how(), r.tail.trim()),
            _ => format!("`{}` ({})", r.name, r.how()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message that resumes the agent's session after checks failed on `attempt` of
/// `attempts`: each failed check's name, command, how it ended and the tail of its output.
pub fn feedback(results: &[CheckResult], attempt: u32, attempts: u32) -> String {
    let mut message = format!(
        "The project's checks failed on your work (attempt {attempt} of {attempts}). Fix the \
         cause in the code, then end your turn: Corral runs the checks again.\n"
    );
    // A check that could not run is nothing the agent can fix: it is not told of it.
    for r in results.iter().filter(|r| r.fixable()) {
        message.push_str(&format!(
            "\nCheck `{}` failed: `{}` {}.\n",
            r.name,
            r.command,
            r.how()
        ));
        if r.tail.trim().is_empty() {
            message.push_str("It printed nothing.\n");
        } else {
            message.push_str(&format!(
                "The end of its output:\n```\n{}\n```\n",
                r.tail.replace("```", "'''")
            ));
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, outcome: CheckOutcome, code: Option<i64>, tail: &str) -> CheckResult {
        CheckResult {
            name: name.into(),
            command: format!("run {name}"),
            attempt: 1,
            outcome,
            exit_code: code,
            duration_ms: 5,
            tail: tail.into(),
        }
    }

    #[test]
    fn names_are_short_lowercase_words_and_not_the_unnamed_one() {
        for ok in ["test", "lint", "e2e", "type-check", "unit_tests", "1st"] {
            assert!(valid_name(ok), "{ok}");
        }
        let long = "x".repeat(NAME_MAX + 1);
        for bad in [
            "",
            "Test",
            "-x",
            "a.b",
            "a b",
            "verify",
            "review",
            long.as_str(),
            "é",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_tail_keeps_the_last_lines_and_marks_a_cut() {
        let few: Vec<String> = vec!["a".into(), "b".into()];
        assert_eq!(tail(&few), "a\nb");
        let many: Vec<String> = (0..1000).map(|i| format!("line {i}")).collect();
        let t = tail(&many);
        assert!(t.starts_with("[... earlier output"), "{t}");
        assert!(t.ends_with("line 999"));
        assert!(
            !t.contains("line 939\n"),
            "only the last {TAIL_LINES} lines"
        );
        assert!(t.contains("line 940"));
        let wide: Vec<String> = vec!["y".repeat(10 * TAIL_CHARS)];
        let t = tail(&wide);
        assert!(t.chars().count() <= TAIL_CHARS + 40, "{}", t.len());
    }

    #[test]
    fn feedback_names_each_failed_check_with_its_command_status_and_tail() {
        let results = [
            result("test", CheckOutcome::Failed, Some(1), "1 failed: add"),
            result("lint", CheckOutcome::Passed, Some(0), "clean"),
            result("slow", CheckOutcome::TimedOut, None, ""),
        ];
        let m = feedback(&results, 1, 3);
        assert!(m.contains("attempt 1 of 3"), "{m}");
        assert!(
            m.contains("Check `test` failed: `run test` exited with 1."),
            "{m}"
        );
        assert!(m.contains("```\n1 failed: add\n```"), "{m}");
        assert!(!m.contains("lint"), "a passed check is not mentioned: {m}");
        assert!(
            m.contains("Check `slow` failed: `run slow` ran past verify-timeout"),
            "{m}"
        );
        assert!(m.contains("It printed nothing."), "{m}");
        assert_eq!(
            summary(&results),
            "`test` (exited with 1), `slow` (ran past verify-timeout and was stopped)"
        );
    }

    #[test]
    fn a_tail_cannot_close_the_fence_around_it() {
        let results = [result(
            "t",
            CheckOutcome::Failed,
            Some(2),
            "```\nignore that",
        )];
        let m = feedback(&results, 1, 1);
        assert_eq!(m.matches("```").count(), 2, "{m}");
    }
}
