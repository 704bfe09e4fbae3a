//! Following a durable step: its output files become `Output` events (with the offset to resume
//! from), in order per stream, until its exit file appears. Bounded: at most `BATCH` lines are
//! read per stream per round, and the EventWriter's channel applies back-pressure.

use std::time::{Duration, Instant};

use corral_core::{FailKind, FailReason, OutputStream, RunEventBody, RunId, StepName};
use corral_sandbox::{LineReader, Sandbox, StepFiles};
use tokio::sync::watch;

use super::agent::AgentOutput;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

const BATCH: usize = 2000;
/// Longer lines are cut into pieces of this size.
pub const MAX_LINE: usize = 1024 * 1024;
const IDLE: Duration = Duration::from_millis(25);
const ALIVE_CHECK: Duration = Duration::from_secs(2);
/// How long the sandbox may fail to answer (a Docker daemon restarting) before the run fails.
const UNREACHABLE_GRACE: Duration = Duration::from_secs(10);

/// Why following a step stopped without an exit code.
#[derive(Debug)]
pub(crate) enum StepStop {
    Cancelled,
    Failed(FailReason),
    Engine(EngineError),
}

impl StepStop {
    pub fn fail(kind: FailKind, message: impl Into<String>) -> StepStop {
        StepStop::Failed(FailReason::new(kind, message))
    }

    /// A sandbox error that ends the run: Docker gone, or `otherwise`.
    pub fn sandbox(err: &corral_sandbox::SandboxError, otherwise: FailKind) -> StepStop {
        let kind = if err.is_unreachable() {
            FailKind::DockerUnreachable
        } else {
            otherwise
        };
        StepStop::fail(kind, err.to_string())
    }
}

impl From<EngineError> for StepStop {
    fn from(e: EngineError) -> Self {
        StepStop::Engine(e)
    }
}

/// Reads what is new in one stream and appends it. Returns how many lines it appended.
async fn pump(
    ctx: &Engine,
    run: RunId,
    step: StepName,
    stream: OutputStream,
    reader: LineReader,
    finish: bool,
    mut agent: Option<&mut AgentOutput>,
) -> EngineResult<(LineReader, usize)> {
    let (mut reader, lines) = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        let lines = reader.read_lines(BATCH);
        (reader, lines)
    })
    .await
    .map_err(EngineError::from)?;
    let mut lines = lines.map_err(EngineError::io("reading the step's output"))?;
    if finish && lines.len() < BATCH {
        lines.extend(reader.finish());
    }
    let n = lines.len();
    for line in lines {
        // An agent's stdout is parsed into what it did; the line itself is kept too.
        let parsed = match (&mut agent, stream) {
            (Some(agent), OutputStream::Stdout) => agent.absorb(&line.text),
            _ => Vec::new(),
        };
        ctx.append(
            run,
            RunEventBody::Output {
                step,
                stream,
                line: line.text,
                offset: Some(line.end_offset),
            },
        )
        .await?;
        for event in parsed {
            ctx.append(run, RunEventBody::Agent { event }).await?;
        }
    }
    Ok((reader, n))
}

/// How long a step may go on: silent (`inactivity-timeout`, the task's own step), and in all
/// (`verify-timeout`, the verify step).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StepLimits {
    pub silence: Option<Duration>,
    pub total: Option<Duration>,
}

