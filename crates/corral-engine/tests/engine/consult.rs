//! `ask_agent` through a run's MCP server, when it cannot start a consult run: each bad call is
//! a tool error saying what to change, nothing is recorded, and the asking run goes on. (The
//! consult runs themselves, with the real Claude Code, are the CLI tests' `consult`.)

use std::time::Duration;

use corral_core::RunState;
use serde_json::json;

use crate::Fixture;
use crate::mcp::{Client, live_run};
use crate::runs::wait;

/// The run still works, with no question and no consult run of its own.
async fn untouched(f: &Fixture, run: corral_core::RunId) {
    assert_eq!(
        f.engine.run(run).await.expect("run").state,
        RunState::Running
    );
    assert!(
        f.engine
            .consults_of(run)
            .await
            .expect("consults")
            .is_empty()
    );
    assert!(
        f.engine
            .run_questions(run)
            .await
            .expect("questions")
            .is_empty()
    );
    assert!(f.engine.inbox().await.expect("inbox").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_questions_for_an_agent_are_tool_errors() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[]).await;
    let mut mcp = Client::connect(&f, run).await;
    assert!(mcp.tool_names().await.contains(&"ask_agent".to_string()));
    let empty = mcp.refused("ask_agent", json!({"question": "  "})).await;
    assert!(empty.contains("empty"), "{empty}");
    let long = mcp
        .refused("ask_agent", json!({"question": "x".repeat(3_000)}))
        .await;
    assert!(long.contains("characters"), "{long}");
    let custom = mcp
        .refused(
            "ask_agent",
            json!({"question": "Sure?", "runtime": "custom"}),
        )
        .await;
    assert!(custom.contains("coding agents only"), "{custom}");
    let unknown = mcp
        .refused(
            "ask_agent",
            json!({"question": "Sure?", "runtime": "hal-9000"}),
        )
        .await;
    assert!(unknown.contains("hal-9000"), "{unknown}");
    let model = mcp
        .refused(
            "ask_agent",
            json!({"question": "Sure?", "runtime": "codex", "model": "m".repeat(300)}),
        )
        .await;
    assert!(model.contains("at most 200 characters"), "{model}");
    untouched(&f, run).await;
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consulted_agent_without_its_key_is_a_tool_error_naming_the_key() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[("network", "allowlist")]).await;
    let mut mcp = Client::connect(&f, run).await;
    let missing = mcp
        .refused(
            "ask_agent",
            json!({"question": "Is this right?", "runtime": "gemini"}),
        )
        .await;
    assert!(missing.contains("GEMINI_API_KEY"), "{missing}");
    assert!(missing.contains("corral key set"), "the fix: {missing}");
    untouched(&f, run).await;
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_consult_without_a_way_to_the_model() {
    let f = Fixture::new().await;
    let (project, run) = live_run(&f, &[("network", "none")]).await;
    let mut mcp = Client::connect(&f, run).await;
    let refused = mcp
        .refused(
            "ask_agent",
            json!({"question": "Is this right?", "runtime": "gemini"}),
        )
        .await;
    assert!(refused.contains("network=allowlist"), "{refused}");
    assert!(refused.contains(&project.name), "{refused}");
    untouched(&f, run).await;
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}
