//! Helpers for Corral's tests and benchmarks (a dev-dependency only): the real `git` in temp
//! repositories, and percentiles for benchmarks that print numbers.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Runs the real `git` in `dir` with a fixed author; panics with git's own words when it
/// fails. Returns its standard output, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes `dir` (and its parents) a repository on `main` with one commit holding a README.
pub fn make_repo(dir: &Path) {
    std::fs::create_dir_all(dir).expect("the repository's folder");
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "# test\n").expect("README");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "first"]);
}

/// The `p` percentile (0.0 to 1.0) of sorted durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_repo_has_one_commit_on_main() {
        let dir = std::env::temp_dir().join(format!("corral-testkit-{}", std::process::id()));
        make_repo(&dir);
        assert_eq!(git(&dir, &["rev-parse", "--abbrev-ref", "HEAD"]), "main");
        assert_eq!(git(&dir, &["rev-list", "--count", "HEAD"]), "1");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn percentiles_pick_from_the_sorted_samples() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&samples, 0.5), 51.0);
        assert_eq!(percentile_ms(&samples, 0.95), 95.0);
    }
}
