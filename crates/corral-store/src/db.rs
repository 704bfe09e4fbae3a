//! Opening the SQLite file: refuse anything that is not SQLite before SQLite can touch it, then
//! WAL mode, a busy timeout, foreign keys, and the migrations.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{DatabaseConnection, SqlxSqliteConnector};
use sea_orm_migration::MigratorTrait;

use crate::error::{StoreError, StoreResult};
use crate::migration::Migrator;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// An open Corral database.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    path: PathBuf,
}

/// Checks the file's first bytes: an empty or missing file is fine (SQLite creates it), anything
/// else must carry SQLite's header. This keeps a corrupt or foreign file byte-for-byte untouched.
fn check_header(path: &Path) -> StoreResult<()> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => {
                return Err(StoreError::Open {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    if read == 0 || (read == header.len() && &header == SQLITE_HEADER) {
        Ok(())
    } else {
        Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
        })
    }
}

fn map_open_error(path: &Path, err: sea_orm::DbErr) -> StoreError {
    let text = err.to_string();
    if text.contains("file is not a database") || text.contains("malformed") {
        StoreError::NotADatabase {
            path: path.to_path_buf(),
        }
    } else if text.contains("is missing, this migration has been applied") {
        StoreError::NewerSchema {
            path: path.to_path_buf(),
            detail: text,
        }
    } else {
        StoreError::Db(err)
    }
}

impl Store {
    /// Opens (creating if missing) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<Store> {
        check_header(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives the process being killed; only a power
            // loss can take the last commits. A full fsync per commit costs the log pump dearly.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| {
                map_open_error(
                    path,
                    sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())),
                )
            })?;
        let db = SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
        Migrator::up(&db, None)
            .await
            .map_err(|e| map_open_error(path, e))?;
        Ok(Store {
            db,
            path: path.to_path_buf(),
        })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Migrations this binary knows that the database has not applied (empty after `open`).
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        Ok(Migrator::get_pending_migrations(&self.db)
            .await?
            .iter()
            .map(|m| m.name().to_string())
            .collect())
    }

    pub async fn close(self) -> StoreResult<()> {
        self.db.close().await?;
        Ok(())
    }
}
