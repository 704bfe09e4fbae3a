//! Tauri commands: each parses ids, calls one engine operation and converts the result to a
//! DTO. No business logic lives here.

pub mod graph;
pub mod health;
pub mod inbox;
pub mod projects;
pub mod run_stream;
pub mod runs;
pub mod settings;
pub mod tasks;

use std::str::FromStr;

use crate::error::{ApiError, ErrorKind};

/// Parses an id sent by the UI.
pub(crate) fn parse_id<T: FromStr>(what: &str, s: &str) -> Result<T, ApiError> {
    s.parse().map_err(|_| {
        ApiError::new(
            ErrorKind::InvalidId,
            format!("`{s}` is not a valid {what} id"),
        )
    })
}
