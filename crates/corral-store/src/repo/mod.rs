//! Repository functions per table, split into queries (read) and mutations (write) the way
//! SeaORM's examples do. Every function takes any connection or transaction, so the engine can
//! group writes.

pub mod change_version;
pub mod file_changes;
pub mod graph_runs;
pub mod input_requests;
pub mod projects;
pub mod review_comments;
pub mod run_events;
pub mod runs;
pub mod settings;
pub mod tasks;

pub use change_version::ChangeVersion;
pub use file_changes::{FileChange, FileChangeQuery};
pub use graph_runs::GraphRuns;
pub use input_requests::InputRequests;
pub use projects::{ProjectMutation, ProjectQuery};
pub use review_comments::{ReviewComments, StoredComment};
pub use run_events::RunEventQuery;
pub use runs::{LatestRun, RunMutation, RunQuery};
pub use settings::{SettingMutation, SettingQuery};
pub use tasks::{TaskMutation, TaskQuery};
