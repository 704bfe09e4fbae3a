//! The supervisor of one run: queued -> preparing (checkout, image, container, setup) ->
//! running (the task's command) -> verifying -> succeeded, or failed with a reason, cancelled,
//! interrupted. It holds the run folder's lock while it drives, so two Corral processes never
//! drive the same run. It can start from any live state: after a restart it picks up where the
//! files say the run is.

use std::fs::File;
use std::os::unix::fs::MetadataExt;

use corral_core::branch::run_branch;
use corral_core::{
    ImageChoice, OutputStream, Project, RepoSource, Run, RunEventBody, RunState, SandboxKind,
    StepName, Task, Transition,
};
use corral_sandbox::{ContainerSpec, ImageSpec, LocalSandbox, NetworkMode, Sandbox, StepFiles};
use corral_store::RunEventQuery;
use tokio::sync::watch;
use tracing::Instrument;

use super::RunContext;
use super::follow::{StepStop, follow};
use crate::error::{EngineError, EngineResult};

const AUTHOR: (&str, &str) = ("Corral", "corral@localhost");

pub(crate) fn spawn(ctx: RunContext, run: Run, task: Task, project: Project) {
    let span =
        tracing::info_span!("run", run = %run.id, task = %run.task_id, project = %run.project_id);
    tokio::spawn(
        async move {
            let cancel = ctx.register(run.id);
            if let Err(err) = drive(&ctx, run.clone(), &task, &project, cancel).await {
                tracing::error!(error = %err, "run supervisor failed");
            }
            ctx.unregister(run.id);
        }
        .instrument(span),
    );
}

/// Takes the run folder's lock; `None` when another process holds it.
pub(crate) fn lock_run(ctx: &RunContext, run: &Run) -> EngineResult<Option<File>> {
    let dir = ctx.run_dir(run.id);
    std::fs::create_dir_all(&dir).map_err(|e| EngineError::Internal(format!("run folder: {e}")))?;
    let file = File::create(dir.join("lock"))
        .map_err(|e| EngineError::Internal(format!("run lock: {e}")))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(EngineError::Internal(format!("run lock: {e}")))
        }
    }
}

async fn drive(
    ctx: &RunContext,
    mut run: Run,
    task: &Task,
    project: &Project,
    mut cancel: watch::Receiver<bool>,
) -> EngineResult<()> {
    let Some(_lock) = lock_run(ctx, &run)? else {
        tracing::info!("another Corral process drives this run");
        return Ok(());
    };
    let slots = ctx.slots(project);
    let _slot = tokio::select! {
        permit = slots.acquire_owned() => permit.map_err(|e| EngineError::Internal(e.to_string()))?,
        // The guard `wait_for` returns must not live across the awaits below.
        _ = async { cancel.wait_for(|c| *c).await.map(|_| ()) } => {
            ctx.transition(&mut run, Transition::Cancel).await?;
            return Ok(());
        }
    };
    // A run keeps the sandbox it started in, whatever the project says now.
    let kind = run.sandbox_kind().unwrap_or(project.workflow.sandbox);
    let outcome = match kind {
        SandboxKind::Local => steps(ctx, &LocalSandbox, &mut run, task, project, &mut cancel).await,
        SandboxKind::Docker => match ctx.sandbox().await {
            Ok(docker) => steps(ctx, docker, &mut run, task, project, &mut cancel).await,
            Err(err) => Err(StepStop::Failed(format!(
                "{err}; start Docker, or set the project's sandbox to local (not isolated)"
            ))),
        },
    };
    match outcome {
        Ok(()) => {}
        Err(StepStop::Cancelled) => {
            ctx.note(run.id, "cancelled").await?;
            ctx.transition(&mut run, Transition::Cancel).await?;
        }
        Err(StepStop::Failed(reason)) => {
            ctx.transition(&mut run, Transition::Fail { reason })
                .await?;
        }
        Err(StepStop::Engine(err)) => {
            let reason = err.to_string();
            ctx.transition(&mut run, Transition::Fail { reason })
                .await?;
        }
    }
    if let Some(handle) = &run.container_id
        && let Err(e) = ctx.remove_sandbox(handle).await
    {
        tracing::warn!(error = %e, "could not remove the run's sandbox");
    }
    ctx.events.flush().await?;
    Ok(())
}

