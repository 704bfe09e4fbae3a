//! One long-lived container per run: labelled so start-up can find it, hardened by default
//! (no capabilities, no privilege escalation, memory/CPU/process limits, no network unless the
//! project allows it, an init process), the checkout bind-mounted at `/workspace`, running as
//! the host user so files stay theirs. Steps run in it as execs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};

use crate::SandboxError;

/// Label names every Corral container carries.
pub mod labels {
    pub const RUN: &str = "corral.run";
    pub const TASK: &str = "corral.task";
    pub const PROJECT: &str = "corral.project";
    /// The data dir the container belongs to: one Corral never touches another's containers.
    pub const INSTANCE: &str = "corral.instance";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    None,
    Host,
    Bridge,
}

impl NetworkMode {
    pub(crate) fn as_docker(&self) -> &'static str {
        match self {
            NetworkMode::None => "none",
            NetworkMode::Host => "host",
            NetworkMode::Bridge => "bridge",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub run_id: String,
    pub task_id: String,
    pub project_id: String,
    /// Which Corral (data dir) owns the container.
    pub instance: String,
    pub image: String,
    /// The run's checkout, mounted at `/workspace`: read-write, or read-only (a consult run
    /// looking at another run's checkout).
    pub workspace: PathBuf,
    pub workspace_read_only: bool,
    /// `uid:gid` to run as; `None` keeps the image's user.
    pub user: Option<String>,
    pub memory_mib: u64,
    pub cpu_millis: u32,
    pub pids: u32,
    pub network: NetworkMode,
    /// The run's folder on the host (step output and exit files), mounted at `/corral/run`.
    pub run_dir: PathBuf,
    /// Extra read-only mounts: (host path, container path).
    pub read_only_mounts: Vec<(PathBuf, String)>,
}

/// Where the run folder appears inside the container.
pub const RUN_DIR_IN_CONTAINER: &str = "/corral/run";

/// The file in the run's folder that keeps its container alive. Corral makes it with the
/// container; when the folder goes (its data dir deleted, by hand or by a test), the container's
/// main process sees it gone within 5 s and ends, and Docker removes the container: no sandbox
/// outlives its data dir, whether or not a Corral process still drives it.
pub const ALIVE_FILE: &str = ".corral-alive";

/// The container's main process (see `ALIVE_FILE`); a macro so the stray killer can spare it
/// by its exact command line.
macro_rules! watchdog_script {
    () => {
        "while [ -e /corral/run/.corral-alive ]; do sleep 5; done"
    };
}
pub(crate) use watchdog_script;

/// A container found by its Corral labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledContainer {
    pub id: String,
    pub run_id: String,
    /// Docker's state: `running`, `exited`, `created`, ...
    pub state: String,
}

#[derive(Debug, Clone)]
pub struct DockerSandbox {
    pub(crate) docker: Docker,
    pub(crate) host: String,
}

impl DockerSandbox {
    /// Connects to `host` (`None`: DOCKER_HOST or the default socket) and agrees on an API
    /// version with the daemon.
    pub async fn connect(host: Option<&str>) -> Result<DockerSandbox, SandboxError> {
        let host = host
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        let unreachable = |e: bollard::errors::Error| SandboxError::DockerUnreachable {
            host: host.clone(),
            message: e.to_string(),
        };
        let docker = Docker::connect_with_host(&host)
            .map_err(unreachable)?
            .with_timeout(Duration::from_secs(120))
            .negotiate_version()
            .await
            .map_err(unreachable)?;
        Ok(DockerSandbox { docker, host })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Creates and starts the run's container; returns its id.
    pub async fn create(&self, spec: &ContainerSpec) -> Result<String, SandboxError> {
        let workspace = spec
            .workspace
            .to_str()
            .ok_or_else(|| SandboxError::Container {
                container: spec.run_id.clone(),
                message: "the checkout path is not valid UTF-8".into(),
            })?;
        let run_dir = spec
            .run_dir
            .to_str()
            .ok_or_else(|| SandboxError::Container {
                container: spec.run_id.clone(),
                message: "the run folder path is not valid UTF-8".into(),
            })?;
        crate::untrusted::write_inside(&spec.run_dir, std::path::Path::new(ALIVE_FILE), b"")
            .map_err(|e| SandboxError::Container {
                container: spec.run_id.clone(),
                message: format!("writing {ALIVE_FILE} in the run folder: {e}"),
            })?;
        let mode = if spec.workspace_read_only { ":ro" } else { "" };
        let mut binds = vec![
            format!("{workspace}:/workspace{mode}"),
            format!("{run_dir}:{RUN_DIR_IN_CONTAINER}"),
        ];
        for (host, inside) in &spec.read_only_mounts {
            binds.push(format!("{}:{inside}:ro", host.display()));
        }
        let labels = HashMap::from([
            (labels::RUN.to_string(), spec.run_id.clone()),
            (labels::TASK.to_string(), spec.task_id.clone()),
            (labels::PROJECT.to_string(), spec.project_id.clone()),
            (labels::INSTANCE.to_string(), spec.instance.clone()),
        ]);
        let memory = i64::try_from(spec.memory_mib.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX);
        let host_config = HostConfig {
            binds: Some(binds),
            cap_drop: Some(vec!["ALL".to_string()]),
            security_opt: Some(vec!["no-new-privileges".to_string()]),
            memory: Some(memory),
            // No swap beyond the memory limit, so an over-limit run is OOM-killed, visibly.
            memory_swap: Some(memory),
            nano_cpus: Some(i64::from(spec.cpu_millis) * 1_000_000),
            pids_limit: Some(i64::from(spec.pids)),
            network_mode: Some(spec.network.as_docker().to_string()),
            init: Some(true),
            // Gone when its watchdog ends (see `ALIVE_FILE`), or when stopped.
            auto_remove: Some(true),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(
                ["sh", "-c", watchdog_script!(), "corral-watchdog"]
                    .map(String::from)
                    .to_vec(),
            ),
            user: spec.user.clone(),
            working_dir: Some("/workspace".to_string()),
            labels: Some(labels),
            host_config: Some(host_config),
            ..Default::default()
        };
        let name = format!("corral-run-{}", spec.run_id);
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = self.docker.create_container(Some(options), body).await?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            // A container that cannot start is not left behind.
            let _ = self.remove(&created.id).await;
            return Err(SandboxError::Container {
                container: created.id,
                message: e.to_string(),
            });
        }
        Ok(created.id)
    }

