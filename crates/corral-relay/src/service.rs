//! The services a sandbox reaches through the relay, each on a fixed loopback port inside the
//! sandbox (its door), so an agent's settings can name them before the run starts.

use crate::Door;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Other hosts, through the allowlist (`HTTP_PROXY` / `HTTPS_PROXY`).
    Proxy,
    /// Anthropic's model API (`ANTHROPIC_BASE_URL`).
    Anthropic,
    /// OpenAI's model API (`OPENAI_BASE_URL`, Codex's provider base URL).
    OpenAi,
    /// Google's Gemini API (`GOOGLE_GEMINI_BASE_URL`).
    Gemini,
    /// Corral's MCP server.
    Mcp,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::Proxy,
        Service::Anthropic,
        Service::OpenAi,
        Service::Gemini,
        Service::Mcp,
    ];

    /// The door byte a stream for this service is opened with.
    pub fn door(self) -> Door {
        match self {
            Service::Proxy => 0,
            Service::Anthropic => 1,
            Service::OpenAi => 2,
            Service::Gemini => 3,
            Service::Mcp => 9,
        }
    }

    pub fn from_door(door: Door) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.door() == door)
    }

    /// The port the relay listens on, on 127.0.0.1 inside the sandbox.
    pub fn port(self) -> u16 {
        47180 + u16::from(self.door())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doors_and_ports_are_distinct_and_round_trip() {
        for s in Service::ALL {
            assert_eq!(Service::from_door(s.door()), Some(s));
        }
        let mut ports: Vec<u16> = Service::ALL.iter().map(|s| s.port()).collect();
        ports.dedup();
        assert_eq!(ports.len(), Service::ALL.len());
        assert_eq!(Service::Anthropic.port(), 47181);
        assert_eq!(Service::from_door(200), None);
    }
}