fn network_mode(policy: corral_core::NetworkPolicy) -> NetworkMode {
    match policy {
        corral_core::NetworkPolicy::None => NetworkMode::None,
        corral_core::NetworkPolicy::Host => NetworkMode::Host,
        corral_core::NetworkPolicy::Bridge => NetworkMode::Bridge,
    }
}

/// The image a run's container is made from: a ready image as is; for an agent runtime, the
/// agent image built on the base; a Dockerfile read from the run's checkout.
fn image_of(
    ctx: &RunContext,
    project: &Project,
    task: &Task,
    run: &Run,
    checkout: &std::path::Path,
) -> Result<ImageSpec, StepStop> {
    let instance = ctx.config.data_dir.display().to_string();
    let adapter = super::agent::adapter(task, project)?;
    let base = match &project.workflow.image {
        ImageChoice::Agent { image } => return Ok(ImageSpec::Named(image.clone())),
        ImageChoice::Base { image } => image.as_str(),
        ImageChoice::Default => corral_agents::DEFAULT_BASE_IMAGE,
        ImageChoice::Dockerfile { .. } => "",
    };
    // An ACP agent's image holds the agent it runs when Corral knows it (e.g. `gemini --acp`);
    // any other ACP agent must be in the base image.
    let adapter = match adapter {
        Some(a) if a.runtime() == corral_core::Runtime::Acp => {
            corral_agents::acp_inner(task.command.as_deref().unwrap_or_default())
        }
        other => other,
    };
    if let (Some(adapter), false) = (&adapter, base.is_empty()) {
        let image = corral_agents::agent_image(base, adapter.runtime(), &adapter.package());
        return Ok(ImageSpec::Generated {
            dockerfile: image.dockerfile,
            tag: image.tag,
            network: network_mode(project.workflow.build_network),
            instance,
        });
    }
    Ok(match &project.workflow.image {
        ImageChoice::Agent { image } | ImageChoice::Base { image } => {
            ImageSpec::Named(image.clone())
        }
        ImageChoice::Default => ImageSpec::Named(corral_agents::DEFAULT_BASE_IMAGE.to_string()),
        ImageChoice::Dockerfile { path } => {
            let path = std::path::Path::new(path);
            // A follow-up builds from a checkout a sandbox wrote: no link on the way to the
            // Dockerfile is followed (a `docker -> /` link would send the host as the context).
            let mut at = checkout.to_path_buf();
            for part in path.components() {
                at.push(part);
                if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(StepStop::Failed(format!(
                        "{} in the checkout is a link; Corral does not follow links to build \
                         an image (dockerfile={})",
                        at.strip_prefix(checkout).unwrap_or(&at).display(),
                        path.display()
                    )));
                }
            }
            let base = run.base_commit.as_deref().unwrap_or("latest");
            ImageSpec::Build {
                context: checkout.join(path.parent().unwrap_or(std::path::Path::new(""))),
                dockerfile: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "Dockerfile".into()),
                tag: format!(
                    "corral-build/{}:{}",
                    project.id,
                    &base[..12.min(base.len())]
                ),
                network: network_mode(project.workflow.build_network),
                instance,
            }
        }
    })
}

/// The repository runs check out from and publish to: the user's own, or the mirror of a
/// project added by URL.
fn source_path(ctx: &RunContext, project: &Project) -> std::path::PathBuf {
    match &project.source {
        RepoSource::Local { path } => path.clone(),
        RepoSource::Remote { .. } => ctx.mirror_dir(project.id),
    }
}

/// Progress lines of slow work (a fetch, an image pull or build) recorded as notes of the
/// run, in order, from any thread.
struct ProgressNotes {
    tx: tokio::sync::mpsc::UnboundedSender<String>,
    writer: tokio::task::JoinHandle<()>,
}

impl ProgressNotes {
    fn start(ctx: &RunContext, run: corral_core::RunId) -> ProgressNotes {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let ctx = ctx.clone();
        let writer = tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                let _ = ctx.note(run, line).await;
            }
        });
        ProgressNotes { tx, writer }
    }

    fn sender(&self) -> tokio::sync::mpsc::UnboundedSender<String> {
        self.tx.clone()
    }

    /// Waits until every line sent so far is recorded (all senders must be dropped).
    async fn finish(self) {
        drop(self.tx);
        let _ = self.writer.await;
    }
}

