//! What the gateway costs (issue 15): latency added per model request (p50/p95 against the
//! direct connection), time to the first streamed byte, and memory with 20 runs streaming at
//! once. Everything on loopback: a scripted upstream, the gateway on a loopback port (as the
//! local sandbox reaches it) and behind a link (the relay's multiplexer over an in-memory pipe,
//! as a container reaches it). Prints numbers; asserts nothing about them.
//!
//!   cargo bench -p corral-gateway --bench gateway
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: a failure is the report

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use corral_gateway::{
    AllowList, GatewayConfig, Provider, RunGateway, Secret, SystemResolver, Upstream,
};
use corral_relay::{Mux, Role, Service};
use corral_testkit::percentile_ms;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

const PLACEHOLDER: &str = "corral-placeholder-bench";
const REQUESTS: usize = 1000;
const STREAMS: usize = 20;

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The scripted model: a small JSON answer, or an endless event stream (a request asking to
/// stream), its first event 50 ms after the request.
async fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let streaming = body.windows(13).any(|w| w == b"\"stream\":true");
                    let body: Body = if streaming {
                        let event =
                            Bytes::from(format!("data: {{\"x\":\"{}\"}}\n\n", "y".repeat(1000)));
                        let stream = futures::stream::unfold(event, |event| async move {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Some((Ok::<_, Infallible>(Frame::data(event.clone())), event))
                        });
                        StreamBody::new(stream).boxed_unsync()
                    } else {
                        Full::new(Bytes::from_static(
                            b"{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}",
                        ))
                        .boxed_unsync()
                    };
                    Ok::<_, Infallible>(Response::new(body))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

fn gateway(upstream: SocketAddr) -> RunGateway {
    RunGateway::new(
        GatewayConfig {
            run: "bench".into(),
            placeholder: Secret::new(PLACEHOLDER),
            upstreams: vec![Upstream {
                provider: Provider::Anthropic,
                base_url: Some(format!("http://{upstream}")),
                key: Some(Secret::new("sk-bench")),
            }],
            allow_hosts: AllowList::default(),
            provider_tools: false,
            budget_tokens: None,
            tokens_used_before: 0,
        },
        Arc::new(SystemResolver),
        Arc::new(|_| {}),
    )
    .unwrap()
}

/// The gateway on a loopback port.
async fn on_loopback(gateway: RunGateway) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let gateway = gateway.clone();
            tokio::spawn(async move { gateway.serve(Service::Anthropic, tcp).await });
        }
    });
    addr
}

/// The gateway behind a link: a loopback port (the relay's, inside a container) whose
/// connections cross the multiplexer to the engine's end, which serves them.
async fn behind_link(gateway: RunGateway) -> SocketAddr {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let (ar, aw) = tokio::io::split(a);
    let (br, bw) = tokio::io::split(b);
    let (relay, _) = Mux::start(ar, aw, Role::Relay);
    let (_engine, mut incoming) = Mux::start(br, bw, Role::Engine);
    tokio::spawn(async move {
        let _keep = _engine;
        while let Some((_door, stream)) = incoming.recv().await {
            let gateway = gateway.clone();
            tokio::spawn(async move { gateway.serve(Service::Anthropic, stream).await });
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let mut stream = relay.open(Service::Anthropic.door()).unwrap();
            tokio::spawn(async move {
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut stream).await;
            });
        }
    });
    addr
}

async fn client(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

fn request(stream: bool) -> Request<Full<Bytes>> {
    let body: &'static [u8] = if stream {
        b"{\"model\":\"m\",\"max_tokens\":10,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
    } else {
        b"{\"model\":\"m\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
    };
    Request::post("/v1/messages")
        .header("host", "127.0.0.1")
        .header("x-api-key", PLACEHOLDER)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap()
}

/// Sequential requests on one kept-alive connection; sorted latencies.
async fn latencies(addr: SocketAddr) -> Vec<Duration> {
    let mut sender = client(addr).await;
    let mut times = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS + 50 {
        let started = Instant::now();
        sender.ready().await.unwrap();
        let response = sender.send_request(request(false)).await.unwrap();
        response.into_body().collect().await.unwrap();
        if i >= 50 {
            times.push(started.elapsed()); // the first 50 warm up
        }
    }
    times.sort();
    times
}

/// Time from sending a streaming request to its first body byte; sorted.
async fn first_bytes(addr: SocketAddr) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..50 {
        let mut sender = client(addr).await;
        let started = Instant::now();
        let response = sender.send_request(request(true)).await.unwrap();
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            if frame.unwrap().data_ref().is_some_and(|d| !d.is_empty()) {
                break;
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    times
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn line(name: &str, sorted: &[Duration]) -> (f64, f64) {
    let (p50, p95) = (percentile_ms(sorted, 0.5), percentile_ms(sorted, 0.95));
    println!(
        "  {name:<22} p50 {p50:7.3} ms   p95 {p95:7.3} ms   (n={})",
        sorted.len()
    );
    (p50, p95)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let up = upstream().await;
    let loopback = on_loopback(gateway(up)).await;
    let linked = behind_link(gateway(up)).await;

    println!(
        "gateway: latency per model request ({REQUESTS} sequential, one kept-alive connection)"
    );
    let (d50, d95) = line("direct", &latencies(up).await);
    let (l50, l95) = line("gateway (loopback)", &latencies(loopback).await);
    let (k50, k95) = line("gateway behind a link", &latencies(linked).await);
    println!(
        "  added: loopback p50 {:.3} ms p95 {:.3} ms; behind a link p50 {:.3} ms p95 {:.3} ms (goal p95 <= 5 ms)",
        l50 - d50,
        l95 - d95,
        k50 - d50,
        k95 - d95
    );

    println!("gateway: time to the first streamed byte (50 new connections)");
    line("direct", &first_bytes(up).await);
    line("gateway (loopback)", &first_bytes(loopback).await);
    line("gateway behind a link", &first_bytes(linked).await);

    println!("gateway: memory with {STREAMS} runs streaming at once (a gateway and a link each)");
    let before = rss_kib();
    let mut bodies = Vec::new();
    for _ in 0..STREAMS {
        let addr = behind_link(gateway(up)).await;
        let mut sender = client(addr).await;
        let response = sender.send_request(request(true)).await.unwrap();
        bodies.push((sender, response.into_body()));
    }
    // Read every stream for 3 s (about 60 events of 1 KB each).
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut events = 0usize;
    let readers: Vec<_> = bodies
        .into_iter()
        .map(|(sender, mut body)| {
            tokio::spawn(async move {
                let _keep = sender;
                let mut n = 0usize;
                while Instant::now() < deadline {
                    match tokio::time::timeout_at(deadline.into(), body.frame()).await {
                        Ok(Some(Ok(_))) => n += 1,
                        _ => break,
                    }
                }
                n
            })
        })
        .collect();
    let mut peak = 0;
    while Instant::now() < deadline {
        peak = peak.max(rss_kib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for r in readers {
        events += r.await.unwrap_or(0);
    }
    println!(
        "  resident memory: {:.1} MiB before, {:.1} MiB peak while streaming ({:.1} MiB more; {events} events read)",
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0
    );
}
