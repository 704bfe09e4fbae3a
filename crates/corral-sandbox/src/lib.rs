//! Corral's container boundary (bollard). For now: reaching the Docker daemon and reading its
//! version, for the doctor. Containers, images and execs come with runs.

mod probe;

pub use probe::{DockerVersion, probe};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot reach the Docker daemon at {host}: {message}")]
    DockerUnreachable { host: String, message: String },
    #[error("the Docker daemon at {host} did not answer within {seconds} s")]
    DockerTimeout { host: String, seconds: u64 },
}
