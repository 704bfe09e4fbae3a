//! Running a command in a run's container: always an argument vector, never a shell string
//! built from user text.

use crate::container::watchdog_script;
use crate::relay::relay_uid;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures::StreamExt;

use crate::container::RUN_DIR_IN_CONTAINER;
use crate::step::StepFiles;
use crate::{DockerSandbox, SandboxError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl DockerSandbox {
    /// Runs `argv` in the container and collects its output (for short commands; long steps
    /// write to files the engine follows). `env` is `NAME=value` pairs.
    pub async fn exec(
        &self,
        container: &str,
        argv: &[String],
        env: &[String],
    ) -> Result<ExecOutput, SandboxError> {
        if argv.is_empty() {
            return Err(SandboxError::Container {
                container: container.to_string(),
                message: "an empty command line".into(),
            });
        }
        let config = ExecConfig {
            cmd: Some(argv.to_vec()),
            env: Some(env.to_vec()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            working_dir: Some("/workspace".to_string()),
            ..Default::default()
        };
        let exec = self.docker.create_exec(container, config).await?;
        let mut out = ExecOutput {
            exit_code: -1,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        let start = StartExecOptions {
            detach: false,
            ..Default::default()
        };
        if let StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&exec.id, Some(start)).await?
        {
            while let Some(chunk) = output.next().await {
                match chunk? {
                    bollard::container::LogOutput::StdErr { message } => {
                        out.stderr.extend_from_slice(&message)
                    }
                    other => out.stdout.extend_from_slice(&other.into_bytes()),
                }
            }
        }
        // The output can end a moment before Docker records the exit.
        for _ in 0..100 {
            let inspect = self.docker.inspect_exec(&exec.id).await?;
            if inspect.running != Some(true) {
                out.exit_code = inspect.exit_code.unwrap_or(-1);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Ok(out)
    }
}

impl DockerSandbox {
    /// Starts `argv` as the durable step `step` and returns at once: its output and exit status
    /// land in the run folder (`StepFiles::new(run_dir, step)` on the host), whether or not
    /// Corral is still running to watch.
    pub async fn start_step(
        &self,
        container: &str,
        step: &str,
        argv: &[String],
        env: &[String],
    ) -> Result<String, SandboxError> {
        if argv.is_empty() {
            return Err(SandboxError::Container {
                container: container.to_string(),
                message: "an empty command line".into(),
            });
        }
        let files = StepFiles::new(std::path::Path::new(RUN_DIR_IN_CONTAINER), step);
        let config = ExecConfig {
            cmd: Some(files.wrapped(RUN_DIR_IN_CONTAINER, step, argv)),
            env: Some(env.to_vec()),
            working_dir: Some("/workspace".to_string()),
            ..Default::default()
        };
        let exec = self.docker.create_exec(container, config).await?;
        let start = StartExecOptions {
            detach: true,
            ..Default::default()
        };
        self.docker.start_exec(&exec.id, Some(start)).await?;
        Ok(exec.id)
    }

    /// The exit status of a step's exec, as Docker recorded it (`None` while it runs): the
    /// step's processes cannot change it. `Err(ExecGone)` when Docker no longer has the record
    /// (it drops finished execs after some minutes, and all of them when it restarts).
    pub async fn exec_exit(&self, exec_id: &str) -> Result<Option<i64>, ExecLookup> {
        let inspect = match self.docker.inspect_exec(exec_id).await {
            Ok(inspect) => inspect,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Err(ExecLookup::Gone),
            Err(e) => return Err(ExecLookup::Failed(e.into())),
        };
        if inspect.running == Some(true) {
            return Ok(None);
        }
        Ok(Some(inspect.exit_code.unwrap_or(-1)))
    }

    /// Kills every process in the container but its init, its `sleep` and the killer itself,
    /// as the container's user; a few rounds, so a process forking while it is killed is
    /// caught too.
    pub async fn end_strays(&self, container: &str) -> Result<(), SandboxError> {
        let argv = ["sh", "-c", STRAY_KILLER].map(String::from);
        let out = self.exec(container, &argv, &[]).await?;
        if out.exit_code == 0 {
            return Ok(());
        }
        // Something kept escaping (or the image lacks what the killer needs): restart the
        // container, which ends every process in it; its files stay.
        tracing::warn!(
            container,
            stderr = %String::from_utf8_lossy(&out.stderr).trim(),
            "leftover processes survived; restarting the container"
        );
        let options = bollard::query_parameters::RestartContainerOptionsBuilder::new()
            .t(0)
            .build();
        self.docker
            .restart_container(container, Some(options))
            .await
            .map_err(|e| SandboxError::Container {
                container: container.to_string(),
                message: format!("stopping what the last step left running failed: {e}"),
            })
    }
}

/// Why `exec_exit` has no status.
#[derive(Debug)]
pub enum ExecLookup {
    /// Docker no longer knows the exec.
    Gone,
    Failed(SandboxError),
}

/// Kills every process but init (PID 1), the container's main process (the watchdog, or the
/// `sleep infinity` of a container made by an older Corral) and itself, round after round until
/// one finds none (a process that forks and exits is caught by a later round); exits 1 when
/// some are still there after 50 rounds. The main process is the oldest process with its
/// command line: it is started with the container, before any step, so no stray can be older.
/// Right after the container starts it may not exist yet: wait for it (5 s at most) rather than
/// mistake it for a stray. The watchdog's own `sleep` (its child) and the relay are spared too.
const STRAY_KILLER: &str = concat!(
    "watchdog='sh -c ",
    watchdog_script!(),
    " corral-watchdog '\n",
    r#"main=0
for wait in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" -gt 1 ] || continue
    c="$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)"
    if { [ "$c" = "$watchdog" ] || [ "$c" = "sleep infinity " ]; } &&
      { [ "$main" = 0 ] || [ "$p" -lt "$main" ]; }; then main=$p; fi
  done
  [ "$main" != 0 ] && break
  sleep 0.2
done
if [ "$main" = 0 ]; then echo "the container's main process is missing" >&2; exit 1; fi
round=0
while [ "$round" -lt 50 ]; do
  round=$((round + 1))
  seen=0
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" -gt 1 ] && [ "$p" != "$main" ] && [ "$p" != "$$" ] || continue
    # A zombie is already dead; its parent (init, once orphaned) reaps it. The state and the
    # parent's pid are the words after the last ")" of the stat line: the name before it is
    # the process's choice.
    read -r stat 2>/dev/null < /proc/$p/stat || continue
    set -- ${stat##*) }
    [ "$1" = Z ] && continue
    # The relay runs as its own user (RELAY_UID), which the step's user cannot signal.
    uid=$(while read -r key value _; do [ "$key" = Uid: ] && { echo "$value"; break; }; done 2>/dev/null < /proc/$p/status)
    [ "$uid" = "#,
    relay_uid!(),
    r#" ] && continue
    # The watchdog's own sleep: killing it only makes the watchdog start another.
    [ "$2" = "$main" ] && [ "$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)" = "sleep 5 " ] && continue
    seen=1
    kill -9 "$p" 2>/dev/null
  done
  [ "$seen" = 0 ] && exit 0
  # Killed processes may take a moment to go (freeing memory, finishing a write).
  sleep 0.05
done
echo "processes kept appearing" >&2
exit 1"#
);