/// Fetches a URL project's mirror (making it the first time) and returns the remote's default
/// branch. Progress lines become notes in the run's log.
async fn sync_mirror(
    ctx: &RunContext,
    run: &Run,
    project: &Project,
    url: &str,
) -> Result<Option<String>, StepStop> {
    let dest = ctx.mirror_dir(project.id);
    ctx.note(run.id, format!("fetching {url}")).await?;
    let notes = ProgressNotes::start(ctx, run.id);
    let tx = notes.sender();
    let url_owned = url.to_string();
    let synced = tokio::task::spawn_blocking(move || {
        corral_git::sync_mirror(&url_owned, &dest, &mut |line| {
            let _ = tx.send(line);
        })
    })
    .await
    .map_err(|e| EngineError::Internal(e.to_string()))?;
    notes.finish().await;
    let synced = synced.map_err(|e| {
        StepStop::Failed(format!(
            "{e}; check the URL and that `git fetch {url}` works for you in a terminal"
        ))
    })?;
    Ok(synced.default_branch)
}

async fn steps(
    ctx: &RunContext,
    sandbox: &impl Sandbox,
    run: &mut Run,
    task: &Task,
    project: &Project,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    if run.state == RunState::Queued {
        ctx.transition(run, Transition::Prepare).await?;
    }
    if run.state == RunState::Preparing {
        prepare(ctx, sandbox, run, task, project).await?;
    }
    // Watches the checkout until the run's steps are over; its last changes are recorded
    // before the result is committed.
    let watch = match &run.checkout_path {
        Some(path) => super::file_watch::start(ctx, run, std::path::Path::new(path)).await,
        None => None,
    };
    let result = run_steps(ctx, sandbox, run, task, project, cancel).await;
    if let Some(watch) = watch {
        watch.finish().await;
    }
    result?;
    finish(ctx, run, task, project).await?;
    ctx.transition(run, Transition::Succeed).await?;
    Ok(())
}

