//! App-wide settings (not per project): a small set of known keys with validated values, kept
//! in the `settings` table. Secrets never go here; they live in the OS keychain.

use std::collections::BTreeMap;

use corral_core::ValidationError;
use corral_store::{SettingMutation, SettingQuery};

use crate::engine::Engine;
use crate::error::EngineResult;

/// Each known setting with its allowed values (the first is the default).
pub const APP_SETTINGS: [(&str, &[&str]); 1] = [("theme", &["system", "light", "dark"])];

fn allowed(key: &str) -> Result<&'static [&'static str], ValidationError> {
    APP_SETTINGS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .ok_or(ValidationError::BadValue {
            field: "setting",
            given: key.to_string(),
            expected: "one of: theme",
        })
}

impl Engine {
    /// Every known setting, with its default where none is stored.
    pub async fn settings(&self) -> EngineResult<BTreeMap<String, String>> {
        let stored = SettingQuery::all(self.store.db()).await?;
        Ok(APP_SETTINGS
            .iter()
            .map(|(key, values)| {
                let value = stored
                    .get(*key)
                    .filter(|v| values.contains(&v.as_str()))
                    .cloned()
                    .unwrap_or_else(|| values[0].to_string());
                (key.to_string(), value)
            })
            .collect())
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> EngineResult<()> {
        let values = allowed(key)?;
        if !values.contains(&value) {
            return Err(ValidationError::BadValue {
                field: "setting value",
                given: value.to_string(),
                expected: "one of the values the setting allows",
            }
            .into());
        }
        SettingMutation::set(self.store.db(), key, value, Engine::now().0).await?;
        Ok(())
    }
}
