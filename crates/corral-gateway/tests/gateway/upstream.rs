//! A scripted model server on 127.0.0.1: records what it received and answers by path.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

pub struct Upstream {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// How many `/forever` streams are still being written.
    pub streaming: Arc<std::sync::atomic::AtomicUsize>,
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

fn full(text: &str) -> Body {
    http_body_util::Full::new(Bytes::from(text.to_string())).boxed_unsync()
}

pub async fn start() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let streaming = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (record, live) = (seen.clone(), streaming.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (record, live) = (record.clone(), live.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (record, live) = (record.clone(), live.clone());
                    async move { Ok::<_, Infallible>(answer(req, record, live).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    Upstream {
        url: format!("http://{addr}"),
        seen,
        streaming,
    }
}

async fn answer(
    req: Request<Incoming>,
    record: Arc<Mutex<Vec<Seen>>>,
    live: Arc<std::sync::atomic::AtomicUsize>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    record.lock().unwrap().push(Seen {
        path: path.clone(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers.clone(),
        body,
    });
    let sse = |events: &str| {
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(full(events))
            .unwrap()
    };
    match path.as_str() {
        "/v1/messages" => sse(concat!(
            "event: message_start\n",
            "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":100,\"output_tokens\":1}}}\n\n",
            "event: message_delta\n",
            "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":50}}\n\n",
        )),
        "/v1/responses" => Response::new(full("{\"usage\":{\"total_tokens\":10}}")),
        "/v1beta/models/gemini-test:streamGenerateContent" => {
            sse("data: {\"usageMetadata\":{\"totalTokenCount\":7}}\r\n\r\n")
        }
        "/v1/models/forever" | "/forever" => {
            live.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let guard = Live(live);
            let stream = futures::stream::unfold(guard, |guard| async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((
                    Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"data: {}\n\n"))),
                    guard,
                ))
            });
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(StreamBody::new(stream).boxed_unsync())
                .unwrap()
        }
        _ => Response::new(full("hello from the upstream")),
    }
}

/// Counts a stream as live until its body is dropped (the client went away).
struct Live(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
