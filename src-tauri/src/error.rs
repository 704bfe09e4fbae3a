//! The error every command returns: a machine-readable `kind` the UI branches on, the message
//! to show, and a fix when there is one. Built from the engine's typed error, never from text;
//! the kinds are the engine's own `ErrorKind`.

use corral_engine::EngineError;
pub use corral_engine::ErrorKind;
use serde::Serialize;
use specta::Type;

#[derive(Debug, Clone, Serialize, Type, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    pub fix: Option<String>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            fix: None,
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        ApiError {
            kind: err.kind(),
            message: err.to_string(),
            fix: err.fix(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
