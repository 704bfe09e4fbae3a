//! What the engine needs from a place to run a run's steps. Two implementations:
//! `DockerSandbox` (one hardened container per run) and `LocalSandbox` (host processes, not
//! isolated). A run's sandbox is named by a handle string: a container id, or a local handle.

use std::future::Future;
use std::time::Duration;

use crate::{ContainerSpec, DockerSandbox, ImageSpec, SandboxError};

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

    /// Starts a durable step (see `StepFiles`) and returns at once.
    fn start_step(
        &self,
        handle: &str,
        step: &str,
        argv: &[String],
        env: &[String],
    ) -> impl Future<Output = Result<(), SandboxError>> + Send;

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
    ) -> Result<(), SandboxError> {
        DockerSandbox::start_step(self, handle, step, argv, env).await
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
}
