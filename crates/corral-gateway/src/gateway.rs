//! One gateway per run: its config (placeholder, upstreams and keys, allowlist, budget), the
//! connections it serves (each a stream from the run's link, or a loopback connection for the
//! local sandbox), and its end (the placeholder revoked, every connection cut).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use corral_core::{BlockRule, NetworkDoor, NetworkRequest};
use corral_relay::Service;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::provider::Provider;
use crate::resolve::Resolve;
use crate::rules::AllowList;
use crate::{BoxError, GatewayError, Secret};

pub(crate) type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
pub(crate) type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of request bodies a gateway holds at once (a model request is read whole).
const MAX_BUFFERED: usize = 64 * 1024 * 1024;
/// Name lookups a gateway runs at once (each holds a thread of the blocking pool).
const MAX_LOOKUPS: usize = 8;

/// Where one provider's model requests go, and the key added to them.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub provider: Provider,
    /// `None`: the provider's own API.
    pub base_url: Option<String>,
    pub key: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The run, for logs.
    pub run: String,
    /// The key the sandbox holds instead of the real one.
    pub placeholder: Secret,
    pub upstreams: Vec<Upstream>,
    pub allow_hosts: AllowList,
    /// Whether provider-side tools (web search, web fetch, remote MCP) stay in requests.
    pub provider_tools: bool,
    pub budget_tokens: Option<u64>,
    /// Tokens the run used before this gateway (a restarted Corral makes a new one).
    pub tokens_used_before: u64,
}

/// Called with every request the gateway saw.
pub type EventSink = Arc<dyn Fn(NetworkRequest) + Send + Sync>;

pub(crate) struct ModelUpstream {
    pub scheme: http::uri::Scheme,
    pub authority: http::uri::Authority,
    /// The base URL's path, without a trailing slash.
    pub prefix: String,
    pub key: Option<Secret>,
}

impl ModelUpstream {
    /// Where it is, for messages.
    pub fn display(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

pub(crate) struct Inner {
    pub run: String,
    pub placeholder: Secret,
    pub upstreams: HashMap<Provider, ModelUpstream>,
    pub allow_hosts: AllowList,
    pub provider_tools: bool,
    pub budget: Option<u64>,
    pub used: AtomicU64,
    /// Set once a model call was refused for the budget.
    pub budget_refused: std::sync::atomic::AtomicBool,
    pub resolver: Arc<dyn Resolve>,
    pub events: EventSink,
    pub client: HttpsClient,
    /// Room for request bodies being read (`MAX_BUFFERED` bytes).
    pub buffered: tokio::sync::Semaphore,
    /// Turns for name lookups (`MAX_LOOKUPS`).
    pub lookups: tokio::sync::Semaphore,
    /// True once the run has ended.
    pub ended: watch::Sender<bool>,
}

/// A run's gateway. Cheap to clone; every clone is the same gateway.
#[derive(Clone)]
pub struct RunGateway {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for RunGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunGateway")
            .field("run", &self.inner.run)
            .finish_non_exhaustive()
    }
}

impl RunGateway {
    pub fn new(
        config: GatewayConfig,
        resolver: Arc<dyn Resolve>,
        events: EventSink,
    ) -> Result<RunGateway, GatewayError> {
        let mut upstreams = HashMap::new();
        for provider in Provider::ALL {
            let configured = config.upstreams.iter().find(|u| u.provider == provider);
            let url = configured
                .and_then(|u| u.base_url.clone())
                .unwrap_or_else(|| provider.default_upstream().to_string());
            let bad = |reason: &str| GatewayError::BadUpstream {
                provider: provider.name(),
                url: url.clone(),
                reason: reason.to_string(),
            };
            let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
            let scheme = uri
                .scheme()
                .cloned()
                .ok_or_else(|| bad("no http:// or https://"))?;
            if scheme != http::uri::Scheme::HTTP && scheme != http::uri::Scheme::HTTPS {
                return Err(bad("only http:// and https:// are supported"));
            }
            let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
            if authority.as_str().contains('@') {
                return Err(bad(
                    "a user or password in the URL; the key is set with `corral key set`",
                ));
            }
            upstreams.insert(
                provider,
                ModelUpstream {
                    scheme,
                    authority,
                    prefix: uri.path().trim_end_matches('/').to_string(),
                    key: configured.and_then(|u| u.key.clone()),
                },
            );
        }
        // The system's roots (a company's own CA included), else the bundled Mozilla roots.
        let roots = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(builder) => builder,
            Err(e) => {
                tracing::warn!(error = %e, "no system certificates; using the bundled roots");
                hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots()
            }
        };
        let https = roots.https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(RunGateway {
            inner: Arc::new(Inner {
                run: config.run,
                placeholder: config.placeholder,
                upstreams,
                allow_hosts: config.allow_hosts,
                provider_tools: config.provider_tools,
                budget: config.budget_tokens,
                used: AtomicU64::new(config.tokens_used_before),
                budget_refused: std::sync::atomic::AtomicBool::new(false),
                resolver,
                events,
                client,
                buffered: tokio::sync::Semaphore::new(MAX_BUFFERED),
                lookups: tokio::sync::Semaphore::new(MAX_LOOKUPS),
                ended: watch::Sender::new(false),
            }),
        })
    }

