//! Making a run ready: the mirror of a URL project fetched, the checkout made (with Corral's
//! copy of its git config), the agent home of a follow-up copied, the image pulled or built,
//! the container created. Each part is skipped when an earlier process already did it.

use std::os::unix::fs::MetadataExt;

use corral_core::branch::run_branch;
use corral_core::{FailKind, ImageChoice, Project, RepoSource, Run, Task};
use corral_sandbox::{ContainerSpec, ImageSpec, NetworkMode, Sandbox};

use super::follow::StepStop;
use super::result::git_config_copy;
use crate::engine::Engine;
use crate::error::EngineError;

fn network_mode(policy: corral_core::NetworkPolicy) -> NetworkMode {
    match policy {
        // Nothing but loopback: the relay there carries connections to the gateway.
        corral_core::NetworkPolicy::Allowlist | corral_core::NetworkPolicy::None => {
            NetworkMode::None
        }
        corral_core::NetworkPolicy::Host => NetworkMode::Host,
        corral_core::NetworkPolicy::Bridge => NetworkMode::Bridge,
    }
}

/// The image a run's container is made from: a ready image as is; for an agent runtime, the
/// agent image built on the base; a Dockerfile read from the run's checkout.
fn image_of(
    ctx: &Engine,
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
                    return Err(StepStop::fail(
                        FailKind::Image,
                        format!(
                            "{} in the checkout is a link; Corral does not follow links to build \
                         an image (dockerfile={})",
                            at.strip_prefix(checkout).unwrap_or(&at).display(),
                            path.display()
                        ),
                    ));
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
pub(crate) fn source_path(ctx: &Engine, project: &Project) -> std::path::PathBuf {
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
    fn start(ctx: &Engine, run: corral_core::RunId) -> ProgressNotes {
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
    ctx: &Engine,
    run: &Run,
    project: &Project,
    url: &str,
) -> Result<Option<String>, StepStop> {
    let dest = ctx.mirror_dir(project.id);
    ctx.note(run.id, format!("fetching {url}")).await?;
    let notes = ProgressNotes::start(ctx, run.id);
    let tx = notes.sender();
    let url_owned = url.to_string();
    let (data_dir, project_id) = (ctx.config.data_dir.clone(), project.id);
    let synced = tokio::task::spawn_blocking(move || {
        let _turn =
            super::repo_lock::lock_repo(&data_dir, project_id, super::repo_lock::Access::Write)?;
        corral_git::sync_mirror(&url_owned, &dest, &mut |line| {
            let _ = tx.send(line);
        })
    })
    .await
    .map_err(EngineError::from)?;
    notes.finish().await;
    let synced = synced.map_err(|e| {
        StepStop::fail(
            FailKind::Checkout,
            format!("{e}; check the URL and that `git fetch {url}` works for you in a terminal"),
        )
    })?;
    Ok(synced.default_branch)
}

/// Checkout, image and container; each skipped when a previous process already made it.
pub(super) async fn prepare(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    run: &mut Run,
    task: &Task,
    project: &Project,
) -> Result<(), StepStop> {
    let source = source_path(ctx, project);
    let dest = ctx.checkout_dir(run.id);
    // A consult run looks at the asking run's checkout, read-only; it makes none.
    let consulted = match &run.consult {
        Some(consult) => Some(consulted_checkout(ctx, consult.of).await?),
        None => None,
    };
    if run.checkout_path.is_none()
        && consulted.is_none()
        && let RepoSource::Local { path } = &project.source
        && !path.is_dir()
    {
        // libgit2's own words for this are "unsupported URL protocol".
        return Err(StepStop::fail(
            FailKind::RepoMissing,
            format!(
                "the project's repository {} is not there any more (moved or deleted); if it \
             moved, point the project at its new place: `corral project set {} path=<folder>`",
                path.display(),
                project.name
            ),
        ));
    }
    if run.checkout_path.is_none() && consulted.is_none() {
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
        let (data_dir, project_id) = (ctx.config.data_dir.clone(), project.id);
        // Removing a whole checkout is bulk disk work: off the async runtime, like the clone.
        let checkout = tokio::task::spawn_blocking(move || {
            if dst.exists() {
                // Half-made by a process that died before recording it: ours to remake.
                let _ = crate::fs_work::remove_tree_blocking(&dst);
            }
            let made =
                super::repo_lock::lock_repo(&data_dir, project_id, super::repo_lock::Access::Read)
                    .and_then(|_turn| corral_git::create_checkout(&src, &base, &br, &dst))
                    .and_then(|checkout| {
                        // Corral's own copy of the git config, put back after every step.
                        corral_git::save_git_config(
                            &checkout.path,
                            &git_config_copy(&checkout.path),
                        )?;
                        Ok(checkout)
                    });
            if made.is_err() {
                // Whatever was written is of no use and may be what filled the disk.
                let _ = crate::fs_work::remove_tree_blocking(&dst);
            }
            made
        })
        .await
        .map_err(EngineError::from)?
        .map_err(|e| {
            let text = e.to_string();
            if text.to_lowercase().contains("no space left") {
                StepStop::fail(
                    FailKind::DiskFull,
                    format!(
                        "checkout failed: {text}; free space where Corral keeps its data ({}), \
                     e.g. with `corral gc`",
                        ctx.config.data_dir.display()
                    ),
                )
            } else {
                StepStop::fail(FailKind::Checkout, format!("checkout failed: {text}"))
            }
        })?;
        // A dependant starts from the work of the tasks it runs after (recorded before the
        // checkout is: a process dying in between makes the checkout again).
        let base =
            super::upstream::bring_in_upstream(ctx, run, task, &checkout.path, &checkout.branch)
                .await?
                .unwrap_or(checkout.base_commit);
        run.checkout_path = Some(checkout.path.display().to_string());
        run.branch = Some(checkout.branch);
        run.base_commit = Some(base);
        ctx.save(run).await?;
    }
    // A follow-up works in the checkout of the run it follows.
    let dest = consulted
        .clone()
        .or_else(|| run.checkout_path.as_ref().map(std::path::PathBuf::from))
        .unwrap_or(dest);
    if let Some(follow_up) = &run.follow_up {
        // The agent's session lives in its home: the follow-up starts from a copy of it.
        let home = ctx.sandbox_dir(run.id).join("home");
        if !home.exists() {
            let from = ctx.sandbox_dir(follow_up.of).join("home");
            tokio::task::spawn_blocking(move || copy_tree(&from, &home))
                .await
                .map_err(EngineError::from)?
                .map_err(|e| {
                    StepStop::fail(
                        FailKind::Internal,
                        format!("copying the agent's home from the run it follows up failed: {e}"),
                    )
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
        ensured.map_err(|e| StepStop::sandbox(&e, FailKind::Image))?;
        // Run as the owner of the checkout (the host user), so files stay theirs.
        let meta = std::fs::metadata(&dest)
            .map_err(|e| StepStop::fail(FailKind::RunFilesRemoved, format!("checkout: {e}")))?;
        let limits = project.workflow.limits;
        let sandbox_dir = ctx.sandbox_dir(run.id);
        std::fs::create_dir_all(&sandbox_dir).map_err(|e| {
            StepStop::fail(FailKind::Internal, format!("the run's sandbox folder: {e}"))
        })?;
        let spec = ContainerSpec {
            run_id: run.id.to_string(),
            task_id: run.task_id.to_string(),
            project_id: run.project_id.to_string(),
            instance: ctx.config.data_dir.display().to_string(),
            image: image.tag().to_string(),
            workspace: dest.clone(),
            workspace_read_only: consulted.is_some(),
            run_dir: ctx.sandbox_dir(run.id),
            user: Some(format!("{}:{}", meta.uid(), meta.gid())),
            memory_mib: limits.memory_mib,
            cpu_millis: limits.cpu_millis,
            pids: limits.pids,
            network: network_mode(project.workflow.network),
            read_only_mounts: relay_mount(ctx, run.id, sandbox.is_isolated())?,
        };
        let id = sandbox
            .create(&spec)
            .await
            .map_err(|e| StepStop::sandbox(&e, FailKind::Sandbox))?;
        ctx.note(
            run.id,
            match (sandbox.is_isolated(), consulted.is_some()) {
                (true, false) => {
                    format!("container {} from {}", &id[..12.min(id.len())], image.tag())
                }
                (true, true) => format!(
                    "container {} from {}, the asking run's checkout mounted read-only",
                    &id[..12.min(id.len())],
                    image.tag()
                ),
                (false, false) => {
                    "local sandbox: the steps run on this machine as you, NOT isolated".to_string()
                }
                (false, true) => "local sandbox: the steps run on this machine as you, NOT \
                                  isolated; the asking run's checkout is NOT read-only here"
                    .to_string(),
            },
        )
        .await?;
        run.container_id = Some(id);
        ctx.save(run).await?;
    }
    Ok(())
}

/// The checkout of the run a consult run answers: it must still be there.
async fn consulted_checkout(
    ctx: &Engine,
    asking: corral_core::RunId,
) -> Result<std::path::PathBuf, StepStop> {
    let asking = ctx.run(asking).await?;
    let checkout = asking
        .checkout_path
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_dir());
    checkout.ok_or_else(|| {
        StepStop::fail(
            FailKind::RunFilesRemoved,
            format!("the checkout of the asking run {} is gone", asking.id),
        )
    })
}

/// The relay, for a run that reaches the world through the gateway: mounted read-only into its
/// container, or (a local run) where its agent starts it as its MCP server.
fn relay_mount(
    ctx: &Engine,
    run: corral_core::RunId,
    isolated: bool,
) -> Result<Vec<(std::path::PathBuf, String)>, StepStop> {
    if !super::network::uses_gateway(ctx, run) {
        return Ok(Vec::new());
    }
    let relay = ctx.local_relay_path();
    let dir = relay.parent().unwrap_or(&ctx.config.data_dir);
    let relay = corral_sandbox::install_relay(dir)
        .map_err(|e| StepStop::fail(FailKind::Sandbox, e.to_string()))?;
    if !isolated {
        return Ok(Vec::new());
    }
    Ok(vec![(
        relay,
        corral_sandbox::RELAY_IN_CONTAINER.to_string(),
    )])
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
