//! The local sandbox: a run's steps as host processes in its checkout, as the user. It isolates
//! nothing (the steps can read and change anything the user can); it exists for machines
//! without Docker, and every front end says so.
//!
//! Steps are as durable as in a container: each runs in its own process group (so killing
//! Corral, or Ctrl-C in its terminal, does not reach it) under the same wrapper, writing to the
//! run folder; its process group id is kept in `<step>.pgid` so a restarted Corral can check on
//! it and stop it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::sandbox::Sandbox;
use crate::step::StepFiles;
use crate::{ContainerSpec, SandboxError};

/// Handles of this sandbox are this prefix and the run folder's path.
pub const LOCAL_HANDLE_PREFIX: &str = "local:";
const WORKSPACE_FILE: &str = "local-workspace";
/// Host variables a step inherits; everything else comes from the project's settings.
const INHERITED_ENV: [&str; 9] = [
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "TERM", "SHELL",
];

#[derive(Debug, Clone, Copy, Default)]
pub struct LocalSandbox;

fn run_dir_of(handle: &str) -> Result<PathBuf, SandboxError> {
    handle
        .strip_prefix(LOCAL_HANDLE_PREFIX)
        .map(PathBuf::from)
        .ok_or_else(|| SandboxError::Container {
            container: handle.to_string(),
            message: "not a local sandbox handle".into(),
        })
}

fn io_error(handle: &str, what: &str, e: std::io::Error) -> SandboxError {
    SandboxError::Container {
        container: handle.to_string(),
        message: format!("{what}: {e}"),
    }
}

/// Process groups of steps that have not written their exit status.
fn unfinished_groups(run_dir: &Path) -> std::io::Result<Vec<(PathBuf, Pid)>> {
    let mut groups = Vec::new();
    let entries = match std::fs::read_dir(run_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(groups),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|ext| ext != "pgid") {
            continue;
        }
        if path.with_extension("exit").exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        if let Ok(pgid) = text.trim().parse::<i32>() {
            groups.push((path, Pid::from_raw(pgid)));
        }
    }
    Ok(groups)
}

fn group_alive(pgid: Pid) -> bool {
    killpg(pgid, None).is_ok()
}

impl Sandbox for LocalSandbox {
    fn is_isolated(&self) -> bool {
        false
    }

