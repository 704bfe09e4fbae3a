//! Health checks and app settings.

use corral_engine::{Check, CheckStatus};
use serde::{Deserialize, Serialize};
use specta::Type;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatusDto {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct CheckDto {
    pub name: String,
    pub status: CheckStatusDto,
    pub detail: String,
    pub fix: Option<String>,
}

impl From<&Check> for CheckDto {
    fn from(c: &Check) -> Self {
        CheckDto {
            name: c.name.to_string(),
            status: match c.status {
                CheckStatus::Ok => CheckStatusDto::Ok,
                CheckStatus::Warn => CheckStatusDto::Warn,
                CheckStatus::Fail => CheckStatusDto::Fail,
            },
            detail: c.detail.clone(),
            fix: c.fix.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ThemeDto {
    System,
    Light,
    Dark,
}

impl ThemeDto {
    pub fn as_str(&self) -> &'static str {
        match self {
            ThemeDto::System => "system",
            ThemeDto::Light => "light",
            ThemeDto::Dark => "dark",
        }
    }

    pub fn parse(s: &str) -> ThemeDto {
        match s {
            "light" => ThemeDto::Light,
            "dark" => ThemeDto::Dark,
            _ => ThemeDto::System,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct SettingsDto {
    pub theme: ThemeDto,
    /// Where Corral keeps its data (shown, not editable here).
    pub data_dir: String,
}
