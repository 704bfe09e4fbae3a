//! Where runs execute: the `Sandbox` trait, `DockerSandbox` (bollard: reaching the daemon,
//! images, one hardened, labelled, long-lived container per run in which steps run as execs,
//! and the link to the relay inside it) and `LocalSandbox` (host processes, not isolated).

mod container;
mod exec;
mod image;
mod link;
mod local;
mod probe;
mod relay;
mod sandbox;
mod step;
mod untrusted;

pub use container::{
    ALIVE_FILE, ContainerSpec, DockerSandbox, LabelledContainer, NetworkMode, RUN_DIR_IN_CONTAINER,
    labels,
};
pub use exec::{ExecLookup, ExecOutput};
pub use image::{AGENT_IMAGE_PREFIX, BUILD_IMAGE_PREFIX, CorralImage, ImageSpec};
pub use link::Link;
pub use local::{LOCAL_HANDLE_PREFIX, LocalSandbox};
pub use probe::{DockerVersion, probe};
pub use relay::{RELAY_IN_CONTAINER, RELAY_UID, install_relay};
pub use sandbox::Sandbox;
pub use step::{Line, LineReader, STEP_WRAPPER, StepFiles};
pub use untrusted::{make_dir_inside, open_untrusted, read_untrusted, remove_any, write_inside};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot reach the Docker daemon at {host}: {message}")]
    DockerUnreachable { host: String, message: String },
    #[error("the Docker daemon at {host} did not answer within {seconds} s")]
    DockerTimeout { host: String, seconds: u64 },
    #[error("image `{image}` is not here and could not be pulled: {reason}")]
    ImageUnavailable { image: String, reason: String },
    #[error("building image `{tag}` failed: {reason}")]
    ImageBuild { tag: String, reason: String },
    #[error("container {container}: {message}")]
    Container { container: String, message: String },
    /// The daemon answered before and now does not (stopped, restarted, its socket gone).
    #[error("lost the connection to the Docker daemon: {message}")]
    DockerGone { message: String },
    #[error("Docker error: {0}")]
    Docker(String),
    /// This build of Corral carries no relay (built on a platform that cannot build it).
    #[error(
        "this build of Corral has no relay for the sandboxes: build it on Linux, or name a static Linux relay with CORRAL_RELAY_BIN when building"
    )]
    NoRelay,
    #[error("writing the relay to {path}: {message}")]
    RelayInstall {
        path: std::path::PathBuf,
        message: String,
    },
    /// The link to the relay in a container could not be made, or broke.
    #[error("the link into container {container}: {message}")]
    Link { container: String, message: String },
}

impl SandboxError {
    /// The daemon is not there (never was, or went away): nothing about the run is at fault.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            SandboxError::DockerUnreachable { .. }
                | SandboxError::DockerTimeout { .. }
                | SandboxError::DockerGone { .. }
        )
    }
}

impl From<bollard::errors::Error> for SandboxError {
    fn from(e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        let gone = match &e {
            E::IOError { .. } | E::SocketNotFoundError(_) | E::RequestTimeoutError => true,
            E::HyperLegacyError { err } => err.is_connect(),
            E::HyperResponseError { err } => err.is_closed() || err.is_incomplete_message(),
            _ => false,
        };
        if gone {
            SandboxError::DockerGone {
                message: e.to_string(),
            }
        } else {
            SandboxError::Docker(e.to_string())
        }
    }
}
