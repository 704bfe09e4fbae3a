//! Start-up checks: can Corral do its job on this machine, and if not, what to do about it.

use std::path::Path;
use std::time::Duration;

use crate::engine::{Engine, ensure_writable_dir};

/// Below this much free space under the data dir the disk check warns.
pub const LOW_DISK_BYTES: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
}

impl CheckStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable id of the check (`docker`, `git`, `data_dir`, `disk_space`, `database`).
    pub name: &'static str,
    pub status: CheckStatus,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: String) -> Self {
        Check {
            name,
            status: CheckStatus::Ok,
            detail,
            fix: None,
        }
    }

    fn bad(name: &'static str, status: CheckStatus, detail: String, fix: &str) -> Self {
        Check {
            name,
            status,
            detail,
            fix: Some(fix.to_string()),
        }
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1024.0 * 1024.0 * 1024.0))
}

async fn check_docker(host: Option<&str>) -> Check {
    match corral_sandbox::probe(host, Duration::from_secs(5)).await {
        Ok(v) => Check::ok(
            "docker",
            format!("Docker {} (API {}) at {}", v.version, v.api_version, v.host),
        ),
        Err(err) => Check::bad(
            "docker",
            CheckStatus::Fail,
            err.to_string(),
            "start the Docker daemon (e.g. `sudo systemctl start docker`) or set DOCKER_HOST; \
             runs need it, everything else works without it",
        ),
    }
}

async fn check_git() -> Check {
    let libgit2 = corral_git::libgit2_version();
    match tokio::process::Command::new("git")
        .arg("--version")
        .output()
        .await
    {
        Ok(out) if out.status.success() => Check::ok(
            "git",
            format!(
                "{}; libgit2 {libgit2}",
                String::from_utf8_lossy(&out.stdout).trim()
            ),
        ),
        Ok(out) => Check::bad(
            "git",
            CheckStatus::Warn,
            format!(
                "`git --version` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "reinstall git",
        ),
        Err(err) => Check::bad(
            "git",
            CheckStatus::Warn,
            format!("git not found ({err}); Corral itself uses libgit2 {libgit2}"),
            "install git (e.g. `sudo apt-get install git`) to review run branches with your own tools",
        ),
    }
}

fn check_data_dir(dir: &Path) -> Check {
    match ensure_writable_dir(dir) {
        Ok(()) => Check::ok("data_dir", format!("{} is writable", dir.display())),
        Err(reason) => Check::bad(
            "data_dir",
            CheckStatus::Fail,
            format!("{} is not writable: {reason}", dir.display()),
            "choose a writable folder with --data-dir or CORRAL_DATA_DIR",
        ),
    }
}

fn check_disk(dir: &Path) -> Check {
    match fs4::available_space(dir) {
        Ok(free) if free < LOW_DISK_BYTES => Check::bad(
            "disk_space",
            CheckStatus::Warn,
            format!(
                "{} free under {}; checkouts and images need room",
                gib(free),
                dir.display()
            ),
            "free some space, or move the data dir with --data-dir",
        ),
        Ok(free) => Check::ok(
            "disk_space",
            format!("{} free under {}", gib(free), dir.display()),
        ),
        Err(err) => Check::bad(
            "disk_space",
            CheckStatus::Warn,
            format!("cannot read free space under {}: {err}", dir.display()),
            "check that the data dir's file system is mounted",
        ),
    }
}

impl Engine {
    async fn check_database(&self) -> Check {
        match self.store.pending_migrations().await {
            Ok(pending) if pending.is_empty() => Check::ok(
                "database",
                format!("{} opens; schema is current", self.store.path().display()),
            ),
            Ok(pending) => Check::bad(
                "database",
                CheckStatus::Fail,
                format!("migrations not applied: {}", pending.join(", ")),
                "restart Corral so it can apply them",
            ),
            Err(err) => Check::bad(
                "database",
                CheckStatus::Fail,
                err.to_string(),
                "see the log in the data dir's logs folder",
            ),
        }
    }

    /// Runs every check; never fails (a failing check is a result).
    #[tracing::instrument(skip(self))]
    pub async fn doctor(&self) -> Vec<Check> {
        let dir = self.config.data_dir.clone();
        let (docker, git, database) = tokio::join!(
            check_docker(self.config.docker_host.as_deref()),
            check_git(),
            self.check_database()
        );
        let local =
            tokio::task::spawn_blocking(move || (check_data_dir(&dir), check_disk(&dir))).await;
        let (data_dir, disk) = match local {
            Ok(pair) => pair,
            Err(err) => {
                let failed = |name| {
                    Check::bad(
                        name,
                        CheckStatus::Fail,
                        format!("check crashed: {err}"),
                        "report this",
                    )
                };
                (failed("data_dir"), failed("disk_space"))
            }
        };
        let checks = vec![docker, git, data_dir, disk, database];
        for c in &checks {
            tracing::info!(check = c.name, status = c.status.as_str(), detail = %c.detail, "doctor");
        }
        checks
    }
}
