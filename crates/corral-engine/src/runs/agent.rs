//! Running a task's coding agent: the adapter's command line, environment and files, and its
//! output parsed into `Agent` log entries while the step runs.

use std::path::Path;

use corral_agents::{Adapter, AgentRequest, PermissionMode, StreamParser};
use corral_core::{AgentEvent, AgentPermissions, Project, Run, Runtime, Task};

use crate::error::{EngineError, EngineResult};

/// The adapter of the runtime a task runs with, or why it cannot run.
pub(crate) fn adapter(task: &Task, project: &Project) -> EngineResult<Option<Box<dyn Adapter>>> {
    let runtime = task.runtime.unwrap_or(project.workflow.runtime);
    if runtime == Runtime::Custom {
        return Ok(None);
    }
    corral_agents::adapter_for(runtime)
        .map(Some)
        .ok_or_else(|| {
            let ready: Vec<&str> = Runtime::ALL
                .iter()
                .filter(|r| corral_agents::adapter_for(**r).is_some())
                .map(|r| r.as_str())
                .collect();
            EngineError::NotRunnable {
                reason: format!(
                    "runtime `{runtime}` has no adapter yet ({} do); give the task a command \
                     line (`--runtime custom -- CMD ...`) or another runtime",
                    ready.join(", ")
                ),
            }
        })
}

/// The API key for the adapter: the first of its key names with a value in the OS keychain, or
/// else in Corral's environment. Its value only ever goes into the step's environment.
pub(crate) async fn api_key(adapter: &dyn Adapter) -> EngineResult<crate::keys::FoundKey> {
    crate::keys::lookup(adapter.key_names())
        .await?
        .ok_or_else(|| EngineError::MissingApiKey {
            runtime: adapter.runtime().to_string(),
            names: adapter.key_names().join(" or "),
        })
}

/// The agent invocation of `run`: the task's prompt, or a follow-up's message resuming the
/// session of the run it follows.
pub(crate) fn request(
    run: &Run,
    task: &Task,
    project: &Project,
    adapter: &dyn Adapter,
    home: &str,
    in_container: bool,
) -> AgentRequest {
    let (prompt, resume) = match &run.follow_up {
        Some(follow_up) => (follow_up.message.clone(), run.agent_session_id.clone()),
        None => (task.prompt.clone(), None),
    };
    AgentRequest {
        prompt,
        model: task
            .model
            .clone()
            .or_else(|| project.workflow.model.clone()),
        resume,
        // `auto` is settled by the plan, which knows whether the key stays outside.
        // A consult run only looks (its view of the checkout is read-only).
        permission: match project.workflow.agent_permissions {
            _ if run.consult.is_some() => PermissionMode::ReadOnly,
            AgentPermissions::Bypass => PermissionMode::Bypass,
            AgentPermissions::Edits | AgentPermissions::Auto => PermissionMode::AcceptEdits,
            AgentPermissions::Ask => PermissionMode::Ask,
        },
        base_url: project.workflow.env.get(adapter.base_url_env()).cloned(),
        agent_command: match adapter.runtime() {
            Runtime::Acp => task.command.clone().unwrap_or_default(),
            _ => Vec::new(),
        },
        home: home.to_string(),
        in_container,
        // Set by the plan when the run has a gateway (its MCP door comes with it).
        mcp: None,
    }
}

/// The folders every agent gets inside its run's home, with the variables naming them: its
/// own temp, config, cache, data and state folders, so nothing it keeps is shared between runs
/// (and Codex, which refuses a home under the temp folder, is content).
const HOME_DIRS: [(&str, &str); 5] = [
    ("TMPDIR", ".tmp"),
    ("XDG_CONFIG_HOME", ".config"),
    ("XDG_CACHE_HOME", ".cache"),
    ("XDG_DATA_HOME", ".local/share"),
    ("XDG_STATE_HOME", ".local/state"),
];

