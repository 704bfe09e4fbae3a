//! Where a run's files live on the host, and the sandbox that runs its steps.

use std::path::PathBuf;

use corral_core::{ProjectId, RunId};
use corral_sandbox::{DockerSandbox, LocalSandbox, Sandbox};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

impl Engine {
    /// The run's folder on the host: its lock and the ids of its steps. Never mounted into the
    /// sandbox, so nothing in it was written by the sandbox.
    pub(crate) fn run_dir(&self, run: RunId) -> PathBuf {
        self.config.data_dir.join("runs").join(run.to_string())
    }

    /// The part of the run's folder the sandbox sees (at `/corral/run`): the steps' output
    /// files and the agent's home. Everything in it is hostile input to the host.
    pub(crate) fn sandbox_dir(&self, run: RunId) -> PathBuf {
        let run_dir = self.run_dir(run);
        // A run made before the sandbox had a folder of its own mounts the whole run folder;
        // known by what its steps left there (never by `sandbox`, which such a run's sandbox
        // could have made itself).
        let legacy = ["home", "agent.out", "setup.out"]
            .iter()
            .any(|name| std::fs::symlink_metadata(run_dir.join(name)).is_ok());
        if legacy {
            run_dir
        } else {
            run_dir.join("sandbox")
        }
    }

    /// The bare mirror of a project added by URL.
    pub(crate) fn mirror_dir(&self, project: ProjectId) -> PathBuf {
        self.config
            .data_dir
            .join("mirrors")
            .join(format!("{project}.git"))
    }

    /// Where the relay is installed on this machine (a local agent starts it as its MCP server).
    pub(crate) fn local_relay_path(&self) -> PathBuf {
        self.config.data_dir.join("bin").join("corral-relay")
    }

    pub(crate) fn checkout_dir(&self, run: RunId) -> PathBuf {
        self.config.data_dir.join("checkouts").join(run.to_string())
    }

    pub(crate) async fn sandbox(&self) -> EngineResult<&DockerSandbox> {
        self.runs
            .sandbox
            .get_or_try_init(|| DockerSandbox::connect(self.config.docker_host.as_deref()))
            .await
            .map_err(EngineError::from)
    }

    /// Stops and releases a run's sandbox, whichever kind its handle names.
    pub(crate) async fn remove_sandbox(&self, handle: &str) -> EngineResult<()> {
        if handle.starts_with(corral_core::LOCAL_SANDBOX_HANDLE_PREFIX) {
            LocalSandbox.remove(handle).await?;
        } else {
            self.sandbox().await?.remove(handle).await?;
        }
        Ok(())
    }
}