    async fn ensure_image(
        &self,
        _image: &crate::ImageSpec,
        mut progress: impl FnMut(String) + Send,
    ) -> Result<(), SandboxError> {
        progress("local sandbox: no image; steps run on this machine, NOT isolated".into());
        Ok(())
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, SandboxError> {
        let run_dir = spec
            .run_dir
            .to_str()
            .ok_or_else(|| SandboxError::Container {
                container: spec.run_id.clone(),
                message: "the run folder path is not valid UTF-8".into(),
            })?;
        let handle = format!("{LOCAL_HANDLE_PREFIX}{run_dir}");
        std::fs::create_dir_all(&spec.run_dir).map_err(|e| io_error(&handle, "run folder", e))?;
        let workspace = spec
            .workspace
            .to_str()
            .ok_or_else(|| SandboxError::Container {
                container: handle.clone(),
                message: "the checkout path is not valid UTF-8".into(),
            })?;
        std::fs::write(spec.run_dir.join(WORKSPACE_FILE), workspace)
            .map_err(|e| io_error(&handle, "recording the checkout", e))?;
        Ok(handle)
    }

    async fn start_step(
        &self,
        handle: &str,
        step: &str,
        argv: &[String],
        env: &[String],
    ) -> Result<String, SandboxError> {
        let run_dir = run_dir_of(handle)?;
        let workspace = std::fs::read_to_string(run_dir.join(WORKSPACE_FILE))
            .map_err(|e| io_error(handle, "the run's checkout", e))?;
        let (Some(_), Some(dir)) = (argv.first(), run_dir.to_str()) else {
            return Err(SandboxError::Container {
                container: handle.to_string(),
                message: "an empty command line".into(),
            });
        };
        let files = StepFiles::new(&run_dir, step);
        let wrapped = files.wrapped(dir, step, argv);
        let mut command = tokio::process::Command::new(&wrapped[0]);
        command
            .args(&wrapped[1..])
            .current_dir(workspace.trim_end_matches('\n'))
            .env_clear()
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            // Its own process group: signals aimed at Corral do not reach it.
            .process_group(0);
        for name in INHERITED_ENV {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        for pair in env {
            if let Some((name, value)) = pair.split_once('=') {
                command.env(name, value);
            }
        }
        let mut child = command
            .spawn()
            .map_err(|e| io_error(handle, &format!("starting the {step} step"), e))?;
        let pgid = child.id().ok_or_else(|| SandboxError::Container {
            container: handle.to_string(),
            message: format!("the {step} step exited before it was recorded"),
        })?;
        let pgid_file = run_dir.join(format!("{step}.pgid"));
        let tmp = run_dir.join(format!("{step}.pgid.tmp"));
        std::fs::write(&tmp, pgid.to_string())
            .and_then(|()| std::fs::rename(&tmp, &pgid_file))
            .map_err(|e| io_error(handle, "recording the step's process", e))?;
        // Reap it when it ends; its status is in the exit file, not here.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        Ok(pgid.to_string())
    }

    async fn step_exit(
        &self,
        handle: &str,
        files: &StepFiles,
        _step_id: &str,
    ) -> Result<Option<i64>, SandboxError> {
        // Host processes have nowhere the step cannot write: the exit file is all there is (a
        // process the step left behind could rewrite it; the local sandbox is not isolated).
        files
            .exit_code()
            .map_err(|e| io_error(handle, "the step's exit status", e))
    }

    async fn end_strays(&self, handle: &str) -> Result<(), SandboxError> {
        // Each step's process group; a process that left its group (setsid) is out of reach
        // here, which is one of the things only a container prevents.
        let run_dir = run_dir_of(handle)?;
        let entries = match std::fs::read_dir(&run_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(handle, "run folder", e)),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "pgid") {
                continue;
            }
            let Ok(bytes) = crate::untrusted::read_untrusted(&path, 32) else {
                continue;
            };
            if let Ok(pgid) = String::from_utf8_lossy(&bytes).trim().parse::<i32>()
                && pgid > 1
            {
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            }
        }
        Ok(())
    }

    async fn is_running(&self, handle: &str) -> Result<bool, SandboxError> {
        let run_dir = run_dir_of(handle)?;
        if !run_dir.join(WORKSPACE_FILE).exists() {
            return Ok(false);
        }
        let groups = unfinished_groups(&run_dir).map_err(|e| io_error(handle, "run folder", e))?;
        Ok(groups.iter().all(|(_, pgid)| group_alive(*pgid)))
    }

    async fn oom_killed(&self, _handle: &str) -> Result<bool, SandboxError> {
        // No memory limit is applied to host processes.
        Ok(false)
    }

    async fn stop(&self, handle: &str, grace: Duration) -> Result<(), SandboxError> {
        let run_dir = run_dir_of(handle)?;
        let groups = unfinished_groups(&run_dir).map_err(|e| io_error(handle, "run folder", e))?;
        for (_, pgid) in &groups {
            let _ = killpg(*pgid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while groups.iter().any(|(_, pgid)| group_alive(*pgid)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (_, pgid) in &groups {
            let _ = killpg(*pgid, Signal::SIGKILL);
        }
        Ok(())
    }

    async fn open_link(&self, _handle: &str) -> Result<Option<crate::Link>, SandboxError> {
        Ok(None) // its processes are on this machine's network
    }

    async fn remove(&self, handle: &str) -> Result<(), SandboxError> {
        self.stop(handle, Duration::ZERO).await?;
        let run_dir = run_dir_of(handle)?;
        match std::fs::remove_file(run_dir.join(WORKSPACE_FILE)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(handle, "releasing the sandbox", e)),
        }
    }
}
