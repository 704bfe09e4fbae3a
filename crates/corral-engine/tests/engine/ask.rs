//! `ask_human` through a run's MCP server: bad questions are tool errors; a question waits in
//! the inbox with its run in `waiting_input`; an answer in time comes back in the call, a late
//! one after the call said it is pending; an answered or cancelled question cannot be answered
//! again.

use std::time::Duration;

use corral_core::{Answer, QuestionAnswer, RequestState, RunState};
use corral_engine::{AnsweredFrom, ErrorKind, InboxItem};
use serde_json::json;

use crate::Fixture;
use crate::mcp::{Client, live_run};
use crate::runs::wait;

fn db_question() -> serde_json::Value {
    json!({"questions": [{"question": "Which database?", "options": [
        {"label": "SQLite", "description": "embedded"}, {"label": "Postgres"}]}],
        "context": "The cart needs storage"})
}

fn pick(label: &str) -> Answer {
    Answer {
        answers: vec![QuestionAnswer {
            selected: vec![label.into()],
            text: None,
        }],
    }
}

/// The question of the inbox, once there is one.
pub async fn waiting_question(f: &Fixture) -> corral_core::InputRequest {
    for _ in 0..200 {
        if let Some(InboxItem::Question { request, .. }) = f
            .engine
            .inbox()
            .await
            .expect("inbox")
            .into_iter()
            .find(|i| matches!(i, InboxItem::Question { .. }))
        {
            return request;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no question reached the inbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_questions_are_tool_errors() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[]).await;
    let mut mcp = Client::connect(&f, run).await;
    let none = mcp.refused("ask_human", json!({"questions": []})).await;
    assert!(none.contains("1 to 4 questions"), "{none}");
    let five: Vec<_> = (0..5)
        .map(|i| json!({"question": format!("q{i}")}))
        .collect();
    let many = mcp.refused("ask_human", json!({"questions": five})).await;
    assert!(many.contains("not 5"), "{many}");
    let one = mcp
        .refused(
            "ask_human",
            json!({"questions": [{"question": "Sure?", "options": [{"label": "yes"}]}]}),
        )
        .await;
    assert!(one.contains("one option"), "{one}");
    let empty = mcp
        .refused("ask_human", json!({"questions": [{"question": "   "}]}))
        .await;
    assert!(empty.contains("empty"), "{empty}");
    assert!(f.engine.inbox().await.expect("inbox").is_empty());
    assert_eq!(
        f.engine.run(run).await.expect("run").state,
        RunState::Running
    );
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_in_time_comes_back_in_the_call() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[]).await;
    let mut mcp = Client::connect(&f, run).await;
    let engine = f.engine.clone();
    let answering = tokio::spawn(async move {
        let f = Fixture {
            dir: tempfile::tempdir().expect("dir"),
            engine,
        };
        let request = waiting_question(&f).await;
        assert_eq!(
            f.engine.run(request.run_id).await.expect("run").state,
            RunState::WaitingInput
        );
        assert_eq!(
            request.ask.context.as_deref(),
            Some("The cart needs storage")
        );
        let wrong = f
            .engine
            .answer_question(request.id, pick("MySQL"), AnsweredFrom::App)
            .await
            .expect_err("no such option");
        assert_eq!(wrong.kind(), ErrorKind::InvalidInput);
        f.engine
            .answer_question(request.id, pick("SQLite"), AnsweredFrom::App)
            .await
            .expect("answer");
        request
    });
    let answer = mcp.ok("ask_human", db_question()).await;
    assert_eq!(answer["answered"], true, "{answer}");
    assert_eq!(answer["answer"], "Q: Which database?\nA: SQLite");
    let request = answering.await.expect("answered");
    let stored = f
        .engine
        .find_request(&request.id.to_string())
        .await
        .expect("found");
    assert_eq!(stored.state, RequestState::Answered);
    assert!(stored.delivered_at.is_some());
    assert_eq!(stored.answered_by.as_deref(), Some("app"));
    assert_eq!(
        f.engine.run(run).await.expect("run").state,
        RunState::Running
    );
    assert!(f.engine.inbox().await.expect("inbox").is_empty());
    let again = f
        .engine
        .answer_question(request.id, pick("Postgres"), AnsweredFrom::Cli)
        .await
        .expect_err("answered already");
    assert_eq!(again.kind(), ErrorKind::RequestClosed);
    assert!(again.to_string().contains("answered already"), "{again}");
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_ask_wait_the_question_is_pending_and_a_cancel_closes_it() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[("ask-wait", "1s")]).await;
    let mut mcp = Client::connect(&f, run).await;
    let pending = mcp.ok("ask_human", db_question()).await;
    assert_eq!(pending["answered"], false, "{pending}");
    assert!(
        pending["note"]
            .as_str()
            .unwrap_or_default()
            .contains("End your turn")
    );
    let id = pending["request"].as_str().expect("request id").to_string();
    // It waits in the inbox, findable by the start of its id; the run waits too.
    let request = f.engine.find_request(&id[..8]).await.expect("by prefix");
    assert_eq!(request.state, RequestState::Pending);
    assert_eq!(
        f.engine.run(run).await.expect("run").state,
        RunState::WaitingInput
    );
    assert_eq!(f.engine.inbox().await.expect("inbox").len(), 1);
    // A second question while one waits is refused.
    let second = mcp.refused("ask_human", db_question()).await;
    assert!(second.contains("still waits"), "{second}");
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
    let closed = f
        .engine
        .answer_question(request.id, pick("SQLite"), AnsweredFrom::Cli)
        .await
        .expect_err("cancelled");
    assert_eq!(closed.kind(), ErrorKind::RequestClosed);
    assert!(closed.to_string().contains("cancelled"), "{closed}");
    assert!(f.engine.inbox().await.expect("inbox").is_empty());
    let missing = f.engine.find_request("ffffffff").await.expect_err("none");
    assert_eq!(missing.kind(), ErrorKind::RequestNotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_questions_at_once_make_one_question_and_the_other_call_is_told_so() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[("ask-wait", "2s")]).await;
    let mut first = Client::connect(&f, run).await;
    let mut second = Client::connect(&f, run).await;
    let (a, b) = tokio::join!(
        first.call("ask_human", db_question()),
        second.call("ask_human", db_question())
    );
    let outcomes = [a, b];
    assert_eq!(
        outcomes.iter().filter(|(failed, _)| *failed).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|(failed, text)| *failed && text.contains("still waits")),
        "{outcomes:?}"
    );
    let questions = f.engine.run_questions(run).await.expect("questions");
    assert_eq!(questions.len(), 1, "{questions:?}");
    assert_eq!(questions[0].state, RequestState::Pending);
    assert_eq!(
        f.engine.run(run).await.expect("run").state,
        RunState::WaitingInput
    );
    f.engine.cancel_run(run).await.expect("cancel");
    wait(&f, run, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_the_call_waits_ends_the_run_and_the_question() {
    let f = Fixture::new().await;
    let (_, run) = live_run(&f, &[]).await;
    let mut mcp = Client::connect(&f, run).await;
    let engine = f.engine.clone();
    let cancelling = tokio::spawn(async move {
        let f = Fixture {
            dir: tempfile::tempdir().expect("dir"),
            engine,
        };
        let request = waiting_question(&f).await;
        f.engine.cancel_run(request.run_id).await.expect("cancel");
        request
    });
    let (failed, text) = mcp.call("ask_human", db_question()).await;
    assert!(failed, "{text}");
    let request = cancelling.await.expect("cancelled");
    let ended = wait(&f, run, Duration::from_secs(30)).await;
    assert_eq!(ended.state, RunState::Cancelled, "not left waiting");
    let stored = f
        .engine
        .find_request(&request.id.to_string())
        .await
        .expect("found");
    assert_eq!(stored.state, RequestState::Cancelled);
    assert!(f.engine.inbox().await.expect("inbox").is_empty());
}
