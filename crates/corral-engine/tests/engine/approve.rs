//! Approvals through a run's MCP server (`permission_prompt`, Claude Code's permission prompt
//! tool): offered only with `agent-permissions=ask`; a request waits in the inbox with three
//! choices; "Allow for this run" lets the same tool through afterwards without asking. (The
//! real Claude Code is in the CLI tests' `approve`.)

use std::time::Duration;

use corral_core::{Answer, QuestionAnswer};
use corral_engine::AnsweredFrom;
use serde_json::json;

use crate::Fixture;
use crate::ask::waiting_question;
use crate::mcp::{Client, live_run};
use crate::runs::wait;

fn bash(command: &str) -> serde_json::Value {
    json!({"tool_name": "Bash", "input": {"command": command}, "tool_use_id": "toolu_1"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_tool_is_offered_only_when_the_project_asks() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[]).await;
    let mut mcp = Client::connect(&f, run).await;
    assert!(
        !mcp.tool_names()
            .await
            .contains(&"permission_prompt".to_string())
    );
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_for_the_run_a_tool_is_not_asked_again() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[("agent-permissions", "ask")]).await;
    let mut mcp = Client::connect(&f, run).await;
    assert!(
        mcp.tool_names()
            .await
            .contains(&"permission_prompt".to_string())
    );
    let engine = f.engine.clone();
    let answering = tokio::spawn(async move {
        let f = Fixture {
            dir: tempfile::tempdir().expect("temp"),
            engine,
        };
        let request = waiting_question(&f).await;
        let asked = request.ask.questions[0].question.clone();
        f.engine
            .answer_question(
                request.id,
                Answer {
                    answers: vec![QuestionAnswer {
                        selected: vec!["Allow for this run".into()],
                        text: None,
                    }],
                },
                AnsweredFrom::App,
            )
            .await
            .expect("answered");
        asked
    });
    let first = mcp.ok("permission_prompt", bash("npm test")).await;
    assert_eq!(first["behavior"], "allow", "{first}");
    assert_eq!(first["updatedInput"]["command"], "npm test");
    let asked = answering.await.expect("answering");
    assert!(asked.contains("Bash: npm test"), "{asked}");
    // The same tool again: allowed without a question.
    let again = mcp.ok("permission_prompt", bash("npm run lint")).await;
    assert_eq!(again["behavior"], "allow", "{again}");
    assert_eq!(
        f.engine.run_questions(run).await.expect("questions").len(),
        1
    );
    assert!(f.engine.inbox().await.expect("inbox").is_empty());
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}