/// The setup command (once), the task's command, the verify command: from wherever the run is.
async fn run_steps(
    ctx: &RunContext,
    sandbox: &impl Sandbox,
    run: &mut Run,
    task: &Task,
    project: &Project,
    cancel: &mut watch::Receiver<bool>,
) -> Result<(), StepStop> {
    if run.state == RunState::Preparing {
        if let Some(setup) = &project.workflow.setup_command {
            let argv = vec!["sh".to_string(), "-c".to_string(), setup.clone()];
            let code = step(
                ctx,
                sandbox,
                run,
                project,
                StepName::Setup,
                &argv,
                &[],
                cancel,
                None,
            )
            .await?;
            if code != 0 {
                return Err(StepStop::Failed(format!(
                    "the setup command exited with {code}"
                )));
            }
        }
        ctx.transition(run, Transition::Start).await?;
    }
    let container = run
        .container_id
        .clone()
        .ok_or_else(|| StepStop::Failed("no container".into()))?;
    if run.state == RunState::Running {
        let adapter = super::agent::adapter(task, project)?;
        let (code, agent, program) = match adapter {
            None => {
                let argv = task.command.clone().unwrap_or_default();
                let code = step(
                    ctx,
                    sandbox,
                    run,
                    project,
                    StepName::Agent,
                    &argv,
                    &[],
                    cancel,
                    None,
                )
                .await?;
                (code, None, argv.first().cloned().unwrap_or_default())
            }
            Some(adapter) => {
                let home_on_host = ctx.sandbox_dir(run.id).join("home");
                let home = if sandbox.is_isolated() {
                    format!("{}/home", corral_sandbox::RUN_DIR_IN_CONTAINER)
                } else {
                    home_on_host.display().to_string()
                };
                let request = super::agent::request(
                    run,
                    task,
                    project,
                    adapter.as_ref(),
                    &home,
                    sandbox.is_isolated(),
                );
                super::agent::write_files(adapter.as_ref(), &request, &home_on_host)?;
                let mut env = super::agent::home_env(&home);
                env.extend(adapter.env(&request));
                let key = super::agent::api_key(adapter.as_ref()).await?;
                if let Some(why) = &key.keychain_error {
                    ctx.note(
                        run.id,
                        format!(
                            "no OS keychain ({why}); {} was read from Corral's environment",
                            key.name
                        ),
                    )
                    .await?;
                }
                env.push((key.name, key.value));
                let argv = adapter.command(&request);
                let mut output = super::agent::AgentOutput::new(
                    adapter.as_ref(),
                    (!sandbox.is_isolated())
                        .then(|| run.checkout_path.clone())
                        .flatten(),
                );
                let code = step(
                    ctx,
                    sandbox,
                    run,
                    project,
                    StepName::Agent,
                    &argv,
                    &env,
                    cancel,
                    Some(&mut output),
                )
                .await?;
                (code, Some(output), adapter.program().to_string())
            }
        };
        run.exit_code = Some(code);
        if let Some(agent) = &agent {
            run.agent_session_id = agent.session_id.clone().or(run.agent_session_id.take());
            run.input_tokens = i64::try_from(agent.input_tokens).unwrap_or(i64::MAX);
            run.output_tokens = i64::try_from(agent.output_tokens).unwrap_or(i64::MAX);
        }
        ctx.save(run).await?;
        if let Some(agent) = &agent
            && code == 0
            && agent.finished_ok == Some(false)
        {
            return Err(StepStop::Failed(format!(
                "the agent reported an error: {}",
                agent.last_error.as_deref().unwrap_or("no message")
            )));
        }
        if let Some(agent) = &agent
            && code != 0
        {
            if code == 127 {
                return Err(StepStop::Failed(format!(
                    "the agent's program `{program}` was not found in the run's sandbox (exit \
                     127); use an image that has it (agent-image) or put it on PATH"
                )));
            }
            return Err(StepStop::Failed(match &agent.last_error {
                Some(message) => format!("the agent exited with {code}: {message}"),
                None => format!("the agent exited with {code}"),
            }));
        }
        if code != 0 {
            if sandbox
                .oom_killed(&container)
                .await
                .map_err(EngineError::from)?
            {
                return Err(StepStop::Failed("out of memory".into()));
            }
            return Err(StepStop::Failed(format!(
                "the task's command exited with {code}"
            )));
        }
        if project.workflow.verify_command.is_some() {
            ctx.transition(run, Transition::Verify).await?;
        }
    }
    if run.state == RunState::Verifying
        && let Some(verify) = &project.workflow.verify_command
    {
        let argv = vec!["sh".to_string(), "-c".to_string(), verify.clone()];
        let code = step(
            ctx,
            sandbox,
            run,
            project,
            StepName::Verify,
            &argv,
            &[],
            cancel,
            None,
        )
        .await?;
        if code != 0 {
            return Err(StepStop::Failed(format!(
                "the verify command exited with {code}"
            )));
        }
    }
    Ok(())
}

