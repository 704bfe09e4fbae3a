//! Logging for the binaries: a daily-rolling file in `<data_dir>/logs` (14 days kept), and
//! stderr when asked. The filter comes from `CORRAL_LOG` (default `info`).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the log writer alive; drop it last so buffered lines reach the file.
#[derive(Debug)]
pub struct LogGuard {
    _file: WorkerGuard,
}

/// Installs the global subscriber. Fails (without installing anything) when the logs folder
/// cannot be created.
pub fn init(logs_dir: &Path, to_stderr: bool) -> std::io::Result<LogGuard> {
    // The data dir is made private before anything is written into it (the engine fixes an
    // open one, and says so, when it opens).
    if let Some(data_dir) = logs_dir.parent()
        && !data_dir.exists()
    {
        crate::engine::ensure_private_dir(data_dir).map_err(std::io::Error::other)?;
    }
    std::fs::create_dir_all(logs_dir)?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("corral")
        .filename_suffix("log")
        .max_log_files(14)
        .build(logs_dir)
        .map_err(std::io::Error::other)?;
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    let filter = || {
        EnvFilter::try_from_env("CORRAL_LOG")
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"))
    };
    let file_layer = tracing_subscriber::fmt::layer()
        .with_writer(file_writer)
        .with_ansi(false)
        .with_filter(filter());
    let stderr_layer = to_stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    // A second init in the same process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
    Ok(LogGuard { _file: guard })
}
