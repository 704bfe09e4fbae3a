//! Corral's persistence: a SQLite file (WAL, busy timeout, foreign keys) behind SeaORM, its
//! forward-only migrations, repository functions per table, and the batching `EventWriter`.

mod convert;
mod db;
pub mod entity;
mod error;
mod event_writer;
pub mod migration;
pub mod repo;

pub use db::Store;
pub use error::{StoreError, StoreResult};
pub use event_writer::{EventWriter, NewRunEvent, WriterConfig};
pub use repo::*;
