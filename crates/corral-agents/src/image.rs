//! The agent image: the Dockerfile Corral builds a run's image from when the project names no
//! ready image. `FROM` the project's base image plus the runtime's pinned package, tagged by a
//! hash of the Dockerfile's text, so an image is built once per (base, runtime, version) and
//! reused after.

use corral_core::Runtime;
use sha2::{Digest, Sha256};

/// The base image when the project names none: Debian bookworm slim with Node.js 22 (Gemini CLI
/// needs Node 20+), from Docker Hub.
pub const DEFAULT_BASE_IMAGE: &str = "node:22-bookworm-slim";

/// Where the agent's programs are installed inside the image (its `bin` goes on PATH).
pub const AGENT_PREFIX: &str = "/opt/corral-agent";

/// How a runtime's program gets into the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentPackage {
    /// An npm package at a pinned version (its `bin` entries become commands).
    Npm {
        name: &'static str,
        version: &'static str,
    },
    /// A PyPI package at a pinned version, in its own virtualenv; `program` is linked onto PATH.
    Pip {
        name: &'static str,
        version: &'static str,
        program: &'static str,
    },
    /// The vendor's own install script (not pinnable); `program` is linked onto PATH.
    Script {
        url: &'static str,
        program: &'static str,
    },
}

/// A generated image: its tag and the Dockerfile that builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentImage {
    pub tag: String,
    pub dockerfile: String,
}

/// Installs `packages` with apt when the command `program` is missing (images without apt
/// get a clear message instead).
fn ensure_program(program: &str, packages: &str, base: &str) -> String {
    format!(
        "RUN if ! command -v {program} >/dev/null 2>&1; then \\\n\
         \x20     if command -v apt-get >/dev/null 2>&1; then \\\n\
         \x20       apt-get update && apt-get install -y --no-install-recommends {packages} \
         && rm -rf /var/lib/apt/lists/*; \\\n\
         \x20     else echo \"corral: {base} has no {program} and no apt-get to install it; set \
         base-image to an image with it, or agent-image to a ready image\" >&2; exit 1; fi; \\\n\
         \x20   fi\n"
    )
}

fn install_steps(package: &AgentPackage, base: &str) -> String {
    match package {
        AgentPackage::Npm { name, version } => format!(
            "{}RUN npm install --global --prefix {AGENT_PREFIX} --no-audit --no-fund \
             --loglevel=error --cache /tmp/corral-npm-cache {name}@{version} \\\n\
             \x20   && rm -rf /tmp/corral-npm-cache\n",
            ensure_program("npm", "nodejs npm ca-certificates", base)
        ),
        AgentPackage::Pip {
            name,
            version,
            program,
        } => format!(
            "{}RUN python3 -m venv {AGENT_PREFIX}/venv \\\n\
             \x20   && {AGENT_PREFIX}/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
             {name}=={version} \\\n\
             \x20   && mkdir -p {AGENT_PREFIX}/bin && ln -s ../venv/bin/{program} {AGENT_PREFIX}/bin/{program}\n",
            ensure_program("python3", "python3 python3-venv ca-certificates", base)
        ),
        // Installed into its own home under the prefix (readable by the run's user, unlike
        // /root), its command linked onto PATH.
        AgentPackage::Script { url, program } => format!(
            "{}RUN mkdir -p {AGENT_PREFIX}/home {AGENT_PREFIX}/bin \\\n\
             \x20   && curl -fsSL {url} | HOME={AGENT_PREFIX}/home bash \\\n\
             \x20   && ln -s ../home/.local/bin/{program} {AGENT_PREFIX}/bin/{program}\n",
            ensure_program("curl", "curl ca-certificates bash", base)
        ),
    }
}

/// The Dockerfile and tag of the agent image for `runtime` on `base`.
pub fn agent_image(base: &str, runtime: Runtime, package: &AgentPackage) -> AgentImage {
    let dockerfile = format!(
        "# Corral's agent image for {runtime} (generated; its tag is a hash of this text).\n\
         FROM {base}\n\
         USER root\n\
         {}\
         ENV PATH={AGENT_PREFIX}/bin:$PATH\n",
        install_steps(package, base)
    );
    let digest = Sha256::digest(dockerfile.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    AgentImage {
        tag: format!("corral-agent/{runtime}:{hash}"),
        dockerfile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAUDE: AgentPackage = AgentPackage::Npm {
        name: "@anthropic-ai/claude-code",
        version: "2.1.332",
    };

    #[test]
    fn the_tag_follows_every_input_and_nothing_else() {
        let a = agent_image("debian:bookworm-slim", Runtime::ClaudeCode, &CLAUDE);
        assert_eq!(
            a,
            agent_image("debian:bookworm-slim", Runtime::ClaudeCode, &CLAUDE),
            "the same inputs give the same image"
        );
        assert!(a.tag.starts_with("corral-agent/claude-code:"), "{}", a.tag);
        assert_eq!(a.tag.len(), "corral-agent/claude-code:".len() + 16);
        let other_base = agent_image("node:22", Runtime::ClaudeCode, &CLAUDE);
        let other_version = agent_image(
            "debian:bookworm-slim",
            Runtime::ClaudeCode,
            &AgentPackage::Npm {
                name: "@anthropic-ai/claude-code",
                version: "2.1.333",
            },
        );
        assert_ne!(a.tag, other_base.tag);
        assert_ne!(a.tag, other_version.tag);
    }

    #[test]
    fn the_dockerfile_pins_the_package_and_puts_it_on_path() {
        let a = agent_image("me/base:1", Runtime::ClaudeCode, &CLAUDE);
        assert!(
            a.dockerfile.contains("\nFROM me/base:1\n"),
            "{}",
            a.dockerfile
        );
        assert!(
            a.dockerfile
                .contains("--prefix /opt/corral-agent --no-audit --no-fund --loglevel=error --cache /tmp/corral-npm-cache @anthropic-ai/claude-code@2.1.332"),
            "{}",
            a.dockerfile
        );
        assert!(
            a.dockerfile
                .ends_with("ENV PATH=/opt/corral-agent/bin:$PATH\n")
        );
        let aider = agent_image(
            "me/base:1",
            Runtime::Aider,
            &AgentPackage::Pip {
                name: "aider-chat",
                version: "0.86.1",
                program: "aider",
            },
        );
        assert!(
            aider.dockerfile.contains(
                "pip install --no-cache-dir --disable-pip-version-check aider-chat==0.86.1"
            )
        );
        assert!(
            aider
                .dockerfile
                .contains("ln -s ../venv/bin/aider /opt/corral-agent/bin/aider")
        );
    }
}
