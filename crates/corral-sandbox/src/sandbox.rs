//! What the engine needs from a place to run a run's steps. Two implementations:
//! `DockerSandbox` (one hardened container per run) and `LocalSandbox` (host processes, not
//! isolated). A run's sandbox is named by a handle string: a container id, or a local handle.

use std::future::Future;
use std::time::Duration;

use crate::{ContainerSpec, DockerSandbox, ImageSpec, Link, SandboxError, StepFiles};

pub trait Sandbox: Send + Sync {
    /// Whether steps are kept away from the user's files, processes and credentials.
    fn is_isolated(&self) -> bool;

    /// Makes sure `image` is usable (pulled or built), reporting progress lines (nothing to do
    /// locally).
    fn ensure_image(
        &self,
        image: &ImageSpec,
        progress: impl FnMut(String) + Send,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Makes the run's sandbox and returns its handle.
    fn create(
        &self,
        spec: &ContainerSpec,
    ) -> impl Future<Output = Result<String, SandboxError>> + Send;

    /// Starts a durable step (see `StepFiles`) and returns at once, with an id to ask for its
    /// exit status (`step_exit`) that the caller keeps where the sandbox cannot write.
    fn start_step(
        &self,
        handle: &str,
        step: &str,
        argv: &[String],
        env: &[String],
    ) -> impl Future<Output = Result<String, SandboxError>> + Send;

    /// The step's exit status once it has ended, from where the sandbox cannot forge it when
    /// the sandbox is isolated (Docker's record of the exec). The local sandbox can only read
    /// the step's exit file, which the step's own processes could write.
    fn step_exit(
        &self,
        handle: &str,
        files: &StepFiles,
        step_id: &str,
    ) -> impl Future<Output = Result<Option<i64>, SandboxError>> + Send;

    /// Stops every process a finished step left behind, so nothing it started can touch the
    /// next step's output or status. The sandbox itself stays up.
    fn end_strays(&self, handle: &str) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Whether the sandbox can still finish its current step.
    fn is_running(&self, handle: &str) -> impl Future<Output = Result<bool, SandboxError>> + Send;

    /// Whether a step was killed for exceeding the memory limit.
    fn oom_killed(&self, handle: &str) -> impl Future<Output = Result<bool, SandboxError>> + Send;

    /// Stops what runs in the sandbox, `grace` before a kill.
    fn stop(
        &self,
        handle: &str,
        grace: Duration,
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Stops everything and releases the sandbox; the run folder (the logs) stays.
    fn remove(&self, handle: &str) -> impl Future<Output = Result<(), SandboxError>> + Send;

    /// Opens the link that carries the sandbox's connections to the engine (the relay in a
    /// container, which must have been made with it mounted); `None` where there is none.
    fn open_link(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Option<Link>, SandboxError>> + Send;
}

impl Sandbox for DockerSandbox {
    fn is_isolated(&self) -> bool {
        true
    }

    async fn ensure_image(
        &self,
        image: &ImageSpec,
        progress: impl FnMut(String) + Send,
    ) -> Result<(), SandboxError> {
        DockerSandbox::ensure_spec(self, image, progress).await
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, SandboxError> {
        DockerSandbox::create(self, spec).await
    }

    async fn start_step(
        &self,
        handle: &str,
        step: &str,
        argv: &[String],
        env: &[String],
    ) -> Result<String, SandboxError> {
        DockerSandbox::start_step(self, handle, step, argv, env).await
    }

    async fn step_exit(
        &self,
        _handle: &str,
        files: &StepFiles,
        step_id: &str,
    ) -> Result<Option<i64>, SandboxError> {
        match DockerSandbox::exec_exit(self, step_id).await {
            Ok(code) => Ok(code),
            // Docker forgot the exec (its records go some minutes after it ends, and with a
            // restart of the daemon). The step's files were made fresh and every earlier
            // process stopped before it started, so only the step itself can have written its
            // exit file: the status it gives is the step's own.
            Err(crate::ExecLookup::Gone) => {
                files.exit_code().map_err(|e| SandboxError::Container {
                    container: step_id.to_string(),
                    message: format!("the step's exit status: {e}"),
                })
            }
            Err(crate::ExecLookup::Failed(e)) => Err(e),
        }
    }

    async fn end_strays(&self, handle: &str) -> Result<(), SandboxError> {
        DockerSandbox::end_strays(self, handle).await
    }

    async fn is_running(&self, handle: &str) -> Result<bool, SandboxError> {
        DockerSandbox::is_running(self, handle).await
    }

    async fn oom_killed(&self, handle: &str) -> Result<bool, SandboxError> {
        DockerSandbox::oom_killed(self, handle).await
    }

    async fn stop(&self, handle: &str, grace: Duration) -> Result<(), SandboxError> {
        DockerSandbox::stop(self, handle, grace).await
    }

    async fn remove(&self, handle: &str) -> Result<(), SandboxError> {
        DockerSandbox::remove(self, handle).await
    }

    async fn open_link(&self, handle: &str) -> Result<Option<Link>, SandboxError> {
        DockerSandbox::open_link(self, handle).await.map(Some)
    }
}
