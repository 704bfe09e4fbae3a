//! Running a command in a run's container: always an argument vector, never a shell string
//! built from user text.

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
        let inspect = self.docker.inspect_exec(&exec.id).await?;
        out.exit_code = inspect.exit_code.unwrap_or(-1);
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
    ) -> Result<(), SandboxError> {
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
        Ok(())
    }
}
