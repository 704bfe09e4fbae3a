//! What the shell keeps: the engine, or why it could not start (shown in the window instead of
//! a blank screen).

use std::future::Future;
use std::sync::Arc;

use corral_engine::Engine;

use crate::error::{ApiError, ApiResult, ErrorKind};

#[derive(Debug)]
pub struct AppState {
    engine: Result<Arc<Engine>, ApiError>,
}

impl AppState {
    pub fn new(engine: Result<Arc<Engine>, ApiError>) -> Self {
        AppState { engine }
    }

    /// A handle to the engine, or the start-up error.
    pub fn engine(&self) -> ApiResult<Arc<Engine>> {
        self.engine.clone()
    }
}

/// Runs a command body on its own task so that a panic becomes an `internal` error for the UI
/// instead of a lost reply (the app keeps running either way).
pub async fn guarded<T, F>(body: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: Future<Output = ApiResult<T>> + Send + 'static,
{
    match tauri::async_runtime::spawn(body).await {
        Ok(result) => result,
        Err(err) => {
            tracing::error!(error = %err, "command panicked");
            Err(ApiError::new(
                ErrorKind::Internal,
                format!("internal error: {err}"),
            ))
        }
    }
}