/// Follows the step from the given offsets until it exits; returns its exit code.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
pub(crate) async fn follow(
    ctx: &Engine,
    sandbox: &impl Sandbox,
    container: &str,
    run: RunId,
    step: StepName,
    files: &StepFiles,
    step_id: &str,
    checkout: Option<&std::path::Path>,
    offsets: (u64, u64),
    cancel: &mut watch::Receiver<bool>,
    mut agent: Option<&mut AgentOutput>,
    limits: StepLimits,
) -> Result<i64, StepStop> {
    let inactivity = limits.silence;
    let started = Instant::now();
    let mut out = LineReader::new(&files.stdout, offsets.0, MAX_LINE);
    let mut err = LineReader::new(&files.stderr, offsets.1, MAX_LINE);
    let mut last_check = Instant::now();
    let mut unreachable_since: Option<Instant> = None;
    let mut last_output = Instant::now();
    let mut last_status = Instant::now();
    loop {
        // The exit file only hints that the step ended (anything in the sandbox can write it);
        // the status itself comes from the sandbox. Asked at once on the hint, else now and then.
        let hinted = files.exit_code().ok().flatten().is_some();
        let exit = if hinted || last_status.elapsed() >= ALIVE_CHECK {
            last_status = Instant::now();
            sandbox
                .step_exit(container, files, step_id)
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let done = exit.is_some();
        let (o, n_out) = pump(
            ctx,
            run,
            step,
            OutputStream::Stdout,
            out,
            done,
            agent.as_deref_mut(),
        )
        .await?;
        let (e, n_err) = pump(ctx, run, step, OutputStream::Stderr, err, done, None).await?;
        out = o;
        err = e;
        if let Some(code) = exit
            && n_out < BATCH
            && n_err < BATCH
        {
            if let Some(agent) = agent.as_deref_mut() {
                for event in agent.finish() {
                    ctx.append(run, RunEventBody::Agent { event }).await?;
                }
            }
            return Ok(code);
        }
        if *cancel.borrow() {
            return Err(StepStop::Cancelled);
        }
        if let Some(limit) = limits.total
            && started.elapsed() >= limit
        {
            // Its processes are ended as every step's are; the sandbox stays for the next.
            return Err(StepStop::fail(
                FailKind::VerifyFailed,
                format!(
                    "the {} step ran for {} s without ending and was stopped (project setting \
                     verify-timeout)",
                    step.as_str(),
                    limit.as_secs()
                ),
            ));
        }
        if n_out + n_err > 0 {
            last_output = Instant::now();
        } else if let Some(limit) = inactivity
            && last_output.elapsed() >= limit
        {
            let _ = sandbox.stop(container, Duration::from_secs(2)).await;
            return Err(StepStop::fail(
                FailKind::Inactivity,
                format!(
                    "the {} step printed nothing for {} s and was stopped (project setting \
                 inactivity-timeout)",
                    step.as_str(),
                    limit.as_secs()
                ),
            ));
        }
        if n_out + n_err == 0 {
            tokio::select! {
                _ = tokio::time::sleep(IDLE) => {}
                _ = cancel.changed() => {}
            }
        }
        if last_check.elapsed() >= ALIVE_CHECK {
            last_check = Instant::now();
            // The step writes into this folder; without it nothing more can arrive.
            if let Some(dir) = files.exit.parent()
                && !dir.is_dir()
            {
                return Err(StepStop::fail(
                    FailKind::RunFilesRemoved,
                    format!(
                        "the run folder {} was removed while the step ran",
                        dir.display()
                    ),
                ));
            }
            if let Some(checkout) = checkout
                && !checkout.is_dir()
            {
                let _ = sandbox.stop(container, Duration::from_secs(1)).await;
                return Err(StepStop::fail(
                    FailKind::RunFilesRemoved,
                    format!(
                        "the checkout {} was deleted while the {} step ran",
                        checkout.display(),
                        step.as_str()
                    ),
                ));
            }
            let running = match sandbox.is_running(container).await {
                Ok(running) => {
                    unreachable_since = None;
                    running
                }
                Err(e) => {
                    let since = *unreachable_since.get_or_insert_with(Instant::now);
                    if since.elapsed() < UNREACHABLE_GRACE {
                        continue;
                    }
                    let who = if sandbox.is_isolated() {
                        "the Docker daemon"
                    } else {
                        "the local sandbox"
                    };
                    let kind = if sandbox.is_isolated() {
                        FailKind::DockerUnreachable
                    } else {
                        FailKind::Sandbox
                    };
                    return Err(StepStop::fail(
                        kind,
                        format!(
                            "{who} stopped answering while the {} step ran; the log up to then is \
                         kept ({e})",
                            step.as_str()
                        ),
                    ));
                }
            };
            let ended = sandbox
                .step_exit(container, files, step_id)
                .await
                .ok()
                .flatten()
                .is_some();
            if !running && !ended {
                return Err(StepStop::fail(
                    FailKind::Sandbox,
                    if sandbox.is_isolated() {
                        "the container stopped before the step finished"
                    } else {
                        "the step's processes ended without recording an exit status"
                    },
                ));
            }
        }
    }
}
