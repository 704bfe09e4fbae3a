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
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
