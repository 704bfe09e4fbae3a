//! The proxy door: `CONNECT host:port` tunnels and plain `http://` requests, only to hosts in
//! the project's allowlist, resolved here and never to an internal address unless the
//! allowlist names that address. No TLS interception: a tunnel carries the client's own TLS.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use corral_core::{BlockRule, NetworkDoor, NetworkRequest};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::RunGateway;
use crate::gateway::{Body, millis, path_of, strip_hop_by_hop, text};
use crate::metered::Metered;
use crate::rules::is_internal;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

impl RunGateway {
    pub(crate) async fn proxy(&self, req: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let Some((host, port)) = target_of(&req) else {
            self.refuse(
                NetworkDoor::Proxy,
                (req.method(), req.uri()),
                "",
                StatusCode::BAD_REQUEST,
                BlockRule::Malformed,
                started,
            );
            return text(
                StatusCode::BAD_REQUEST,
                "This is Corral's proxy: ask it for http://host/path, or CONNECT host:port for HTTPS.",
            );
        };
        let addrs = match self.check(&req, &host, port, started).await {
            Ok(addrs) => addrs,
            Err(response) => return response,
        };
        let tcp = match connect(&addrs).await {
            Ok(tcp) => tcp,
            Err(e) => {
                self.report(self.record_parts(req.method(), req.uri(), &host, 502, started));
                let message = format!("Corral's proxy could not connect to {host}:{port}: {e}");
                return text(StatusCode::BAD_GATEWAY, &message);
            }
        };
        if req.method() == Method::CONNECT {
            self.tunnel(req, host, tcp, started)
        } else {
            self.forward(req, host, tcp, started).await
        }
    }

