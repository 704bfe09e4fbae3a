//! A run's gateway (issue 15): the sandbox's only way out, reached through the relay's doors.
//! Model requests carry only a placeholder made for the run; the gateway checks it, replaces
//! it with the real key (which never enters the sandbox), removes provider-side tools unless
//! allowed, keeps to the run's token budget, and streams the answer back. The proxy door
//! reaches other hosts only when the project's allowlist names them, never an internal
//! address. Every request is reported (`NetworkRequest`).

mod gateway;
mod metered;
mod model;
mod provider;
mod proxy;
mod resolve;
mod rules;
mod tools;
mod usage;

pub use gateway::{EventSink, GatewayConfig, RunGateway, Upstream};
pub use model::MAX_MODEL_REQUEST;
pub use provider::Provider;
pub use resolve::{Resolve, SystemResolver};
pub use rules::{AllowList, is_internal};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the {provider} upstream `{url}` cannot be used: {reason}")]
    BadUpstream {
        provider: &'static str,
        url: String,
        reason: String,
    },
}

/// A key or placeholder: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}
