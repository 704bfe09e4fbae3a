//! What the shell keeps: the engine, or why it could not start (shown in the window instead of
//! a blank screen).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use corral_engine::Engine;

use crate::error::{ApiError, ApiResult, ErrorKind};

#[derive(Debug)]
pub struct AppState {
    engine: Result<Arc<Engine>, ApiError>,
    /// Open run streams (`follow_run`), by token: dropping the sender ends the stream.
    streams: Mutex<HashMap<u32, tokio::sync::oneshot::Sender<()>>>,
    next_stream: AtomicU32,
}

impl AppState {
    pub fn new(engine: Result<Arc<Engine>, ApiError>) -> Self {
        AppState {
            engine,
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU32::new(1),
        }
    }

    /// Registers a stream; returns its token and what tells it to stop.
    pub fn open_stream(&self) -> (u32, tokio::sync::oneshot::Receiver<()>) {
        let token = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token, tx);
        (token, rx)
    }

    /// Ends a stream (unknown or finished tokens are fine).
    pub fn close_stream(&self, token: u32) {
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_command_body_becomes_an_internal_error() {
        let result: ApiResult<u32> = tauri::async_runtime::block_on(guarded(async {
            let values: Vec<u32> = Vec::new();
            // Index out of bounds: the kind of bug that must not take the app down.
            Ok(values[3])
        }));
        let err = result.expect_err("the panic is caught");
        assert_eq!(err.kind, ErrorKind::Internal);
        assert!(err.message.starts_with("internal error"), "{}", err.message);
        let ok: ApiResult<u32> = tauri::async_runtime::block_on(guarded(async { Ok(7) }));
        assert_eq!(ok.expect("fine"), 7);
    }

    #[test]
    fn without_an_engine_every_command_gets_the_startup_error() {
        let state = AppState::new(Err(ApiError::new(
            ErrorKind::DatabaseCorrupt,
            "corral.db is corrupt",
        )));
        let err = state.engine().expect_err("no engine");
        assert_eq!(err.kind, ErrorKind::DatabaseCorrupt);
    }
}
