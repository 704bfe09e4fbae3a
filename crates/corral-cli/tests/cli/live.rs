//! A run a `corral run` process drives shows live in another process's engine (the app's):
//! its state changes arrive as `RunUpdated` events, woken by the database's commits.

use std::process::{Command, Stdio};
use std::time::Duration;

use corral_core::RunState;
use corral_engine::{Config, Engine, EngineEvent};

use super::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_engine_announces_the_states_of_a_run_a_cli_process_drives() {
    let env = Env::new();
    env.project("r", &["sandbox=local"]);
    env.sh_task("r", "T", "echo hi; sleep 1");
    let app = Engine::open(Config::new(env.data.clone()))
        .await
        .expect("the app's engine");
    let mut events = app.subscribe();
    app.relay_other_processes().expect("relay");

    let mut cli = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "T"])
        .env("CORRAL_DATA_DIR", &env.data)
        .env_remove("CORRAL_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("corral run");
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::RunUpdated { run }) => {
                    let done = run.state.is_terminal();
                    seen.push(run.state);
                    if done {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("the bus: {e}"),
            }
        }
    })
    .await;
    let status = cli.wait().expect("corral run ends");
    assert!(outcome.is_ok(), "no final state came through: {seen:?}");
    assert!(status.success());
    assert!(
        seen.contains(&RunState::Running),
        "the live state came through: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&RunState::Succeeded), "{seen:?}");
    app.close().await.expect("close");
}
