//! Ctrl-C, a closed terminal or a SIGTERM while `corral run` waits for its run. Ctrl-C cancels
//! the run, or with `--on-interrupt detach` leaves it going; a closed terminal or a SIGTERM
//! always leaves it going. A run left going is handed over to a background `corral drive`
//! process, which drives it (and any other run nobody drives) to its end, so no run is left
//! without a driver and no container without a run.

use std::io::Write;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use corral_core::RunId;
use corral_engine::Engine;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::OnInterrupt;

/// The exit code of a command stopped by a signal it handled (128 + SIGINT, by convention).
const INTERRUPTED: u8 = 130;
/// How long a background driver waits for the process that handed a run over to let it go.
const HAND_OVER_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Hangup,
    Terminate,
}

/// The handlers, installed before the wait begins so no signal slips by.
#[derive(Debug)]
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    pub async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.hangup.recv() => Signal::Hangup,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }
}

/// Says something on stderr; the terminal may be gone (a hang-up), which is no error.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Does what the signal asks for the run `corral run` waited for.
pub async fn handle(
    engine: &Engine,
    run: RunId,
    got: Signal,
    on_interrupt: OnInterrupt,
    signals: &mut Signals,
) -> anyhow::Result<ExitCode> {
    if got == Signal::Interrupt && on_interrupt == OnInterrupt::Cancel {
        say(&format!(
            "Ctrl-C: cancelling run {run} (`--on-interrupt detach` leaves a run going)"
        ));
        engine.cancel_run(run).await?;
        // The supervisor stops the step and removes the sandbox; this process must not exit
        // before it has recorded the end (its exit would stop the supervisor half-way).
        let mut told = false;
        let started = Instant::now();
        loop {
            let now = engine.run(run).await?;
            if now.state.is_terminal() && engine.runs_driven_here() == 0 {
                say(&format!("run {run} {}", now.state));
                break;
            }
            if !told && started.elapsed() > Duration::from_secs(5) {
                told = true;
                say(
                    "still stopping the run's sandbox… (Ctrl-C again to leave it to the next corral)",
                );
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = signals.next() => {
                    say(&format!(
                        "left as it is: the next corral process on this data dir finishes \
                         cancelling run {run}"
                    ));
                    break;
                }
            }
        }
        return Ok(ExitCode::from(INTERRUPTED));
    }
    let pid = hand_over(engine, run)?;
    let why = match got {
        Signal::Interrupt => "Ctrl-C",
        Signal::Hangup => "the terminal closed",
        Signal::Terminate => "asked to stop",
    };
    say(&format!(
        "{why}: detached; run {run} goes on, driven by a background corral process (pid {pid}). \
         Follow it: corral logs {run} --follow; cancel it: corral run cancel {run}"
    ));
    engine.event_writer().flush().await?;
    // This process's supervisors stop with it, as on a crash: the run's steps go on in its
    // sandbox, and the background process picks them up where their files say they are.
    std::process::exit(i32::from(INTERRUPTED));
}

/// Starts `corral drive <run>` in a process group of its own (the terminal's Ctrl-C and
/// hang-up do not reach it), on this data dir. Returns its pid.
fn hand_over(engine: &Engine, run: RunId) -> anyhow::Result<u32> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let child = std::process::Command::new(exe)
        .args(["drive", &run.to_string()])
        .env("CORRAL_DATA_DIR", &engine.config().data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    Ok(child.id())
}

/// `corral drive <run>`: takes the run over once the process that handed it over has let it
/// go, then drives it and every other run nobody drove until none is left.
pub async fn drive(engine: &Engine, run: &str) -> anyhow::Result<ExitCode> {
    // A terminal closing later must not stop the runs this process now drives.
    let _ignore_hangup = signal(SignalKind::hangup())?;
    let run = engine.find_run(run).await?;
    let deadline = Instant::now() + HAND_OVER_WAIT;
    loop {
        // A run that cannot be picked up yet (its sandbox unreachable for now, an error the
        // engine logs) is tried again.
        let _ = engine.resume_runs().await;
        if engine.drives_run(run.id) || engine.run(run.id).await?.state.is_terminal() {
            break;
        }
        if Instant::now() >= deadline {
            // Another process drives it after all (it will see it to its end).
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    while engine.runs_driven_here() > 0 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(ExitCode::SUCCESS)
}
