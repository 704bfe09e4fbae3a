//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "corral",
    version,
    about = "Run AI coding agents in sandboxed containers, as a graph of tasks",
    after_help = "Data lives in the platform data dir (~/.local/share/corral on Linux) unless \
                  --data-dir or CORRAL_DATA_DIR says otherwise. Logs: <data dir>/logs."
)]
pub struct Cli {
    /// Where Corral keeps its database, logs and checkouts.
    #[arg(long, global = true, env = "CORRAL_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that this machine can run Corral (Docker, git, disk, database).
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Add, list, show, configure and remove projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Add, list, show, edit and remove tasks, and their dependencies.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Run a task and wait for the result (exit code 0 only when it succeeded); or show or
    /// cancel a run.
    Run(RunArgs),
    /// What waits on you, across projects: agents' questions and the tasks agents proposed.
    Inbox {
        #[arg(long)]
        json: bool,
    },
    /// Answer an agent's question (see `corral inbox`): pick options by their labels, and/or
    /// write an answer. The agent goes on with it.
    Answer {
        /// The question's id (or the start of it, as `corral inbox` shows it).
        request: String,
        /// An option to pick, by its label; repeat for a question that takes several. With
        /// several questions, `N=LABEL` picks for question N.
        #[arg(long = "option", value_name = "LABEL")]
        options: Vec<String>,
        /// The answer in your words (to the first question; `N=TEXT` for question N).
        text: Option<String>,
    },
    /// Send a message to a finished run's agent: a new run on the same checkout and branch
    /// resumes the agent's session with it (exit code 0 only when it succeeded).
    FollowUp {
        /// The finished run (id or id prefix).
        run: String,
        /// The message for the agent.
        message: String,
        /// Print the new run's log while it goes.
        #[arg(long, short)]
        follow: bool,
        /// With --follow: JSON lines; at the end: the run as JSON.
        #[arg(long)]
        json: bool,
        /// With --follow: also the agent's output lines as it printed them (raw JSON).
        #[arg(long, conflicts_with = "json")]
        raw: bool,
        /// What Ctrl-C does while it waits (see `corral run --help`).
        #[arg(long, value_enum, default_value_t = OnInterrupt::Cancel)]
        on_interrupt: OnInterrupt,
    },
    /// Comment on lines of a finished run's result: the comments (each with its path, line,
    /// the code there and your text) and the message go to the run's agent as one follow-up.
    Review {
        /// The finished run (id or id prefix).
        run: String,
        /// `--comment PATH:LINE "text"`, repeated: a line of a file as the run's result has it.
        #[arg(long = "comment", num_args = 2, value_names = ["PATH:LINE", "TEXT"])]
        comments: Vec<String>,
        /// A message sent after the comments.
        #[arg(long)]
        message: Option<String>,
        /// Print the new run's log while it goes.
        #[arg(long, short)]
        follow: bool,
        /// With --follow: JSON lines; at the end: the run as JSON.
        #[arg(long)]
        json: bool,
        /// What Ctrl-C does while it waits (see `corral run --help`).
        #[arg(long, value_enum, default_value_t = OnInterrupt::Cancel)]
        on_interrupt: OnInterrupt,
    },
    /// List runs, newest first.
    Runs {
        /// Only the runs of this task (id or title).
        #[arg(long)]
        task: Option<String>,
        #[arg(long, short)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a run's log; with --follow, keep printing until the run ends.
    Logs {
        run: String,
        #[arg(long, short)]
        follow: bool,
        /// JSON lines with timestamps.
        #[arg(long)]
        json: bool,
        /// Also the agent's output lines as it printed them (raw JSON), besides what they say.
        #[arg(long, conflicts_with = "json")]
        raw: bool,
    },
    /// API keys of the agent runtimes, kept in the OS keychain (values are never shown).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run a project's task graph: every task that has not succeeded, each as soon as the
    /// tasks it runs after have (exit code 0 only when every task succeeded); or stop it.
    #[command(subcommand)]
    Graph(GraphCommand),
    /// Clean up by policy: old checkouts, merged run branches, leftover containers, stuck runs.
    Gc {
        /// Only report what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Merge a succeeded run's branch into the project branch: in your working tree with your
    /// own git when you have that branch checked out. --dry-run says what it would do.
    Merge {
        run: String,
        #[arg(long)]
        dry_run: bool,
        /// Merge a run whose checks failed (its result was kept), after reviewing it.
        #[arg(long)]
        force: bool,
    },
    /// What a run changed: patches, or with --stat one line per file.
    Diff {
        run: String,
        #[arg(long)]
        stat: bool,
        /// Against the project branch the run started from, so the work of the tasks it runs
        /// after shows too (default: against its base, only its own work).
        #[arg(long)]
        against_project: bool,
        /// Only this file.
        path: Option<String>,
    },
    /// Drives a run that `corral run` handed over (Ctrl-C with `--on-interrupt detach`, or
    /// its terminal closed), and any other run nobody drives, until they end.
    #[command(hide = true)]
    Drive { run: String },
}

/// What Ctrl-C does to the run `corral run` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnInterrupt {
    /// Cancel the run (its log and checkout stay).
    Cancel,
    /// Leave it running: a background `corral` process drives it to its end; `corral logs
    /// <run> --follow` shows it again.
    Detach,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunArgs {
    #[command(subcommand)]
    pub command: Option<RunCommand>,
    /// The task to run (id or title).
    pub task: Option<String>,
    #[arg(long, short)]
    pub project: Option<String>,
    /// Print the run's log while it goes.
    #[arg(long, short)]
    pub follow: bool,
    /// With --follow: JSON lines; at the end: the run as JSON.
    #[arg(long)]
    pub json: bool,
    /// With --follow: also the agent's output lines as it printed them (raw JSON).
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
    /// What Ctrl-C does while it waits: cancel the run, or detach and leave it to a background
    /// `corral` process. Closing the terminal (or a SIGTERM) always detaches.
    #[arg(long, value_enum, default_value_t = OnInterrupt::Cancel)]
    pub on_interrupt: OnInterrupt,
}

/// How a run's log is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable lines; an agent's raw output lines are left out (what they say is shown).
    Readable,
    /// Readable lines, and an agent's output lines as it printed them.
    Raw,
    /// JSON lines.
    Json,
}

impl LogFormat {
    pub fn of(json: bool, raw: bool) -> LogFormat {
        match (json, raw) {
            (true, _) => LogFormat::Json,
            (false, true) => LogFormat::Raw,
            (false, false) => LogFormat::Readable,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Show one run.
    Show {
        run: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a run: its current step stops, its logs stay.
    Cancel { run: String },
    /// Set aside a finished run whose checks failed: it leaves the inbox; its branch and log
    /// stay.
    Dismiss { run: String },
}

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Runs the graph and waits until nothing more can run. It goes on without this command
    /// (the app, or the next corral, carries on): Ctrl-C stops waiting, not the graph.
    Run {
        project: String,
        /// Print each task's start and end as they happen.
        #[arg(long, short)]
        follow: bool,
        /// JSON lines: one per change of a task's run (with --follow), then how the graph run
        /// ended.
        #[arg(long)]
        json: bool,
    },
    /// Starts nothing more of the graph; live runs go on (cancel them with `corral run cancel`).
    Stop { project: String },
    /// The tasks by layer (a task comes after every task it runs after), with their status and
    /// why a blocked one is blocked.
    Show {
        #[arg(long, short)]
        project: Option<String>,
        #[arg(long, conflicts_with = "dot")]
        json: bool,
        /// Graphviz: `corral graph show --dot | dot -Tsvg > graph.svg`.
        #[arg(long)]
        dot: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Which keys have a value, and where from (keychain or environment).
    #[command(alias = "ls")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Store a key in the OS keychain; the value is read from standard input
    /// (`corral key set ANTHROPIC_API_KEY < key.txt`, or type it and press Ctrl-D).
    Set { name: String },
    /// Remove a key from the OS keychain.
    #[command(alias = "rm")]
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Add a git repository (a local path, or a URL cloned before the first run).
    Add {
        /// Path to the repository's folder, or a git URL.
        source: String,
        /// Name (default: the folder or repository name).
        #[arg(long)]
        name: Option<String>,
    },
    /// List projects.
    #[command(alias = "ls")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one project with its workflow settings.
    Show {
        /// Name or id.
        project: String,
        #[arg(long)]
        json: bool,
    },
    /// Change workflow settings: KEY=VALUE pairs, applied together or not at all.
    #[command(after_help = crate::commands::project::SETTINGS_HELP.as_str())]
    Set {
        /// Name or id.
        project: String,
        /// For example `verify="cargo test"` `network=none` `memory=4g` `env.RUST_LOG=debug`.
        #[arg(required = true, value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// Remove a project and its tasks from Corral (the repository itself is not touched).
    #[command(alias = "remove")]
    Rm { project: String },
}

#[derive(Debug, Args)]
pub struct PromptArgs {
    /// The prompt text.
    #[arg(long, conflicts_with = "prompt_file")]
    pub prompt: Option<String>,
    /// Read the prompt from a file (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Add a task. Everything after `--` is a command line for the `custom` runtime.
    Add {
        #[arg(long, short)]
        project: String,
        #[arg(long, short)]
        title: String,
        #[command(flatten)]
        prompt: PromptArgs,
        /// Agent runtime (default: the project's).
        #[arg(long)]
        runtime: Option<String>,
        /// Model (default: the project's).
        #[arg(long)]
        model: Option<String>,
        /// A task this one runs after (id or title); repeatable.
        #[arg(long, value_name = "TASK")]
        after: Vec<String>,
        /// How many runs may be tried.
        #[arg(long)]
        max_attempts: Option<u32>,
        /// `work` (default), or `orchestrate`: its agent splits the prompt's goal into
        /// subtasks (MCP create_subtask) that run in sandboxes of their own.
        #[arg(long, default_value = "work", value_parser = ["work", "orchestrate"])]
        kind: String,
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// List tasks with their status.
    #[command(alias = "ls")]
    List {
        #[arg(long, short)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one task.
    Show {
        task: String,
        #[arg(long, short)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Edit a task. Options not given stay as they are; an empty --runtime or --model clears it.
    Edit {
        task: String,
        #[arg(long, short)]
        project: Option<String>,
        #[arg(long, short)]
        title: Option<String>,
        #[command(flatten)]
        prompt: PromptArgs,
        #[arg(long)]
        runtime: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        max_attempts: Option<u32>,
        /// A new command line for the `custom` runtime.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Add or remove a dependency.
    #[command(subcommand)]
    Dep(DepCommand),
    /// Let a task an agent proposed run.
    Approve {
        task: String,
        #[arg(long, short)]
        project: Option<String>,
    },
    /// Refuse a task an agent proposed: it stays on record and never runs.
    Reject {
        task: String,
        #[arg(long, short)]
        project: Option<String>,
    },
    /// Remove a task. Tasks that run after it no longer wait for it: when it has any, they are
    /// named and `--yes` is needed.
    #[command(alias = "remove")]
    Rm {
        task: String,
        #[arg(long, short)]
        project: Option<String>,
        /// Remove it even though other tasks run after it (their dependency on it goes too).
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DepCommand {
    /// Make TASK run after another task.
    Add {
        task: String,
        #[arg(long, value_name = "TASK")]
        after: String,
        #[arg(long, short)]
        project: Option<String>,
    },
    /// Stop TASK from waiting for another task.
    #[command(alias = "remove")]
    Rm {
        task: String,
        #[arg(long, value_name = "TASK")]
        after: String,
        #[arg(long, short)]
        project: Option<String>,
    },
}
