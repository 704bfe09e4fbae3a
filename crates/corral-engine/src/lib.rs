//! Corral's engine: everything the app does, without any UI. Front ends (the desktop shell and
//! the `corral` CLI) call its operations and subscribe to its `EngineEvent` bus.

mod changes;
mod clock;
mod config;
mod doctor;
mod engine;
mod error;
mod error_kind;
mod events;
mod fs_work;
mod graph_runs;
mod keys;
mod listing_cache;
pub mod logging;
mod mcp;
mod merged;
mod orchestrate;
mod projects;
mod questions;
mod resolve;
mod reviews;
mod routed_questions;
mod runs;
mod settings;
mod task_status;
mod tasks;
mod views;

pub use changes::DatabaseChanges;
pub use config::Config;
pub use corral_git::{DiffLine, FileDiff, FileStatus, LineKind};
pub use doctor::{Check, CheckStatus, LOW_DISK_BYTES};
pub use engine::Engine;
pub use error::{EngineError, EngineResult, ErrorKind};
pub use events::EngineEvent;
pub use keys::{KeySource, KeyStatus};
pub use orchestrate::{Orchestration, OrchestratorMessage};
pub use projects::ProjectUpdate;
pub use questions::{AnsweredFrom, InboxItem};
pub use reviews::ShownComment;
pub use runs::gc::GcReport;
pub use runs::{DiffAgainst, LeftOutFile, MergeHow, MergePreview, UpstreamWork};
pub use settings::APP_SETTINGS;
pub use tasks::{NewTask, TaskUpdate};
pub use views::{Overlap, TaskView};
