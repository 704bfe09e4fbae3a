//! What each workflow setting means, as `corral project set --help` lists it.

/// Every key `Workflow::set` accepts, with what its value means. `env.<NAME>` sets one
/// environment variable.
pub const SETTING_KEYS: [(&str, &str); 40] = [
    (
        "path",
        "the repository's folder, when it moved (a project added by path)",
    ),
    (
        "base-image",
        "image Corral builds its agent image from (empty: default)",
    ),
    ("agent-image", "ready image used as is (empty: default)"),
    (
        "dockerfile",
        "Dockerfile in the repository to build the run image from, e.g. .devcontainer/Dockerfile (empty: default)",
    ),
    (
        "setup",
        "command run once in each new run's container (empty: none)",
    ),
    ("verify", "command that checks a run's result (empty: none)"),
    (
        "verify.<NAME>",
        "a named check, e.g. verify.test=\"npm test\"; checks run in the order they were added, after `verify` (empty: remove)",
    ),
    (
        "verify.review",
        "agent: another agent reviews each result read-only as the last check, and its requested changes go back to the working agent (empty: off)",
    ),
    (
        "verify.review.runtime",
        "the agent reviewer's runtime, e.g. codex (empty: the task's)",
    ),
    (
        "verify.review.model",
        "the agent reviewer's model (empty: its runtime's default)",
    ),
    (
        "verify-timeout",
        "stop a check and fail it when it runs longer than this, e.g. 10m, 90s (default 10m)",
    ),
    (
        "verify-retries",
        "times an agent whose work failed the checks is told the failures and tries again (default 2; 0: never)",
    ),
    ("runtime", "default agent runtime"),
    ("model", "default model (empty: the runtime's default)"),
    (
        "agent-permissions",
        "auto (the default: bypass in a container, which is the boundary, edits in the local sandbox) | edits (agents may edit files, and ask for the rest) | bypass (agents may do anything without asking)",
    ),
    (
        "network",
        "allowlist (the default: no network; the model API through Corral's gateway, which adds the key outside the sandbox, and allow-hosts through its proxy) | none (nothing; not for agents) | host | bridge (the whole network: the API key then enters the sandbox)",
    ),
    (
        "allow-hosts",
        "comma-separated hosts the sandbox may reach with network=allowlist: names, *.suffix or addresses, e.g. registry.npmjs.org,*.pythonhosted.org (empty: none)",
    ),
    (
        "provider-tools",
        "on | off: keep provider-side tools (web search and fetch run by the provider, remote MCP servers) in model requests; they reach the internet past the allowlist (default off)",
    ),
    (
        "budget-tokens",
        "tokens a run may use before its model calls are refused and it fails, e.g. 2000000 (empty or off: no budget)",
    ),
    (
        "agent-tasks",
        "propose | allow | deny: tasks an agent creates through Corral's MCP server wait for your approval (propose, the default), can run at once (allow), or cannot be created (deny)",
    ),
    (
        "agent-task-limit",
        "tasks one run's agent may create (default 20)",
    ),
    (
        "max-subtasks",
        "subtasks one orchestrate task's agent may create (default 12)",
    ),
    (
        "orchestrate-budget-tokens",
        "tokens one orchestration (its own runs and its subtasks') may use; past it nothing new starts and the inbox asks whether to go on, e.g. 2000000 (empty or off: no budget)",
    ),
    (
        "orchestrate-depth",
        "how deep orchestrate tasks may nest: 1 (default) lets no subtask orchestrate, 2 lets subtasks orchestrate once more (at most 3)",
    ),
    (
        "ask-wait",
        "how long an agent's question waits in its tool call, e.g. 50s (default; at most 55s, below the agents' own tool timeouts); past it the agent ends its turn and your answer resumes it",
    ),
    (
        "build-network",
        "network of a Dockerfile build: none | host | bridge (default bridge; a build cannot use the gateway)",
    ),
    (
        "sandbox",
        "docker | local (local runs commands on this machine as you: NOT isolated)",
    ),
    ("memory", "memory limit, e.g. 4g, 512m (MiB when no unit)"),
    ("cpus", "CPU limit, e.g. 2 or 1.5"),
    ("pids", "process limit"),
    ("max-runs", "runs of this project at once"),
    (
        "auto-run",
        "on | off: keep the graph running, so a task starts by itself once the tasks it runs after are finished (default off)",
    ),
    (
        "chain-on",
        "success | merge: a task is finished for the tasks after it when its run succeeded, or only once its result is merged into the project branch (default success)",
    ),
    (
        "merge-style",
        "merge | squash | ff-only: how `merge` puts a run's result into the project branch: a fast-forward or a merge commit, one squashed commit, or a fast-forward only (default merge)",
    ),
    (
        "inactivity-timeout",
        "stop a task's command or agent silent for this long, e.g. 30m, 90s, 2h (default 30m)",
    ),
    (
        "max-file-size",
        "files bigger than this are left out of a run's commit, e.g. 50m, 1g (default 50m)",
    ),
    ("retention-runs", "finished checkouts to keep"),
    (
        "retention-days",
        "keep checkouts younger than this many days",
    ),
    (
        "secrets",
        "comma-separated secret names (values live in the OS keychain)",
    ),
    (
        "env.<NAME>",
        "environment variable for runs (empty: remove)",
    ),
];