/// Checkout, image and container; each skipped when a previous process already made it.
async fn prepare(
    ctx: &RunContext,
    sandbox: &impl Sandbox,
    run: &mut Run,
    task: &Task,
    project: &Project,
) -> Result<(), StepStop> {
    let source = source_path(ctx, project);
    let dest = ctx.checkout_dir(run.id);
    if run.checkout_path.is_none()
        && let RepoSource::Local { path } = &project.source
        && !path.is_dir()
    {
        // libgit2's own words for this are "unsupported URL protocol".
        return Err(StepStop::Failed(format!(
            "the project's repository {} is not there any more (moved or deleted); if it \
             moved, point the project at its new place: `corral project set {} path=<folder>`",
            path.display(),
            project.name
        )));
    }
    if run.checkout_path.is_none() {
        let branch = run_branch(&task.title, run.id);
        let remote_default = match &project.source {
            RepoSource::Remote { url } => sync_mirror(ctx, run, project, url).await?,
            RepoSource::Local { .. } => None,
        };
        let base = project
            .default_branch
            .clone()
            .or(remote_default)
            .unwrap_or_else(|| "HEAD".to_string());
        ctx.note(
            run.id,
            format!("checkout of {} on branch {branch}", source.display()),
        )
        .await?;
        let (src, dst, br) = (source.clone(), dest.clone(), branch.clone());
        // Removing a whole checkout is bulk disk work: off the async runtime, like the clone.
        let checkout = tokio::task::spawn_blocking(move || {
            if dst.exists() {
                // Half-made by a process that died before recording it: ours to remake.
                let _ = std::fs::remove_dir_all(&dst);
            }
            let made = corral_git::create_checkout(&src, &base, &br, &dst).and_then(|checkout| {
                // Corral's own copy of the git config, put back after every step.
                corral_git::save_git_config(&checkout.path, &git_config_copy(&checkout.path))?;
                Ok(checkout)
            });
            if made.is_err() {
                // Whatever was written is of no use and may be what filled the disk.
                let _ = std::fs::remove_dir_all(&dst);
            }
            made
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(|e| {
            let text = e.to_string();
            if text.to_lowercase().contains("no space left") {
                StepStop::Failed(format!(
                    "checkout failed: {text}; free space where Corral keeps its data ({}), \
                     e.g. with `corral gc`",
                    ctx.config.data_dir.display()
                ))
            } else {
                StepStop::Failed(format!("checkout failed: {text}"))
            }
        })?;
        run.checkout_path = Some(checkout.path.display().to_string());
        run.branch = Some(checkout.branch);
        run.base_commit = Some(checkout.base_commit);
        ctx.save(run).await?;
    }
    // A follow-up works in the checkout of the run it follows.
    let dest = run
        .checkout_path
        .as_ref()
        .map(std::path::PathBuf::from)
        .unwrap_or(dest);
    if let Some(follow_up) = &run.follow_up {
        // The agent's session lives in its home: the follow-up starts from a copy of it.
        let home = ctx.sandbox_dir(run.id).join("home");
        if !home.exists() {
            let from = ctx.sandbox_dir(follow_up.of).join("home");
            tokio::task::spawn_blocking(move || copy_tree(&from, &home))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?
                .map_err(|e| {
                    StepStop::Failed(format!(
                        "copying the agent's home from the run it follows up failed: {e}"
                    ))
                })?;
        }
    }
    if run.container_id.is_none() {
        let image = image_of(ctx, project, task, run, &dest)?;
        let notes = ProgressNotes::start(ctx, run.id);
        let tx = notes.sender();
        let ensured = sandbox
            .ensure_image(&image, |line| {
                let _ = tx.send(line);
            })
            .await;
        drop(tx);
        notes.finish().await;
        ensured.map_err(|e| StepStop::Failed(e.to_string()))?;
        // Run as the owner of the checkout (the host user), so files stay theirs.
        let meta =
            std::fs::metadata(&dest).map_err(|e| StepStop::Failed(format!("checkout: {e}")))?;
        let limits = project.workflow.limits;
        let sandbox_dir = ctx.sandbox_dir(run.id);
        std::fs::create_dir_all(&sandbox_dir)
            .map_err(|e| StepStop::Failed(format!("the run's sandbox folder: {e}")))?;
        let spec = ContainerSpec {
            run_id: run.id.to_string(),
            task_id: run.task_id.to_string(),
            project_id: run.project_id.to_string(),
            instance: ctx.config.data_dir.display().to_string(),
            image: image.tag().to_string(),
            workspace: dest.clone(),
            run_dir: ctx.sandbox_dir(run.id),
            user: Some(format!("{}:{}", meta.uid(), meta.gid())),
            memory_mib: limits.memory_mib,
            cpu_millis: limits.cpu_millis,
            pids: limits.pids,
            network: network_mode(project.workflow.network),
            read_only_mounts: Vec::new(),
        };
        let id = sandbox
            .create(&spec)
            .await
            .map_err(|e| StepStop::Failed(e.to_string()))?;
        ctx.note(
            run.id,
            if sandbox.is_isolated() {
                format!("container {} from {}", &id[..12.min(id.len())], image.tag())
            } else {
                "local sandbox: the steps run on this machine as you, NOT isolated".to_string()
            },
        )
        .await?;
        run.container_id = Some(id);
        ctx.save(run).await?;
    }
    Ok(())
}

/// Copies a folder tree the sandbox wrote: links are copied as links, never followed; only
/// regular files are read (a FIFO or a device there would block or leak); `from` must itself
/// be a real folder.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    if !std::fs::symlink_metadata(from)?.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a folder (a link or another kind of file)",
            from.display()
        )));
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Where Corral keeps its copy of a checkout's git config: beside the checkout, outside
/// anything mounted into a sandbox.
pub(crate) fn git_config_copy(checkout: &std::path::Path) -> std::path::PathBuf {
    let mut name = checkout.as_os_str().to_owned();
    name.push(".git-config");
    std::path::PathBuf::from(name)
}

