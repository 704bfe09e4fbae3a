//! The engine's end of a run's link: the relay started in the container by a `docker exec`
//! whose stdin and stdout carry the multiplexed streams. Needs no network and no shared
//! socket, so it works with Docker Desktop too. Once `open_link` returns, the relay listens
//! on every service's port inside the container.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use corral_relay::{Incoming, Mux, Role};
use futures::StreamExt;

use crate::relay::{RELAY_IN_CONTAINER, RELAY_UID};
use crate::{DockerSandbox, SandboxError};

/// How long the relay may take to listen and say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of the relay's stderr is kept for an error message.
const STDERR_KEPT: usize = 4096;

/// A live link. Streams the relay opens (one per connection accepted inside the sandbox)
/// arrive on `incoming`, tagged with their door. Dropping the link ends it, and the relay
/// exits.
#[derive(Debug)]
pub struct Link {
    pub mux: Mux,
    pub incoming: Incoming,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.mux.shutdown();
    }
}

impl DockerSandbox {
    /// Starts the relay in `container` (it must have been made with the relay mounted, see
    /// `install_relay`) and waits until it listens.
    pub async fn open_link(&self, container: &str) -> Result<Link, SandboxError> {
        let failed = |message: String| SandboxError::Link {
            container: container.to_string(),
            message,
        };
        let config = ExecConfig {
            cmd: Some(vec![RELAY_IN_CONTAINER.to_string(), "link".to_string()]),
            user: Some(format!("{RELAY_UID}:{RELAY_UID}")),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            working_dir: Some("/".to_string()),
            ..Default::default()
        };
        let exec = self.docker.create_exec(container, config).await?;
        let start = StartExecOptions {
            detach: false,
            tty: false,
            ..Default::default()
        };
        let StartExecResults::Attached { output, input } =
            self.docker.start_exec(&exec.id, Some(start)).await?
        else {
            return Err(failed("Docker did not attach to the relay".into()));
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let kept = stderr.clone();
        let link_id = exec.id.clone();
        // Stdout is the link; stderr is the relay's complaints, logged and kept (bounded).
        // The start of stdout too: when the relay never ran, Docker's own complaint is there.
        let first_out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let first = first_out.clone();
        let stdout = output.filter_map(move |chunk| {
            let item = match chunk {
                Ok(LogOutput::StdOut { message }) => {
                    let mut first = first.lock().unwrap_or_else(|p| p.into_inner());
                    if first.len() < 512 {
                        let room = 512 - first.len();
                        first.extend_from_slice(&message[..message.len().min(room)]);
                    }
                    Some(Ok(message))
                }
                Ok(LogOutput::StdErr { message }) => {
                    // The relay says little (why it could not listen); more is not logged.
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    let room = STDERR_KEPT.saturating_sub(kept.len());
                    if room > 0 {
                        let text = String::from_utf8_lossy(&message[..message.len().min(room)]);
                        tracing::warn!(exec = %link_id, relay = %text.trim_end(), "the relay says");
                        kept.push_str(&text);
                    }
                    None
                }
                Ok(_) => None,
                Err(e) => Some(Err(std::io::Error::other(e))),
            };
            std::future::ready(item)
        });
        let reader = tokio_util::io::StreamReader::new(Box::pin(stdout));
        let (mux, incoming) = Mux::start(reader, input, Role::Engine);
        let link = Link { mux, incoming };
        let said_hello = tokio::time::timeout(HELLO_TIMEOUT, link.mux.peer_ready()).await;
        if said_hello == Ok(true) {
            return Ok(link);
        }
        // The relay exits on failing to listen: give its last words a moment to arrive.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut said = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if said.trim().is_empty() {
            // Not frames: printable text from Docker (the frames start with binary ids).
            let out = first_out.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let text = String::from_utf8_lossy(&out);
            if text.chars().all(|c| !c.is_control() || c.is_whitespace()) {
                said = text.into_owned();
            }
        }
        let said = said.trim();
        Err(failed(match said_hello {
            Err(_) => format!(
                "the relay did not start within {} s{}",
                HELLO_TIMEOUT.as_secs(),
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            ),
            Ok(_) if said.is_empty() => "the relay ended before it listened".to_string(),
            Ok(_) => format!("the relay failed: {said}"),
        }))
    }
}
