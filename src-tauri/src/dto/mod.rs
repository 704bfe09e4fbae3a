//! The types that cross the IPC boundary, with their conversions from and to domain types, one
//! file per domain. They are deliberately separate from the domain: they change only when the
//! UI contract does. Times are milliseconds since the epoch as `f64` (exact below 2^53; a JS
//! number).

mod diff;
mod health;
mod inbox;
mod network;
mod orchestration;
mod project;
mod review;
mod run;
mod run_event;
mod task;

pub use diff::*;
pub use health::*;
pub use inbox::*;
pub use orchestration::*;
pub use project::*;
pub use review::*;
pub use run::*;
pub use run_event::*;
pub use task::*;