/// Puts the checkout's `.git` back to what runs nothing on the host (see
/// `corral_git::restore_git_dir`), noting in the run's log what the sandbox had changed.
async fn guard_git_dir(ctx: &RunContext, run: &Run) -> Result<(), StepStop> {
    let Some(checkout) = run.checkout_path.clone() else {
        return Ok(());
    };
    let restored = tokio::task::spawn_blocking(move || {
        let checkout = std::path::Path::new(&checkout);
        if !checkout.is_dir() {
            return Ok(Vec::new());
        }
        let copy = git_config_copy(checkout);
        if !copy.exists() {
            // A checkout made before Corral kept a copy: the best copy is the current one.
            corral_git::save_git_config(checkout, &copy)?;
        }
        corral_git::restore_git_dir(checkout, &copy)
    })
    .await
    .map_err(|e| EngineError::Internal(e.to_string()))?
    .map_err(|e| StepStop::Failed(format!("the checkout's git folder: {e}")))?;
    if !restored.is_empty() {
        ctx.note(
            run.id,
            format!(
                "the sandbox changed {}; Corral put back its own copy, so git on this machine \
                 runs nothing the sandbox planted",
                restored.join(", ")
            ),
        )
        .await?;
    }
    Ok(())
}

/// Runs (or, after a restart, keeps following) one durable step; returns its exit code.
#[allow(clippy::too_many_arguments)] // each is one thing the step needs; a struct would only rename
async fn step(
    ctx: &RunContext,
    sandbox: &impl Sandbox,
    run: &Run,
    project: &Project,
    name: StepName,
    argv: &[String],
    extra_env: &[(String, String)],
    cancel: &mut watch::Receiver<bool>,
    agent: Option<&mut super::agent::AgentOutput>,
) -> Result<i64, StepStop> {
    let container = run
        .container_id
        .clone()
        .ok_or_else(|| StepStop::Failed("no container".into()))?;
    let files = StepFiles::new(&ctx.sandbox_dir(run.id), name.as_str());
    // The step's id (to ask the sandbox for its status) lives where the sandbox cannot write.
    let id_file = ctx.run_dir(run.id).join(format!("{}.step", name.as_str()));
    let step_id = match std::fs::read_to_string(&id_file) {
        Ok(id) if !id.trim().is_empty() => id,
        Ok(_) => {
            return Err(StepStop::Failed(format!(
                "the {} step's record {} is empty",
                name.as_str(),
                id_file.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let step = NewStep {
                name,
                argv,
                extra_env,
                files: &files,
                id_file: &id_file,
            };
            start_step(ctx, sandbox, run, &container, project, step).await?
        }
        Err(e) => {
            return Err(StepStop::Failed(format!(
                "the {} step's id: {e}",
                name.as_str()
            )));
        }
    };
    let db = ctx.store.db();
    let offsets = (
        RunEventQuery::last_offset(db, run.id, name, OutputStream::Stdout)
            .await
            .map_err(EngineError::from)?,
        RunEventQuery::last_offset(db, run.id, name, OutputStream::Stderr)
            .await
            .map_err(EngineError::from)?,
    );
    let checkout = run.checkout_path.as_deref().map(std::path::Path::new);
    // Only the task's own step (its command or agent) may be stopped for silence.
    let inactivity = (name == StepName::Agent).then(|| {
        std::time::Duration::from_secs(u64::from(project.workflow.inactivity_timeout_secs))
    });
    let result = follow(
        ctx, sandbox, &container, run.id, name, &files, &step_id, checkout, offsets, cancel, agent,
        inactivity,
    )
    .await;
    if let Err(StepStop::Cancelled) = &result {
        // Stop the step's processes now; the logs so far are kept.
        let _ = sandbox
            .stop(&container, std::time::Duration::from_secs(2))
            .await;
    }
    // Nothing the step started outlives it: no later step's output or status can be forged.
    let ended = sandbox.end_strays(&container).await;
    match &ended {
        Ok(()) => {
            // So the next step (in this process or the next) knows it need not do it again.
            let marker = ctx.run_dir(run.id).join(format!("{}.ended", name.as_str()));
            if let Err(e) = std::fs::write(&marker, b"") {
                tracing::warn!(error = %e, "recording the end of the step's processes failed");
            }
        }
        Err(e) => tracing::warn!(error = %e, "stopping the step's leftover processes failed"),
    }
    guard_git_dir(ctx, run).await?;
    let code = result?;
    ended.map_err(|e| {
        StepStop::Failed(format!(
            "stopping what the {} step left running failed: {e}",
            name.as_str()
        ))
    })?;
    ctx.append(
        run.id,
        RunEventBody::StepExited {
            step: name,
            exit_code: code,
        },
    )
    .await?;
    Ok(code)
}

/// A step about to start: what it runs, and where its files and its id go.
struct NewStep<'a> {
    name: StepName,
    argv: &'a [String],
    extra_env: &'a [(String, String)],
    files: &'a StepFiles,
    id_file: &'a std::path::Path,
}

/// Starts a step afresh: leftovers of earlier steps stopped, its files made new (whatever was
/// planted under their names removed), then its id recorded on the host.
async fn start_step(
    ctx: &RunContext,
    sandbox: &impl Sandbox,
    run: &Run,
    container: &str,
    project: &Project,
    step: NewStep<'_>,
) -> Result<String, StepStop> {
    let NewStep {
        name,
        argv,
        extra_env,
        files,
        id_file,
    } = step;
    // Normally done as the previous step ended; not when the process that ran it died first.
    if earlier_step_not_ended(&ctx.run_dir(run.id)) {
        sandbox.end_strays(container).await.map_err(|e| {
            StepStop::Failed(format!(
                "stopping what earlier steps left running failed: {e}"
            ))
        })?;
    }
    let fresh = files.clone();
    tokio::task::spawn_blocking(move || fresh.make_fresh())
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(|e| match files.stdout.parent() {
            Some(dir) if !dir.is_dir() => StepStop::Failed(format!(
                "the run folder {} was removed before the {} step started",
                dir.display(),
                name.as_str()
            )),
            _ => StepStop::Failed(format!("preparing the {} step's files: {e}", name.as_str())),
        })?;
    ctx.append(
        run.id,
        RunEventBody::StepStarted {
            step: name,
            argv: argv.to_vec(),
        },
    )
    .await?;
    // The project's variables, then the step's own (an agent's home, its API key): values
    // never logged.
    let env: Vec<String> = project
        .workflow
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(extra_env.iter().map(|(k, v)| format!("{k}={v}")))
        .collect();
    // Marks a start in progress: if this process dies before the id is recorded, the next
    // one stops whatever this start left running before starting the step again.
    let starting = id_file.with_extension("starting");
    std::fs::write(&starting, b"")
        .map_err(|e| StepStop::Failed(format!("recording the {} step: {e}", name.as_str())))?;
    let step_id = sandbox
        .start_step(container, name.as_str(), argv, &env)
        .await
        .map_err(|e| match &run.checkout_path {
            Some(checkout) if !std::path::Path::new(checkout).is_dir() => {
                StepStop::Failed(format!(
                    "the checkout {checkout} was deleted before the {} step started",
                    name.as_str()
                ))
            }
            _ => StepStop::Failed(format!("{} step did not start: {e}", name.as_str())),
        })?;
    // Written whole or not at all: a half-written id would leave the step unfollowable.
    let tmp = id_file.with_extension("step.tmp");
    std::fs::write(&tmp, &step_id)
        .and_then(|()| std::fs::rename(&tmp, id_file))
        .and_then(|()| std::fs::remove_file(&starting))
        .map_err(|e| match id_file.parent() {
            Some(dir) if !dir.is_dir() => StepStop::Failed(format!(
                "the run folder {} was removed before the {} step started",
                dir.display(),
                name.as_str()
            )),
            _ => StepStop::Failed(format!("recording the {} step: {e}", name.as_str())),
        })?;
    Ok(step_id)
}

/// Whether a step of this run started (its `<step>.step` id is in the host-only run folder)
/// and nobody recorded stopping what it left running (`<step>.ended`), or a start was cut
/// short (`<step>.starting`).
fn earlier_step_not_ended(run_dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        let ext = path.extension();
        ext.is_some_and(|e| e == "starting")
            || (ext.is_some_and(|e| e == "step") && !path.with_extension("ended").exists())
    })
}