    /// Allowed, resolved, and not internal: the addresses to connect to.
    async fn check(
        &self,
        req: &Request<Incoming>,
        host: &str,
        port: u16,
        started: Instant,
    ) -> Result<Vec<SocketAddr>, Response<Body>> {
        let asked = (req.method(), req.uri());
        let refuse = |status: StatusCode, rule: BlockRule| {
            let message = format!("Corral's proxy refused {host}: {}", rule.describe());
            self.refuse(NetworkDoor::Proxy, asked, host, status, rule, started);
            text(status, &message)
        };
        if self.is_revoked() {
            return Err(refuse(StatusCode::FORBIDDEN, BlockRule::RunEnded));
        }
        let allow = &self.inner.allow_hosts;
        if !allow.allows(host) {
            return Err(refuse(StatusCode::FORBIDDEN, BlockRule::NotAllowed));
        }
        let addrs = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                let Ok(_turn) = self.inner.lookups.acquire().await else {
                    return Err(text(StatusCode::SERVICE_UNAVAILABLE, "closing"));
                };
                let lookup = self.inner.resolver.resolve(host, port);
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
                    Ok(Err(_)) | Ok(Ok(_)) | Err(_) => {
                        self.report(self.record_parts(req.method(), req.uri(), host, 502, started));
                        return Err(text(
                            StatusCode::BAD_GATEWAY,
                            &format!("Corral's proxy could not resolve {host}"),
                        ));
                    }
                }
            }
        };
        let (internal, outside): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs
            .into_iter()
            .partition(|a| is_internal(a.ip()) && !allow.names_address(a.ip()));
        match (outside.is_empty(), internal.first()) {
            (true, Some(first)) => Err(refuse(
                StatusCode::FORBIDDEN,
                BlockRule::PrivateAddress {
                    address: first.ip().to_string(),
                },
            )),
            _ => Ok(outside),
        }
    }

    fn tunnel(
        &self,
        req: Request<Incoming>,
        host: String,
        mut tcp: TcpStream,
        started: Instant,
    ) -> Response<Body> {
        let gateway = self.clone();
        let mut ended = self.inner.ended.subscribe();
        let method = req.method().clone();
        let upgrade = hyper::upgrade::on(req);
        tokio::spawn(async move {
            let (mut up, mut down) = (0, 0);
            if let Ok(upgraded) = upgrade.await {
                let mut client = TokioIo::new(upgraded);
                tokio::select! {
                    copied = tokio::io::copy_bidirectional(&mut client, &mut tcp) => {
                        if let Ok((u, d)) = copied {
                            (up, down) = (u, d);
                        }
                    }
                    _ = ended.wait_for(|e| *e) => {}
                }
            }
            gateway.report(NetworkRequest {
                door: NetworkDoor::Proxy,
                host,
                method: method.to_string(),
                path: String::new(),
                status: Some(200),
                bytes_up: up,
                bytes_down: down,
                duration_ms: millis(started),
                blocked: None,
                tokens: None,
                stripped_tools: Vec::new(),
            });
        });
        Response::new(Empty::new().map_err(|never| match never {}).boxed_unsync())
    }

    async fn forward(
        &self,
        req: Request<Incoming>,
        host: String,
        tcp: TcpStream,
        started: Instant,
    ) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let record = self.record_parts(&parts.method, &parts.uri, &host, 502, started);
        let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await
        else {
            self.report(record);
            return text(
                StatusCode::BAD_GATEWAY,
                "Corral's proxy: the connection failed",
            );
        };
        tokio::spawn(conn);
        let up = Arc::new(AtomicU64::new(0));
        let counted = up.clone();
        let body = Metered::new(body, false, move |bytes, _| {
            counted.store(bytes, Ordering::SeqCst);
        });
        strip_hop_by_hop(&mut parts.headers);
        let origin_form = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        // The host asked for is the one checked: the sandbox's own Host header is replaced,
        // so it cannot name another site behind the same address (RFC 9112, 3.2.2).
        let host_header = match parts.uri.port_u16() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        parts.uri = origin_form
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        parts.headers.remove(http::header::HOST);
        if let Ok(value) = http::HeaderValue::from_str(&host_header) {
            parts.headers.insert(http::header::HOST, value);
        }
        let response = match sender.send_request(Request::from_parts(parts, body)).await {
            Ok(response) => response,
            Err(e) => {
                self.report(record);
                return text(
                    StatusCode::BAD_GATEWAY,
                    &format!("Corral's proxy: {host} did not answer: {e}"),
                );
            }
        };
        let (mut head, body) = response.into_parts();
        strip_hop_by_hop(&mut head.headers);
        let gateway = self.clone();
        let status = head.status.as_u16();
        let metered = Metered::new(body, false, move |bytes_down, _| {
            gateway.report(NetworkRequest {
                status: Some(status),
                bytes_up: up.load(Ordering::SeqCst),
                bytes_down,
                duration_ms: millis(started),
                ..record
            });
        });
        Response::from_parts(head, metered.boxed_unsync())
    }

    fn record_parts(
        &self,
        method: &Method,
        uri: &Uri,
        host: &str,
        status: u16,
        started: Instant,
    ) -> NetworkRequest {
        NetworkRequest {
            door: NetworkDoor::Proxy,
            host: host.to_string(),
            method: method.to_string(),
            path: path_of(method, uri),
            status: Some(status),
            bytes_up: 0,
            bytes_down: 0,
            duration_ms: millis(started),
            blocked: None,
            tokens: None,
            stripped_tools: Vec::new(),
        }
    }
}

/// The host and port a proxy request is for: `CONNECT host:port`, or an absolute
/// `http://host[:port]/...` request.
fn target_of(req: &Request<Incoming>) -> Option<(String, u16)> {
    let uri = req.uri();
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None; // a user or password in the address: not a proxy request we take
    }
    if req.method() == Method::CONNECT {
        return Some((authority.host().to_string(), authority.port_u16()?));
    }
    if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
        return None;
    }
    Some((
        authority.host().to_string(),
        authority.port_u16().unwrap_or(80),
    ))
}

async fn connect(addrs: &[SocketAddr]) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::other("no address");
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => {
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Ok(Err(e)) => last = e,
            Err(_) => last = std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"),
        }
    }
    Err(last)
}
