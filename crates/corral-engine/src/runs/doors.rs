//! Where a run's sandbox finds its ways out: the relay's fixed loopback ports in a container,
//! or loopback ports of this machine chosen for a local run (kept for a restart); the proxy
//! variables every step gets; and how an agent starts Corral's MCP server behind them.

use corral_core::RunId;
use corral_gateway::Provider;
use corral_relay::Service;

use crate::engine::Engine;

/// Where the sandbox finds the gateway's model doors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Doors {
    /// The relay's fixed ports inside a container.
    Relay,
    /// Ports of this machine's loopback (the local sandbox), chosen for the run. A run started
    /// by a Corral without the MCP server has no MCP port.
    Loopback {
        anthropic: u16,
        openai: u16,
        gemini: u16,
        mcp: Option<u16>,
    },
}

impl Doors {
    pub(super) fn port(self, provider: Provider) -> u16 {
        match (self, provider) {
            (Doors::Relay, Provider::Anthropic) => Service::Anthropic.port(),
            (Doors::Relay, Provider::OpenAi) => Service::OpenAi.port(),
            (Doors::Relay, Provider::Gemini) => Service::Gemini.port(),
            (Doors::Loopback { anthropic, .. }, Provider::Anthropic) => anthropic,
            (Doors::Loopback { openai, .. }, Provider::OpenAi) => openai,
            (Doors::Loopback { gemini, .. }, Provider::Gemini) => gemini,
        }
    }

    /// How the agent starts Corral's MCP server: the relay in `mcp` mode, a pipe to the MCP
    /// door (`local_relay`: where the relay is on this machine, for a local run).
    pub fn mcp_server(self, local_relay: &std::path::Path) -> Option<corral_agents::McpServer> {
        match self {
            Doors::Relay => Some(corral_agents::McpServer {
                command: corral_sandbox::RELAY_IN_CONTAINER.to_string(),
                args: vec!["mcp".to_string()],
            }),
            Doors::Loopback {
                mcp: Some(port), ..
            } => Some(corral_agents::McpServer {
                command: local_relay.display().to_string(),
                args: vec!["mcp".into(), "--port".into(), port.to_string()],
            }),
            Doors::Loopback { mcp: None, .. } => None,
        }
    }

    /// The base URL an agent is given for `provider` (OpenAI's written with its version, as
    /// OpenAI clients expect).
    pub fn url(self, provider: Provider) -> String {
        let port = self.port(provider);
        match provider {
            Provider::OpenAi => format!("http://127.0.0.1:{port}/v1"),
            Provider::Anthropic | Provider::Gemini => format!("http://127.0.0.1:{port}"),
        }
    }
}

/// The loopback ports of a local run's doors: chosen at its first plan (free then) and kept in
/// its host-only folder, so a restarted Corral opens the same ones its running agent uses.
pub(crate) fn loopback_doors(ctx: &Engine, run: RunId) -> std::io::Result<Doors> {
    let dir = ctx.run_dir(run);
    let file = dir.join("gateway-ports");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let ports: Vec<u16> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        match ports[..] {
            [anthropic, openai, gemini] => {
                return Ok(Doors::Loopback {
                    anthropic,
                    openai,
                    gemini,
                    mcp: None,
                });
            }
            [anthropic, openai, gemini, mcp] => {
                return Ok(Doors::Loopback {
                    anthropic,
                    openai,
                    gemini,
                    mcp: Some(mcp),
                });
            }
            _ => {}
        }
    }
    let mut ports = Vec::new();
    let mut held = Vec::new();
    let mut pick = PortPicker::seeded(run);
    for _ in 0..4 {
        let listener = pick.listener()?;
        ports.push(listener.local_addr()?.port());
        held.push(listener); // held until all are chosen: different ports
    }
    std::fs::create_dir_all(&dir)?;
    let tmp = file.with_extension("tmp");
    std::fs::write(
        &tmp,
        format!("{} {} {} {}", ports[0], ports[1], ports[2], ports[3]),
    )?;
    std::fs::rename(&tmp, &file)?;
    Ok(Doors::Loopback {
        anthropic: ports[0],
        openai: ports[1],
        gemini: ports[2],
        mcp: Some(ports[3]),
    })
}

/// Where a local run's doors are tried first: below Linux's ephemeral range (32768-60999),
/// from which every outgoing connection on this machine takes its port, so the ports stay free
/// between the plan choosing them and the gateway opening them.
const DOOR_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// Picks free loopback ports in `DOOR_PORTS` (a small xorshift: spread, not secret).
struct PortPicker(u64);

impl PortPicker {
    fn seeded(run: RunId) -> PortPicker {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()) ^ d.as_secs());
        let id = run
            .to_string()
            .bytes()
            .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b));
        PortPicker((nanos ^ id ^ u64::from(std::process::id())) | 1)
    }

    fn next(&mut self) -> u16 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let span = u64::from(DOOR_PORTS.end - DOOR_PORTS.start);
        // Below `span`, which is a u16.
        DOOR_PORTS.start + u16::try_from(self.0 % span).unwrap_or(0)
    }

    /// A listener on a free port of the range; any free port when none of a few tries is.
    fn listener(&mut self) -> std::io::Result<std::net::TcpListener> {
        for _ in 0..64 {
            if let Ok(listener) =
                std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, self.next()))
            {
                return Ok(listener);
            }
        }
        std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
    }
}

/// The environment every step gets: its HTTP traffic goes to the gateway's proxy door (both
/// spellings: curl and busybox read only the lower-case ones), loopback stays direct, and
/// Node's own fetch is told to follow the variables.
pub(crate) fn proxy_env() -> Vec<(String, String)> {
    let proxy = format!("http://127.0.0.1:{}", Service::Proxy.port());
    let no_proxy = "127.0.0.1,localhost,::1".to_string();
    vec![
        ("HTTP_PROXY".into(), proxy.clone()),
        ("HTTPS_PROXY".into(), proxy.clone()),
        ("http_proxy".into(), proxy.clone()),
        ("https_proxy".into(), proxy),
        ("NO_PROXY".into(), no_proxy.clone()),
        ("no_proxy".into(), no_proxy),
        ("NODE_USE_ENV_PROXY".into(), "1".into()),
    ]
}
