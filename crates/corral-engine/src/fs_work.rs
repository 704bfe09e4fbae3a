//! Bulk disk work, kept off the async runtime (the engine's clippy.toml refuses the blocking
//! calls elsewhere).

use std::path::{Path, PathBuf};

/// Removes a folder and everything in it on a blocking thread. A folder already gone is fine.
pub(crate) async fn remove_tree(path: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || remove_tree_blocking(&path))
        .await
        .map_err(std::io::Error::other)?
}

/// The same, for code already on a blocking thread (inside `spawn_blocking`).
#[allow(clippy::disallowed_methods)] // its callers are off the async runtime
pub(crate) fn remove_tree_blocking(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
