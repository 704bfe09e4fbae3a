//! API keys. They live in the OS keychain (the Secret Service on Linux, Keychain on macOS,
//! the Credential Manager on Windows) under the service `corral`, one entry per variable name
//! (`ANTHROPIC_API_KEY`). Where there is no keychain (a headless machine, CI), a key is read
//! from Corral's own environment instead, with a warning. A key's value only ever goes into
//! the environment of the run step that needs it: never into a log, the database or the UI.

use corral_core::Runtime;

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

const SERVICE: &str = "corral";

/// Where a key was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Keychain,
    Environment,
}

impl KeySource {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeySource::Keychain => "keychain",
            KeySource::Environment => "environment",
        }
    }
}

/// One key variable an agent runtime reads, and whether Corral has a value for it (never the
/// value itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub name: String,
    pub runtimes: Vec<Runtime>,
    pub source: Option<KeySource>,
}

/// A key found for a run. `Debug` never shows the value.
pub(crate) struct FoundKey {
    pub name: String,
    pub value: String,
    pub source: KeySource,
    /// Why the keychain could not be asked, when it could not.
    pub keychain_error: Option<String>,
}

impl std::fmt::Debug for FoundKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoundKey")
            .field("name", &self.name)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The value stored in the keychain for `name`; `Err` when there is no usable keychain.
fn keychain_get(name: &str) -> Result<Option<String>, String> {
    let entry = keyring::Entry::new(SERVICE, name).map_err(|e| e.to_string())?;
    match entry.get_password() {
        Ok(value) => Ok(Some(value)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn env_get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The first of `names` that has a value: the keychain first, then the environment.
fn find(names: &[&str]) -> Option<FoundKey> {
    let mut keychain_error = None;
    for name in names {
        match keychain_get(name) {
            Ok(Some(value)) => {
                return Some(FoundKey {
                    name: name.to_string(),
                    value,
                    source: KeySource::Keychain,
                    keychain_error: None,
                });
            }
            Ok(None) => {}
            Err(e) => keychain_error = Some(e),
        }
    }
    names.iter().find_map(|name| {
        env_get(name).map(|value| FoundKey {
            name: name.to_string(),
            value,
            source: KeySource::Environment,
            keychain_error: keychain_error.clone(),
        })
    })
}

/// Looks up one of `names` off the async runtime (a keychain call is blocking D-Bus IO).
pub(crate) async fn lookup(names: &'static [&'static str]) -> EngineResult<Option<FoundKey>> {
    tokio::task::spawn_blocking(move || find(names))
        .await
        .map_err(EngineError::from)
}

/// Every key variable some runtime reads, with the runtimes that read it.
fn known_keys() -> Vec<(&'static str, Vec<Runtime>)> {
    let mut keys: Vec<(&'static str, Vec<Runtime>)> = Vec::new();
    for runtime in Runtime::ALL {
        if let Some(adapter) = corral_agents::adapter_for(runtime) {
            for name in adapter.key_names() {
                match keys.iter_mut().find(|(n, _)| n == name) {
                    Some((_, runtimes)) => runtimes.push(runtime),
                    None => keys.push((name, vec![runtime])),
                }
            }
        }
    }
    keys
}

fn check_name(name: &str) -> EngineResult<&'static str> {
    known_keys()
        .into_iter()
        .map(|(n, _)| n)
        .find(|n| *n == name)
        .ok_or_else(|| EngineError::Keychain {
            reason: format!(
                "`{name}` is not a key any runtime reads; known keys: {}",
                known_keys()
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

fn keychain_failed(e: impl std::fmt::Display, name: &str) -> EngineError {
    EngineError::Keychain {
        reason: format!(
            "the OS keychain is not available ({e}); set {name} in Corral's environment instead"
        ),
    }
}

impl Engine {
    /// Which key variables have a value and where from (never the values).
    pub async fn api_keys(&self) -> EngineResult<Vec<KeyStatus>> {
        tokio::task::spawn_blocking(|| {
            known_keys()
                .into_iter()
                .map(|(name, runtimes)| {
                    let source = match keychain_get(name) {
                        Ok(Some(_)) => Some(KeySource::Keychain),
                        _ => env_get(name).map(|_| KeySource::Environment),
                    };
                    KeyStatus {
                        name: name.to_string(),
                        runtimes,
                        source,
                    }
                })
                .collect()
        })
        .await
        .map_err(EngineError::from)
    }

    /// Stores a key in the OS keychain.
    pub async fn set_api_key(&self, name: &str, value: &str) -> EngineResult<()> {
        let name = check_name(name)?;
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(EngineError::Keychain {
                reason: format!("the value for {name} is empty"),
            });
        }
        tokio::task::spawn_blocking(move || {
            keyring::Entry::new(SERVICE, name)
                .and_then(|entry| entry.set_password(&value))
                .map_err(|e| keychain_failed(e, name))
        })
        .await
        .map_err(EngineError::from)??;
        tracing::info!(key = name, "API key stored in the keychain");
        Ok(())
    }

    /// Removes a key from the OS keychain; removing one that is not there is fine.
    pub async fn delete_api_key(&self, name: &str) -> EngineResult<()> {
        let name = check_name(name)?;
        tokio::task::spawn_blocking(move || {
            match keyring::Entry::new(SERVICE, name).and_then(|entry| entry.delete_credential()) {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(keychain_failed(e, name)),
            }
        })
        .await
        .map_err(EngineError::from)??;
        tracing::info!(key = name, "API key removed from the keychain");
        Ok(())
    }
}