/// Commits the checkout on the run branch and makes the branch visible in the user's repo.
async fn finish(
    ctx: &RunContext,
    run: &mut Run,
    task: &Task,
    project: &Project,
) -> Result<(), StepStop> {
    let checkout = run
        .checkout_path
        .clone()
        .ok_or_else(|| StepStop::Failed("no checkout".into()))?;
    let branch = run
        .branch
        .clone()
        .ok_or_else(|| StepStop::Failed("no branch".into()))?;
    let source = source_path(ctx, project);
    let message = format!(
        "{}\n\nCorral run {} of task {}",
        task.title, run.id, task.id
    );
    guard_git_dir(ctx, run).await?;
    let base = run
        .base_commit
        .clone()
        .ok_or_else(|| StepStop::Failed("no base commit".into()))?;
    let run_branch = branch.clone();
    let max_bytes = project.workflow.max_file_mib.saturating_mul(1024 * 1024);
    let (recorded, head) = tokio::task::spawn_blocking(move || {
        let path = std::path::Path::new(&checkout);
        // Whatever the agent did with git, the result is what HEAD and the working tree hold.
        let recorded = corral_git::commit_all(path, AUTHOR, &message, max_bytes)?;
        let head = corral_git::point_run_branch(path, &run_branch, &base)?;
        corral_git::publish_branch(&source, path, &run_branch)?;
        Ok::<_, corral_git::GitError>((recorded, head))
    })
    .await
    .map_err(|e| EngineError::Internal(e.to_string()))?
    .map_err(|e| StepStop::Failed(format!("recording the result failed: {e}")))?;
    run.result_commit = Some(head.commit.clone());
    ctx.save(run).await?;
    let short = &head.commit[..12.min(head.commit.len())];
    if head.moved() {
        let how = match (&head.other_branch, head.detached) {
            (Some(other), _) => {
                format!("the agent switched the checkout to its own branch `{other}`")
            }
            (None, true) => "the agent left the checkout's HEAD detached".to_string(),
            (None, false) => "the agent moved the run branch".to_string(),
        };
        let history = if head.descends_from_base {
            String::new()
        } else {
            "; it no longer descends from the run's base commit (a reset or a rewrite of \
             history), so merging it may drop earlier work"
                .to_string()
        };
        ctx.note(
            run.id,
            format!(
                "{how}{history}; the run's result is what HEAD held: {short}, published as {branch}"
            ),
        )
        .await?;
    }
    for file in &recorded.left_out {
        ctx.append(
            run.id,
            RunEventBody::FileLeftOut {
                path: file.path.clone(),
                size: file.size,
                max_bytes,
            },
        )
        .await?;
    }
    if !recorded.left_out.is_empty() {
        let biggest = recorded.left_out.iter().map(|f| f.size).max().unwrap_or(0);
        let mib = biggest.div_ceil(1024 * 1024);
        ctx.note(
            run.id,
            format!(
                "{} file(s) over max-file-size ({} MiB) left out of the commit; they are still in \
                 the checkout. To include them: `corral project set {} max-file-size={mib}m`, \
                 then run again",
                recorded.left_out.len(),
                project.workflow.max_file_mib,
                project.name
            ),
        )
        .await?;
    }
    ctx.note(
        run.id,
        match recorded.commit {
            Some(c) => format!("committed {} on {branch}", &c[..12.min(c.len())]),
            None if run.result_commit != run.base_commit => {
                format!("the agent's own commits are the result: {short} on {branch}")
            }
            None => "no changes to commit".to_string(),
        },
    )
    .await?;
    Ok(())
}