    /// Stops the container, giving its processes `grace` to exit before they are killed.
    pub async fn stop(&self, container: &str, grace: Duration) -> Result<(), SandboxError> {
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::new().t(secs).build();
        match self.docker.stop_container(container, Some(options)).await {
            Ok(()) => Ok(()),
            // Already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the container (forcefully, with its anonymous volumes). Gone already is fine.
    pub async fn remove(&self, container: &str) -> Result<(), SandboxError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(container, Some(options)).await {
            Ok(()) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(()),
            // Another caller (Docker's own auto-removal once the container stopped, the run's
            // supervisor, or a second Corral) is removing it already.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            }) if message.contains("already in progress") => {}
            Err(e) => return Err(e.into()),
        }
        // Usually gone when this returns, whoever removes it (a removal in progress is still
        // listed). A slow removal (a big container on a busy machine) is Docker's to finish.
        for _ in 0..100 {
            match self.docker.inspect_container(container, None).await {
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => return Ok(()),
                Err(e) => return Err(e.into()),
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        tracing::info!(container, "Docker is still removing the container");
        Ok(())
    }

    /// Every container (running or not) of this Corral instance carrying a `corral.run` label.
    pub async fn list_labelled(
        &self,
        instance: &str,
    ) -> Result<Vec<LabelledContainer>, SandboxError> {
        let instance_filter = format!("{}={instance}", labels::INSTANCE);
        let filters = HashMap::from([("label", vec![labels::RUN.to_string(), instance_filter])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self.docker.list_containers(Some(options)).await?;
        Ok(containers
            .into_iter()
            .filter_map(|c| {
                let run_id = c.labels.as_ref()?.get(labels::RUN)?.clone();
                Some(LabelledContainer {
                    id: c.id?,
                    run_id,
                    state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Whether the container exists and is running.
    pub async fn is_running(&self, container: &str) -> Result<bool, SandboxError> {
        match self.docker.inspect_container(container, None).await {
            Ok(inspect) => Ok(inspect.state.and_then(|s| s.running).unwrap_or(false)),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the kernel killed a process in the container for exceeding its memory limit.
    /// Docker's own flag covers only the container's main process, not a step run as an exec,
    /// so the container's cgroup counter is read too (cgroup v2, then v1).
    pub async fn oom_killed(&self, container: &str) -> Result<bool, SandboxError> {
        let inspect = self.docker.inspect_container(container, None).await?;
        if inspect.state.and_then(|s| s.oom_killed).unwrap_or(false) {
            return Ok(true);
        }
        for file in [
            "/sys/fs/cgroup/memory.events",
            "/sys/fs/cgroup/memory/memory.oom_control",
        ] {
            let out = self
                .exec(container, &["cat".to_string(), file.to_string()], &[])
                .await?;
            if out.exit_code != 0 {
                continue;
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let kills = text
                .lines()
                .find_map(|l| l.strip_prefix("oom_kill "))
                .and_then(|n| n.trim().parse::<u64>().ok());
            if let Some(kills) = kills {
                return Ok(kills > 0);
            }
        }
        Ok(false)
    }
}
