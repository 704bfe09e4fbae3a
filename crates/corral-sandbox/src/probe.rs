//! Connects to the Docker daemon (DOCKER_HOST or the default socket), agrees on an API version
//! with it, and reads its version.

use std::time::Duration;

use bollard::Docker;

use crate::SandboxError;

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerVersion {
    pub host: String,
    pub version: String,
    pub api_version: String,
}

/// Connects to `host` (a `unix://`, `tcp://` or `http://` address; `None`: `DOCKER_HOST` or the
/// default socket) and asks for its version, giving up after `timeout`.
pub async fn probe(host: Option<&str>, timeout: Duration) -> Result<DockerVersion, SandboxError> {
    let host = host
        .map(str::to_string)
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .unwrap_or_else(|| DEFAULT_HOST.to_string());
    let unreachable = |e: bollard::errors::Error| SandboxError::DockerUnreachable {
        host: host.clone(),
        message: e.to_string(),
    };
    let docker = Docker::connect_with_host(&host)
        .map_err(unreachable)?
        .with_timeout(timeout);
    let ask = async {
        let docker = docker.negotiate_version().await?;
        docker.version().await
    };
    let version = tokio::time::timeout(timeout, ask)
        .await
        .map_err(|_| SandboxError::DockerTimeout {
            host: host.clone(),
            seconds: timeout.as_secs(),
        })?
        .map_err(unreachable)?;
    Ok(DockerVersion {
        host: host.clone(),
        version: version.version.unwrap_or_else(|| "unknown".into()),
        api_version: version.api_version.unwrap_or_else(|| "unknown".into()),
    })
}