    /// Tokens the providers reported for this run so far.
    pub fn tokens_used(&self) -> u64 {
        self.inner.used.load(Ordering::SeqCst)
    }

    /// `(budget, used)` once a model call was refused for the run's token budget.
    pub fn budget_refused(&self) -> Option<(u64, u64)> {
        let refused = self.inner.budget_refused.load(Ordering::SeqCst);
        let budget = self.inner.budget?;
        refused.then(|| (budget, self.tokens_used()))
    }

    /// The run has ended: its placeholder is refused from now on and every connection is cut.
    pub fn revoke(&self) {
        self.inner.ended.send_replace(true);
    }

    pub fn is_revoked(&self) -> bool {
        *self.inner.ended.borrow()
    }

    /// Serves one connection that came in through `service`'s door, until it closes or the
    /// run ends.
    pub async fn serve<IO>(&self, service: Service, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut ended = self.inner.ended.subscribe();
        // A connection made after the run ended is answered (every request refused, readably);
        // those open when it ends are cut.
        let ended_before = *ended.borrow();
        let gateway = self.clone();
        let handler = hyper::service::service_fn(move |req: Request<Incoming>| {
            let gateway = gateway.clone();
            async move { Ok::<_, Infallible>(gateway.handle(service, req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(io), handler)
            .with_upgrades();
        tokio::select! {
            result = conn => {
                if let Err(e) = result
                    && e.is_parse()
                {
                    self.report(NetworkRequest {
                        door: door_of(service),
                        host: String::new(),
                        method: String::new(),
                        path: String::new(),
                        status: Some(400),
                        bytes_up: 0,
                        bytes_down: 0,
                        duration_ms: 0,
                        blocked: Some(BlockRule::Malformed),
                        tokens: None,
                        stripped_tools: Vec::new(),
                    });
                }
            }
            _ = ended.wait_for(|e| *e), if !ended_before => {}
        }
    }

    async fn handle(&self, service: Service, req: Request<Incoming>) -> Response<Body> {
        if let Some(provider) = Provider::behind(service) {
            return self.model(provider, req).await;
        }
        match service {
            Service::Mcp => text(StatusCode::NOT_FOUND, "Corral's MCP server is not here yet"),
            _ => self.proxy(req).await,
        }
    }

    pub(crate) fn report(&self, request: NetworkRequest) {
        match &request.blocked {
            Some(rule) => tracing::info!(
                run = %self.inner.run, host = %request.host, method = %request.method,
                path = %request.path, rule = %rule.describe(), "gateway: blocked"
            ),
            None => tracing::debug!(
                run = %self.inner.run, host = %request.host, method = %request.method,
                path = %request.path, status = ?request.status, "gateway: request"
            ),
        }
        (self.inner.events)(request);
    }

    /// A request refused before anything left the gateway.
    pub(crate) fn refuse(
        &self,
        door: NetworkDoor,
        asked: (&http::Method, &http::Uri),
        host: &str,
        status: StatusCode,
        rule: BlockRule,
        started: Instant,
    ) {
        self.report(NetworkRequest {
            door,
            host: host.to_string(),
            method: asked.0.to_string(),
            path: path_of(asked.0, asked.1),
            status: Some(status.as_u16()),
            bytes_up: 0,
            bytes_down: 0,
            duration_ms: millis(started),
            blocked: Some(rule),
            tokens: None,
            stripped_tools: Vec::new(),
        });
    }
}

pub(crate) fn door_of(service: Service) -> NetworkDoor {
    Provider::behind(service).map_or(NetworkDoor::Proxy, Provider::door)
}

/// The request's path, never its query (which may hold a key).
pub(crate) fn path_of(method: &http::Method, uri: &http::Uri) -> String {
    if method == http::Method::CONNECT {
        return String::new();
    }
    uri.path().to_string()
}

pub(crate) fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A refusal or failure in plain text. The connection is closed after it: a refused CONNECT
/// leaves nothing else to do on it.
pub(crate) fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = respond(status, "text/plain; charset=utf-8", format!("{message}\n"));
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

pub(crate) fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

/// Headers that belong to one hop, never forwarded.
pub(crate) fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}
