//! `Engine`: one open data dir. A cheap handle (clones share everything) to the store, the
//! run-event writer, the event bus and the run registry; the operations live in `projects`,
//! `tasks`, `runs` and `doctor`. Run supervisors hold a clone.

use std::ops::Deref;
use std::sync::Arc;

use corral_core::Timestamp;
use corral_store::{EventWriter, Store, WriterConfig};
use tokio::sync::broadcast;

use crate::config::Config;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;
use crate::merged::MergedCache;
use crate::runs::registry::RunRegistry;

/// Events kept for a slow subscriber before it sees `Lagged` (it then re-reads state).
const BUS_CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
pub struct Engine(Arc<Shared>);

/// What every clone of an `Engine` shares.
#[derive(Debug)]
pub struct Shared {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) events: EventWriter,
    pub(crate) bus: broadcast::Sender<EngineEvent>,
    pub(crate) runs: RunRegistry,
    /// Which results the project branches hold, per branch tip.
    pub(crate) merged: MergedCache,
    /// Task listings as computed, while nothing they are made of changed.
    pub(crate) listings: crate::listing_cache::ListingCache,
}

impl Deref for Engine {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Creates `path` (and missing parents) readable by its owner only, and takes group and other
/// access away from it when an earlier Corral made it open: the data dir holds every prompt,
/// log and checkout. Returns whether an existing folder had to be fixed.
pub(crate) fn ensure_private_dir(path: &std::path::Path) -> Result<bool, String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| e.to_string())?;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("it is not a folder".into());
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
        .map_err(|e| format!("it is readable by other users and could not be fixed: {e}"))?;
    Ok(true)
}

/// Creates the data dir if needed (owner only) and proves it is writable by writing a file
/// into it.
pub(crate) fn ensure_writable_dir(path: &std::path::Path) -> Result<(), String> {
    if ensure_private_dir(path)? {
        tracing::warn!(
            path = %path.display(),
            "the data dir was readable by other users; it is now readable by its owner only"
        );
    }
    let probe = path.join(format!(".corral-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(|e| e.to_string())?;
    std::fs::remove_file(&probe).map_err(|e| e.to_string())?;
    Ok(())
}

impl Engine {
    /// Opens (creating if needed) the data dir and its database. Does not touch Docker, so
    /// everything but runs works without it.
    #[tracing::instrument(skip_all, fields(data_dir = %config.data_dir.display()))]
    pub async fn open(config: Config) -> EngineResult<Engine> {
        let data_dir = config.data_dir.clone();
        let db_path = config.database_path()?;
        tokio::task::spawn_blocking(move || ensure_writable_dir(&data_dir))
            .await
            .map_err(EngineError::from)?
            .map_err(|reason| EngineError::DataDirNotWritable {
                path: config.data_dir.clone(),
                reason,
            })?;
        let store = Store::open(&db_path).await?;
        let events = EventWriter::spawn(store.db().clone(), WriterConfig::default());
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        tracing::info!(db = %db_path.display(), "engine open");
        Ok(Engine(Arc::new(Shared {
            config,
            store,
            events,
            bus,
            runs: RunRegistry::default(),
            merged: MergedCache::default(),
            listings: Default::default(),
        })))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every change from now on. A subscriber that falls more than `BUS_CAPACITY` events behind
    /// gets `Lagged` and should re-read what it shows.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.bus.subscribe()
    }

    /// The run-event writer (the only writer of run logs).
    pub fn event_writer(&self) -> &EventWriter {
        &self.events
    }

    pub(crate) fn publish(&self, event: EngineEvent) {
        // Nobody listening is fine.
        let _ = self.bus.send(event);
    }

    pub(crate) fn now() -> Timestamp {
        crate::clock::now()
    }

    /// Flushes pending run events and closes the database (for every clone).
    pub async fn close(self) -> EngineResult<()> {
        self.events.flush().await?;
        self.store.clone().close().await?;
        Ok(())
    }
}
