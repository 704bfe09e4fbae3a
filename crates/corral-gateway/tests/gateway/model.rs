//! The model doors.

use std::time::Duration;

use corral_core::BlockRule;
use corral_relay::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Harness, Options, PLACEHOLDER, REAL_KEY, post, status_of, upstream};

#[tokio::test]
async fn the_real_key_replaces_whatever_the_agent_sent_and_provider_headers_pass() {
    let up = upstream::start().await;
    let h = Harness::new(Options::new(&up.url));
    let answer = h
        .raw(
            Service::Anthropic,
            &post(
                "/v1/messages",
                &[
                    ("x-api-key", PLACEHOLDER),
                    ("Authorization", "Bearer sk-the-agents-own"),
                    ("anthropic-version", "2023-06-01"),
                    ("anthropic-beta", "tools-2024"),
                    ("Accept-Encoding", "gzip"),
                ],
                "{\"model\":\"m\",\"stream\":true}",
            ),
        )
        .await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.contains("message_delta"), "streamed back: {answer}");
    let seen = up.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.headers["x-api-key"], REAL_KEY);
    assert!(
        seen.headers.get("authorization").is_none(),
        "the agent's own key is dropped"
    );
    assert_eq!(seen.headers["anthropic-version"], "2023-06-01");
    assert_eq!(seen.headers["anthropic-beta"], "tools-2024");
    assert!(seen.headers.get("accept-encoding").is_none());
    assert_eq!(&seen.body[..], b"{\"model\":\"m\",\"stream\":true}");

    let events = h.events(1).await;
    let e = &events[0];
    assert_eq!(e.blocked, None);
    assert_eq!(e.status, Some(200));
    assert_eq!(e.path, "/v1/messages");
    assert_eq!(e.tokens, Some(150), "input 100 + output 50 from the stream");
    assert!(e.bytes_down > 100 && e.bytes_up > 10, "{e:?}");
    assert_eq!(h.gateway.tokens_used(), 150);
    // The key is nowhere in what the gateway reported.
    assert!(!format!("{events:?}").contains(REAL_KEY));
}

#[tokio::test]
async fn openai_and_gemini_get_their_own_headers_and_no_key_in_the_query() {
    let up = upstream::start().await;
    let h = Harness::new(Options::new(&up.url));
    let bearer = format!("Bearer {PLACEHOLDER}");
    let answer = h
        .raw(
            Service::OpenAi,
            &post("/v1/responses", &[("Authorization", &bearer)], "{}"),
        )
        .await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    let path =
        format!("/v1beta/models/gemini-test:streamGenerateContent?alt=sse&key={PLACEHOLDER}");
    let answer = h.raw(Service::Gemini, &post(&path, &[], "{}")).await;
    assert_eq!(status_of(&answer), 200, "{answer}");

    let seen = up.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].path, "/v1/responses",
        "the /v1 of the base URL is not doubled"
    );
    assert_eq!(
        seen[0].headers["authorization"],
        format!("Bearer {REAL_KEY}")
    );
    assert_eq!(
        seen[1].query.as_deref(),
        Some("alt=sse"),
        "the key= pair is gone"
    );
    assert_eq!(seen[1].headers["x-goog-api-key"], REAL_KEY);
    let events = h.events(2).await;
    assert!(events.iter().all(|e| !e.path.contains("key=")));
    assert_eq!(h.gateway.tokens_used(), 17);
}

#[tokio::test]
async fn without_the_placeholder_off_the_model_endpoints_or_after_the_run_nothing_is_forwarded() {
    let up = upstream::start().await;
    let h = Harness::new(Options::new(&up.url));
    let answer = h
        .raw(
            Service::Anthropic,
            &post("/v1/messages", &[("x-api-key", "sk-stolen")], "{}"),
        )
        .await;
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert!(answer.contains("placeholder"), "{answer}");
    let answer = h
        .raw(
            Service::Anthropic,
            &post("/v1/files", &[("x-api-key", PLACEHOLDER)], "{}"),
        )
        .await;
    assert_eq!(status_of(&answer), 404, "{answer}");

    h.gateway.revoke();
    let answer = h
        .raw(
            Service::Anthropic,
            &post("/v1/messages", &[("x-api-key", PLACEHOLDER)], "{}"),
        )
        .await;
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert!(answer.contains("revoked"), "{answer}");

    assert!(
        up.seen.lock().unwrap().is_empty(),
        "nothing reached the upstream"
    );
    let rules: Vec<_> = h.events(3).await.into_iter().map(|e| e.blocked).collect();
    assert_eq!(
        rules,
        [
            Some(BlockRule::BadPlaceholder),
            Some(BlockRule::NotModelEndpoint),
            Some(BlockRule::RunEnded)
        ]
    );
}

#[tokio::test]
async fn provider_side_tools_are_stripped_unless_allowed() {
    let body = "{\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"},{\"name\":\"Bash\"}]}";
    let up = upstream::start().await;
    let h = Harness::new(Options::new(&up.url));
    h.raw(
        Service::Anthropic,
        &post("/v1/messages", &[("x-api-key", PLACEHOLDER)], body),
    )
    .await;
    let sent: serde_json::Value = serde_json::from_slice(&up.seen.lock().unwrap()[0].body).unwrap();
    assert_eq!(sent["tools"], serde_json::json!([{"name": "Bash"}]));
    assert_eq!(h.events(1).await[0].stripped_tools, ["web_search_20250305"]);

    let up = upstream::start().await;
    let mut options = Options::new(&up.url);
    options.provider_tools = true;
    let h = Harness::new(options);
    h.raw(
        Service::Anthropic,
        &post("/v1/messages", &[("x-api-key", PLACEHOLDER)], body),
    )
    .await;
    assert_eq!(&up.seen.lock().unwrap()[0].body[..], body.as_bytes());
}

