//! What a run's sandbox asked of the network, as Corral's gateway saw it: every request to a
//! model API or through the proxy, allowed or blocked and why. Recorded as run events.

use serde::{Deserialize, Serialize};

/// Which door of the gateway a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum NetworkDoor {
    /// Other hosts, through the allowlist.
    Proxy,
    Anthropic,
    OpenAi,
    Gemini,
}

/// Why the gateway refused a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum BlockRule {
    /// The host is not in the project's `allow-hosts`.
    NotAllowed,
    /// The host is, or resolves to, an address the gateway never reaches unless the allowlist
    /// names that address itself (loopback, private, link-local, cloud metadata).
    PrivateAddress { address: String },
    /// Not one of the provider's model endpoints.
    NotModelEndpoint,
    /// The request did not carry this run's placeholder key.
    BadPlaceholder,
    /// The run has ended: its placeholder is revoked.
    RunEnded,
    /// The run's token budget is spent.
    BudgetSpent { budget: u64, used: u64 },
    /// Over the gateway's size limit.
    TooLarge { limit: u64 },
    /// Not a request the door understands.
    Malformed,
}

impl BlockRule {
    pub fn describe(&self) -> String {
        match self {
            BlockRule::NotAllowed => "not in the project's allow-hosts".into(),
            BlockRule::PrivateAddress { address } => format!(
                "{address} is a loopback, private, link-local or metadata address, never reached unless allow-hosts names it"
            ),
            BlockRule::NotModelEndpoint => "not one of the provider's model endpoints".into(),
            BlockRule::BadPlaceholder => "without this run's key placeholder".into(),
            BlockRule::RunEnded => "the run has ended; its key placeholder is revoked".into(),
            BlockRule::BudgetSpent { budget, used } => {
                format!("the run's token budget is spent ({used} of {budget} tokens)")
            }
            BlockRule::TooLarge { limit } => format!("over the {limit}-byte limit"),
            BlockRule::Malformed => "not a request the gateway understands".into(),
        }
    }
}

/// One request through the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRequest {
    pub door: NetworkDoor,
    /// The host asked for (the provider's upstream host for a model request).
    pub host: String,
    /// `CONNECT` for a tunnel.
    pub method: String,
    /// The path without its query (empty for a tunnel).
    pub path: String,
    /// The status the sandbox got back (none when the connection broke first).
    pub status: Option<u16>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub duration_ms: u64,
    /// `None`: allowed.
    pub blocked: Option<BlockRule>,
    /// Tokens the provider reported for a model request.
    #[serde(default)]
    pub tokens: Option<u64>,
    /// Provider-side tools removed from a model request (`web_search`, ...).
    #[serde(default)]
    pub stripped_tools: Vec<String>,
}

/// What a run asked of the network, summed up ("214 requests, 2 blocked: registry.npmjs.org").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkSummary {
    pub requests: u64,
    pub blocked: u64,
    /// The hosts of blocked requests, each once, in the order first blocked.
    pub blocked_hosts: Vec<String>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub tokens: u64,
}

impl NetworkSummary {
    pub fn of<'a>(requests: impl IntoIterator<Item = &'a NetworkRequest>) -> NetworkSummary {
        let mut sum = NetworkSummary::default();
        for r in requests {
            sum.requests += 1;
            sum.bytes_up += r.bytes_up;
            sum.bytes_down += r.bytes_down;
            sum.tokens += r.tokens.unwrap_or(0);
            if r.blocked.is_some() {
                sum.blocked += 1;
                if !sum.blocked_hosts.contains(&r.host) {
                    sum.blocked_hosts.push(r.host.clone());
                }
            }
        }
        sum
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} request{}",
            self.requests,
            if self.requests == 1 { "" } else { "s" }
        );
        if self.blocked > 0 {
            text.push_str(&format!(
                ", {} blocked: {}",
                self.blocked,
                self.blocked_hosts.join(", ")
            ));
        }
        if self.tokens > 0 {
            text.push_str(&format!(", {} tokens", self.tokens));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: &str, blocked: Option<BlockRule>, tokens: Option<u64>) -> NetworkRequest {
        NetworkRequest {
            door: NetworkDoor::Proxy,
            host: host.into(),
            method: "CONNECT".into(),
            path: String::new(),
            status: Some(200),
            bytes_up: 10,
            bytes_down: 20,
            duration_ms: 1,
            blocked,
            tokens,
            stripped_tools: Vec::new(),
        }
    }

    #[test]
    fn a_summary_counts_requests_blocked_hosts_once_and_tokens() {
        let all = [
            request("api.anthropic.com", None, Some(150)),
            request("registry.npmjs.org", Some(BlockRule::NotAllowed), None),
            request("registry.npmjs.org", Some(BlockRule::NotAllowed), None),
            request("evil.invalid", Some(BlockRule::NotAllowed), None),
        ];
        let sum = NetworkSummary::of(&all);
        assert_eq!((sum.requests, sum.blocked, sum.tokens), (4, 3, 150));
        assert_eq!(sum.blocked_hosts, ["registry.npmjs.org", "evil.invalid"]);
        assert_eq!(
            sum.describe(),
            "4 requests, 3 blocked: registry.npmjs.org, evil.invalid, 150 tokens"
        );
    }
}