/// The environment naming the per-run folders under `home` (as the agent sees it).
pub(crate) fn home_env(home: &str) -> Vec<(String, String)> {
    HOME_DIRS
        .iter()
        .map(|(name, dir)| (name.to_string(), format!("{home}/{dir}")))
        .collect()
}

/// Makes the run's agent home (on the host) with its folders and the adapter's configuration
/// files.
pub(crate) fn write_files(
    adapter: &dyn Adapter,
    request: &AgentRequest,
    home_on_host: &Path,
) -> EngineResult<()> {
    // The home is the sandbox's (and a follow-up's copy of an earlier one): never write
    // through a link planted in it.
    std::fs::create_dir_all(home_on_host).map_err(EngineError::io("making the agent's home"))?;
    for (_, dir) in HOME_DIRS {
        corral_sandbox::make_dir_inside(home_on_host, Path::new(dir))
            .map_err(EngineError::io("making the agent's home"))?;
    }
    for (relative, contents) in adapter.files(request) {
        corral_sandbox::write_inside(home_on_host, Path::new(&relative), contents.as_bytes())
            .map_err(EngineError::io(format!("writing the agent's {relative}")))?;
    }
    Ok(())
}

/// The agent's output, parsed as it arrives, and what the run keeps from it.
pub(crate) struct AgentOutput {
    parser: Box<dyn StreamParser>,
    checkout_prefix: Option<String>,
    pub session_id: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Whether the agent said it finished well, once it said so.
    pub finished_ok: Option<bool>,
    pub last_error: Option<String>,
}

impl std::fmt::Debug for AgentOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentOutput")
            .field("session_id", &self.session_id)
            .field("finished_ok", &self.finished_ok)
            .finish_non_exhaustive()
    }
}

impl AgentOutput {
    /// `checkout`: where the agent sees the run's checkout when that is not `/workspace` (the
    /// local sandbox); edited paths under it are made relative, so they name the file in the
    /// run's diff.
    pub fn new(adapter: &dyn Adapter, checkout: Option<String>) -> AgentOutput {
        AgentOutput {
            parser: adapter.parser(),
            checkout_prefix: checkout.map(|c| format!("{}/", c.trim_end_matches('/'))),
            session_id: None,
            input_tokens: 0,
            output_tokens: 0,
            finished_ok: None,
            last_error: None,
        }
    }

    /// The events of one stdout line (never fails: unknown lines come back as `Raw`).
    pub fn absorb(&mut self, line: &str) -> Vec<AgentEvent> {
        let parsed = self.parser.line(line);
        let events = self.relative(parsed);
        self.keep(&events);
        events
    }

    fn relative(&self, mut events: Vec<AgentEvent>) -> Vec<AgentEvent> {
        if let Some(prefix) = &self.checkout_prefix {
            for event in &mut events {
                if let AgentEvent::FileEdit { path } = event
                    && let Some(inside) = path.strip_prefix(prefix.as_str())
                {
                    *path = inside.to_string();
                }
            }
        }
        events
    }

    /// What the parser still held when the output ended (e.g. text not yet flushed).
    pub fn finish(&mut self) -> Vec<AgentEvent> {
        let parsed = self.parser.finish();
        let events = self.relative(parsed);
        self.keep(&events);
        events
    }

    fn keep(&mut self, events: &[AgentEvent]) {
        for event in events {
            match event {
                AgentEvent::SessionStarted { session_id } => {
                    self.session_id = Some(session_id.clone());
                }
                AgentEvent::Usage {
                    input_tokens,
                    output_tokens,
                    ..
                } => {
                    self.input_tokens += input_tokens;
                    self.output_tokens += output_tokens;
                }
                AgentEvent::Finished { ok, .. } => self.finished_ok = Some(*ok),
                AgentEvent::Error { message } => self.last_error = Some(message.clone()),
                _ => {}
            }
        }
    }
}
