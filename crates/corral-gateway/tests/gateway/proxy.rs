//! The proxy door: only allowed hosts, never an internal address unless named, no leaks.

use corral_core::BlockRule;
use corral_relay::Service;

use super::{Harness, Options, status_of, upstream};

fn connect(target: &str) -> Vec<u8> {
    format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn hosts_not_allowed_and_internal_addresses_are_refused_before_any_connection() {
    let mut options = Options::new("http://127.0.0.1:9");
    options.allow = vec![
        "registry.npmjs.invalid",
        "*.corp.invalid",
        "metadata.invalid",
    ];
    options.names = vec![
        ("build.corp.invalid", "10.0.0.7"),
        ("metadata.invalid", "169.254.169.254"),
    ];
    let h = Harness::new(options);
    let cases = [
        ("evil.invalid:443", BlockRule::NotAllowed),
        ("169.254.169.254:80", BlockRule::NotAllowed),
        ("127.0.0.1:22", BlockRule::NotAllowed),
        (
            "build.corp.invalid:443",
            BlockRule::PrivateAddress {
                address: "10.0.0.7".into(),
            },
        ),
        (
            "metadata.invalid:80",
            BlockRule::PrivateAddress {
                address: "169.254.169.254".into(),
            },
        ),
    ];
    for (target, _) in &cases {
        let answer = h.raw(Service::Proxy, &connect(target)).await;
        assert_eq!(status_of(&answer), 403, "{target}: {answer}");
        assert!(answer.contains("refused"), "{answer}");
    }
    // A plain http:// request through the proxy is held to the same rules.
    let answer = h
        .raw(
            Service::Proxy,
            b"GET http://evil.invalid/upload HTTP/1.1\r\nHost: evil.invalid\r\nConnection: close\r\n\r\n",
        )
        .await;
    assert_eq!(status_of(&answer), 403, "{answer}");

    let events = h.events(cases.len() + 1).await;
    for ((target, rule), event) in cases.iter().zip(&events) {
        assert_eq!(event.blocked.as_ref(), Some(rule), "{target}");
        assert_eq!(event.method, "CONNECT");
    }
    assert_eq!(events[cases.len()].path, "/upload");
    // Hosts not allowed were never even looked up.
    let asked = h.resolver.asked.lock().unwrap().clone();
    assert_eq!(asked, ["build.corp.invalid", "metadata.invalid"]);
}

#[tokio::test]
async fn an_allowed_host_is_reached_through_a_tunnel_or_a_plain_request() {
    let up = upstream::start().await;
    let port = up.url.rsplit(':').next().unwrap().to_string();
    let mut options = Options::new(&up.url);
    // The allowlist names the loopback address itself, the one way an internal address is
    // reached; a name resolving to it is allowed only through that.
    options.allow = vec!["127.0.0.1", "local.invalid"];
    options.names = vec![("local.invalid", "127.0.0.1")];
    let h = Harness::new(options);

    let tunnel = format!(
        "CONNECT local.invalid:{port} HTTP/1.1\r\nHost: local.invalid\r\n\r\nGET /through HTTP/1.1\r\nHost: local.invalid\r\nConnection: close\r\n\r\n"
    );
    let answer = h.raw(Service::Proxy, tunnel.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("hello from the upstream"), "{answer}");

    // Its own Host header names another site: the one checked is the one asked for.
    let plain = format!(
        "GET http://127.0.0.1:{port}/plain?q=secret HTTP/1.1\r\nHost: not-allowed.invalid\r\nConnection: close\r\n\r\n"
    );
    let answer = h.raw(Service::Proxy, plain.as_bytes()).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.contains("hello from the upstream"));

    let seen = up.seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, "/through");
    assert_eq!(seen[1].path, "/plain");
    assert_eq!(seen[1].headers["host"], format!("127.0.0.1:{port}"));
    let events = h.events(2).await;
    let tunnel = events.iter().find(|e| e.method == "CONNECT").unwrap();
    assert_eq!(tunnel.host, "local.invalid");
    assert_eq!(tunnel.blocked, None);
    assert!(tunnel.bytes_up > 20 && tunnel.bytes_down > 20, "{tunnel:?}");
    let plain = events.iter().find(|e| e.method == "GET").unwrap();
    assert_eq!(plain.path, "/plain", "the query is never recorded");
    assert_eq!(plain.status, Some(200));
}

#[tokio::test]
async fn a_request_that_is_not_a_proxy_request_is_told_so() {
    let h = Harness::new(Options::new("http://127.0.0.1:9"));
    let answer = h
        .raw(
            Service::Proxy,
            b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        )
        .await;
    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(answer.contains("Corral's proxy"), "{answer}");
}
