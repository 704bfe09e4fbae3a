//! One module per command group. Each function resolves names to ids, calls the engine, and
//! prints to the given writer.

pub mod diff;
pub mod doctor;
pub mod graph;
pub mod inbox;
pub mod interrupt;
pub mod key;
pub mod log;
pub mod project;
pub mod run;
mod run_json;
pub mod task;
