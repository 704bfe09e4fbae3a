//! SeaORM entities, one module per table. Rows use plain column types (ids as UUID text, times
//! as Unix milliseconds); `crate::convert` maps them to and from the domain types.

pub mod file_changes;
pub mod input_requests;
pub mod projects;
pub mod review_comments;
pub mod run_events;
pub mod runs;
pub mod settings;
pub mod task_edges;
pub mod tasks;
