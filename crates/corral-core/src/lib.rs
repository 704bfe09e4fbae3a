//! Corral's domain: typed ids, projects and their workflow settings, tasks and the task graph,
//! runs and the run state machine, and validation. Nothing in this crate does IO.

pub mod agent_event;
pub mod branch;
pub mod check;
pub mod consult;
pub mod fail;
pub mod graph;
pub mod graph_run;
pub mod ids;
pub mod network;
pub mod permission;
pub mod project;
pub mod question;
pub mod review;
pub mod run;
pub mod run_event;
pub mod run_status;
pub mod runtime;
pub mod settings_docs;
pub mod settings_keys;
mod settings_values;
pub mod task;
pub mod time;
pub mod tool_call;
pub mod validate;
mod workflow;

pub use agent_event::{AgentEvent, ToolKind};
pub use check::{Check, CheckOutcome, CheckResult};
pub use consult::{Consult, ConsultPurpose};
pub use graph::{GraphError, NodeProgress, TaskGraph};
pub use ids::{IdParseError, ProjectId, RequestId, RunId, TaskId};
pub use network::{BlockRule, NetworkDoor, NetworkRequest, NetworkSummary};
pub use project::{
    AgentPermissions, AgentTasks, ChainOn, ImageChoice, MergeStyle, NetworkPolicy, Project,
    RepoSource, ResourceLimits, Retention, SandboxKind, Workflow,
};
pub use question::{Answer, Ask, InputRequest, QuestionAnswer, RequestState};
pub use run::{
    FailKind, FailReason, FollowUp, LOCAL_SANDBOX_HANDLE_PREFIX, Run, RunState, RunStatus,
    Transition, TransitionError,
};
pub use run_event::{FileChangeKind, OutputStream, RunEvent, RunEventBody, StepName, WakeReason};
pub use runtime::Runtime;
pub use settings_keys::{SETTING_KEYS, SettingError};
pub use task::{Approval, CreatedBy, Task, TaskKind, TaskStatus, TaskSummary};
pub use time::Timestamp;
pub use tool_call::{ToolCall, ToolOutcome};
pub use validate::ValidationError;
