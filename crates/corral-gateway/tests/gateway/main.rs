//! The gateway against a scripted upstream on 127.0.0.1, with raw HTTP from the sandbox's
//! side so malformed requests can be sent too. No connection leaves the machine: names are
//! under `.invalid` and resolved by a test resolver, upstreams are on loopback, and the
//! internal addresses asked for are refused before any connection.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a failure is the report

mod model;
mod proxy;
mod tls;
mod upstream;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_core::NetworkRequest;
use corral_gateway::{AllowList, GatewayConfig, Provider, Resolve, RunGateway, Secret, Upstream};
use corral_relay::Service;
use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const PLACEHOLDER: &str = "corral-placeholder-run-1";
pub const REAL_KEY: &str = "sk-real-key-never-in-the-sandbox";

/// Names under `.invalid` mapped to addresses; anything else does not resolve. Records every
/// lookup, so a test can show a refused host was never even resolved.
#[derive(Debug, Default)]
pub struct TestResolver {
    pub names: HashMap<String, std::net::IpAddr>,
    pub asked: Mutex<Vec<String>>,
}

impl Resolve for TestResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        self.asked.lock().unwrap().push(host.to_string());
        let found = self
            .names
            .get(host)
            .map(|ip| vec![SocketAddr::new(*ip, port)]);
        Box::pin(async move {
            found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such name"))
        })
    }
}

#[derive(Debug)]
pub struct Harness {
    pub gateway: RunGateway,
    pub events: Arc<Mutex<Vec<NetworkRequest>>>,
    pub resolver: Arc<TestResolver>,
    doors: Mutex<HashMap<Service, SocketAddr>>,
}

#[derive(Debug)]
pub struct Options {
    pub upstream: String,
    pub allow: Vec<&'static str>,
    pub names: Vec<(&'static str, &'static str)>,
    pub provider_tools: bool,
    pub budget: Option<u64>,
}

impl Options {
    pub fn new(upstream: &str) -> Options {
        Options {
            upstream: upstream.to_string(),
            allow: Vec::new(),
            names: Vec::new(),
            provider_tools: false,
            budget: None,
        }
    }
}

impl Harness {
    pub fn new(options: Options) -> Harness {
        let upstreams = Provider::ALL
            .iter()
            .map(|p| Upstream {
                provider: *p,
                base_url: Some(match p {
                    // OpenAI base URLs carry their version, as users write them.
                    Provider::OpenAi => format!("{}/v1", options.upstream),
                    _ => options.upstream.clone(),
                }),
                key: Some(Secret::new(REAL_KEY)),
            })
            .collect();
        let resolver = Arc::new(TestResolver {
            names: options
                .names
                .iter()
                .map(|(n, ip)| (n.to_string(), ip.parse().unwrap()))
                .collect(),
            asked: Mutex::new(Vec::new()),
        });
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let gateway = RunGateway::new(
            GatewayConfig {
                run: "run-1".into(),
                placeholder: Secret::new(PLACEHOLDER),
                upstreams,
                allow_hosts: AllowList::new(&options.allow),
                provider_tools: options.provider_tools,
                budget_tokens: options.budget,
                tokens_used_before: 0,
            },
            resolver.clone(),
            Arc::new(move |e| sink.lock().unwrap().push(e)),
        )
        .expect("gateway");
        Harness {
            gateway,
            events,
            resolver,
            doors: Mutex::new(HashMap::new()),
        }
    }

    /// The door's address: a loopback listener serving it, as the local sandbox has.
    pub async fn door(&self, service: Service) -> SocketAddr {
        if let Some(addr) = self.doors.lock().unwrap().get(&service) {
            return *addr;
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let gateway = self.gateway.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let gateway = gateway.clone();
                tokio::spawn(async move { gateway.serve(service, tcp).await });
            }
        });
        self.doors.lock().unwrap().insert(service, addr);
        addr
    }

    /// Sends `request` as it is and returns everything the gateway answered.
    pub async fn raw(&self, service: Service, request: &[u8]) -> String {
        let mut tcp = TcpStream::connect(self.door(service).await)
            .await
            .expect("connect");
        tcp.write_all(request).await.expect("write");
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
            .await
            .expect("the gateway answers")
            .expect("read");
        String::from_utf8_lossy(&answer).to_string()
    }

    /// The events so far, once `n` have arrived (an event comes when a body ends).
    pub async fn events(&self, n: usize) -> Vec<NetworkRequest> {
        for _ in 0..200 {
            if self.events.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.events.lock().unwrap().clone()
    }
}

/// A POST with a JSON body and the headers given (`Connection: close`).
pub fn post(path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    request.into_bytes()
}

pub fn status_of(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