#[tokio::test]
async fn past_its_budget_a_run_gets_no_more_model_calls() {
    let up = upstream::start().await;
    let mut options = Options::new(&up.url);
    options.budget = Some(100);
    let h = Harness::new(options);
    let request = post("/v1/messages", &[("x-api-key", PLACEHOLDER)], "{}");
    assert_eq!(status_of(&h.raw(Service::Anthropic, &request).await), 200);
    h.events(1).await;
    let answer = h.raw(Service::Anthropic, &request).await;
    assert_eq!(
        status_of(&answer),
        402,
        "not 429, which clients retry: {answer}"
    );
    assert!(answer.contains("budget"), "{answer}");
    assert_eq!(
        h.events(2).await[1].blocked,
        Some(BlockRule::BudgetSpent {
            budget: 100,
            used: 150
        })
    );
    assert_eq!(up.seen.lock().unwrap().len(), 1);
    assert_eq!(h.gateway.budget_refused(), Some((100, 150)));
}

#[tokio::test]
async fn a_huge_upload_is_refused_and_the_gateway_stays_responsive() {
    let up = upstream::start().await;
    let h = Harness::new(Options::new(&up.url));
    let door = h.door(Service::Anthropic).await;
    let mut tcp = tokio::net::TcpStream::connect(door).await.unwrap();
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: {PLACEHOLDER}\r\nContent-Length: 2147483648\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 1024 * 1024];
    let mut answer = Vec::new();
    // Sends until the gateway gives up on the body (at 32 MiB), far short of 2 GB.
    let mut sent = 0usize;
    while sent < 64 * 1024 * 1024 {
        if tcp.write_all(&chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status_of(&answer), 413, "{answer}");
    assert!(up.seen.lock().unwrap().is_empty());
    let request = post("/v1/messages", &[("x-api-key", PLACEHOLDER)], "{}");
    assert_eq!(status_of(&h.raw(Service::Anthropic, &request).await), 200);
}

#[tokio::test]
async fn streams_pass_unbuffered_and_a_never_ending_one_is_cut_when_the_run_ends() {
    let up = upstream::start().await;
    let h = Harness::new(Options::new(&up.url));
    let door = h.door(Service::Anthropic).await;
    let mut tcp = tokio::net::TcpStream::connect(door).await.unwrap();
    let request =
        format!("GET /v1/models/forever HTTP/1.1\r\nHost: x\r\nx-api-key: {PLACEHOLDER}\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    // The first events arrive while the upstream is still writing: nothing waits for the end.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.windows(8).filter(|w| w == b"data: {}").count() < 3 {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .expect("streamed")
            .unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(up.streaming.load(std::sync::atomic::Ordering::SeqCst), 1);

    h.gateway.revoke();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if tcp.read(&mut buf).await.map_or(true, |n| n == 0) {
                break;
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the agent's connection is cut when the run ends"
    );
    for _ in 0..100 {
        if up.streaming.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        up.streaming.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "and the upstream's"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_readable_502_naming_it() {
    // Port 9 on loopback (discard): nothing listens there on a test machine.
    let h = Harness::new(Options::new("http://127.0.0.1:9"));
    let answer = h
        .raw(
            Service::Anthropic,
            &post("/v1/messages", &[("x-api-key", PLACEHOLDER)], "{}"),
        )
        .await;
    assert_eq!(status_of(&answer), 502, "{answer}");
    assert!(
        answer.contains("could not reach Anthropic at http://127.0.0.1:9"),
        "{answer}"
    );
    assert_eq!(h.events(1).await[0].status, Some(502));
}

#[tokio::test]
async fn malformed_http_is_answered_and_reported() {
    let h = Harness::new(Options::new("http://127.0.0.1:9"));
    let answer = h.raw(Service::Anthropic, b"THIS IS NOT HTTP\r\n\r\n").await;
    assert!(answer.is_empty() || status_of(&answer) == 400, "{answer}");
    assert_eq!(h.events(1).await[0].blocked, Some(BlockRule::Malformed));
}

#[tokio::test]
async fn bodies_that_cannot_be_checked_and_other_methods_are_refused() {
    let up = upstream::start().await;
    let h = Harness::new(Options::new(&up.url));
    let key = [("x-api-key", PLACEHOLDER)];
    // Not JSON, or compressed: the provider-side tools in it could not be removed.
    let answer = h
        .raw(Service::Anthropic, &post("/v1/messages", &key, "[1,2]"))
        .await;
    assert_eq!(status_of(&answer), 400, "{answer}");
    let gz = [("x-api-key", PLACEHOLDER), ("Content-Encoding", "gzip")];
    let answer = h
        .raw(Service::Anthropic, &post("/v1/messages", &gz, "{}"))
        .await;
    assert_eq!(status_of(&answer), 415, "{answer}");
    // A model path with another method (OpenAI's GET lists stored completions).
    let bearer = format!("Bearer {PLACEHOLDER}");
    let get = format!(
        "GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer}\r\nConnection: close\r\n\r\n"
    );
    let answer = h.raw(Service::OpenAi, get.as_bytes()).await;
    assert_eq!(status_of(&answer), 404, "{answer}");
    // A declared length over the limit is refused before a byte of it is read.
    let huge = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: {PLACEHOLDER}\r\nContent-Length: 999999999999\r\nConnection: close\r\n\r\n"
    );
    let answer = h.raw(Service::Anthropic, huge.as_bytes()).await;
    assert_eq!(status_of(&answer), 413, "{answer}");
    assert!(up.seen.lock().unwrap().is_empty(), "nothing was forwarded");
}
