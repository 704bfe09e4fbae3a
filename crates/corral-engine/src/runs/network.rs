//! A run's way out with `network=allowlist` in a container: its gateway (corral-gateway), and
//! the link that carries the sandbox's connections to it (the relay started in the container
//! by a `docker exec`). The gateway holds the real key; the sandbox holds a placeholder made
//! for the run. Every request through it is a `network` run event.
//!
//! The link is opened before any step starts (the relay listens by then) and opened again if
//! it breaks (the relay killed, the container restarted, Corral restarted). When the run's
//! steps are over the gateway is revoked: the placeholder is refused, every connection cut.

use std::sync::Arc;
use std::time::Duration;

use corral_core::{FailKind, NetworkPolicy, Project, Run, RunEventBody, RunId};
use corral_gateway::{AllowList, GatewayConfig, Provider, RunGateway, Secret, Upstream};
use corral_relay::Service;
use corral_sandbox::{Link, Sandbox};

use super::follow::StepStop;
use crate::engine::Engine;

/// The project variables that name a provider's upstream. With the gateway they are its
/// upstream, and never reach the sandbox.
pub(crate) const UPSTREAM_VARS: [(&str, Provider); 3] = [
    ("ANTHROPIC_BASE_URL", Provider::Anthropic),
    ("OPENAI_BASE_URL", Provider::OpenAi),
    ("GOOGLE_GEMINI_BASE_URL", Provider::Gemini),
];

/// How long a restarted Corral tries to link again while the old relay lets go of its ports.
const RELINK_FOR: Duration = Duration::from_secs(15);

/// Whether a run of `project` reaches its model API through the gateway (in a container, or
/// from the local sandbox on loopback ports).
pub(crate) fn through_gateway(project: &Project) -> bool {
    project.workflow.network == NetworkPolicy::Allowlist
}

/// The provider an API key is for (its variable's name), when the gateway speaks for it.
pub(crate) fn provider_of_key(name: &str) -> Option<Provider> {
    match name {
        "ANTHROPIC_API_KEY" => Some(Provider::Anthropic),
        "OPENAI_API_KEY" | "CODEX_API_KEY" => Some(Provider::OpenAi),
        "GEMINI_API_KEY" | "GOOGLE_API_KEY" => Some(Provider::Gemini),
        _ => None,
    }
}

/// The variable naming `provider`'s base URL, which is also what the agent reads it from.
pub(crate) fn base_url_var(provider: Provider) -> &'static str {
    UPSTREAM_VARS
        .iter()
        .find(|(_, p)| *p == provider)
        .map_or("", |(var, _)| var)
}

pub(crate) use super::doors::{Doors, loopback_doors, proxy_env};

/// What the gateway of a run needs, worked out with its plan. Holds the real key: `Debug`
/// shows no value.
#[derive(Debug, Clone)]
pub(crate) struct NetworkPlan {
    pub placeholder: Secret,
    pub doors: Doors,
    pub upstreams: Vec<Upstream>,
}

impl NetworkPlan {
    /// The upstream each provider's requests go to: the project's variable naming it, or the
    /// provider itself; the key only for the provider it is for.
    pub fn new(
        project: &Project,
        placeholder: Secret,
        doors: Doors,
        key: Option<(Provider, Secret)>,
    ) -> Self {
        let upstreams = UPSTREAM_VARS
            .iter()
            .map(|(var, provider)| Upstream {
                provider: *provider,
                base_url: project.workflow.env.get(*var).cloned(),
                key: key
                    .as_ref()
                    .filter(|(p, _)| p == provider)
                    .map(|(_, k)| k.clone()),
            })
            .collect();
        NetworkPlan {
            placeholder,
            doors,
            upstreams,
        }
    }
}

/// Whether `run` goes out through the gateway: settled at its first plan, which made its
/// placeholder (a run keeps the network it started with, whatever the project says later).
pub(crate) fn uses_gateway(ctx: &Engine, run: RunId) -> bool {
    ctx.run_dir(run).join(PLACEHOLDER_FILE).is_file()
}

const PLACEHOLDER_FILE: &str = "gateway-placeholder";

/// The placeholder key of a run: made at its first plan and kept in its host-only folder, so
/// a restarted Corral gives the same one the running agent holds.
pub(crate) fn placeholder(ctx: &Engine, run: RunId) -> std::io::Result<Secret> {
    let dir = ctx.run_dir(run);
    let file = dir.join(PLACEHOLDER_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) if !text.trim().is_empty() => return Ok(Secret::new(text.trim())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(&dir)?;
    let made = format!(
        "corral-placeholder-{}{}",
        uuid::Uuid::now_v7().simple(),
        uuid::Uuid::now_v7().simple()
    );
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, &made)?;
    std::fs::rename(&tmp, &file)?;
    Ok(Secret::new(made))
}

/// A run's live gateway and the link serving it. Dropping it revokes the gateway and ends the
/// link (the relay in the container exits).
#[derive(Debug)]
pub(crate) struct RunNetwork {
    gateway: RunGateway,
    serving: tokio::task::JoinHandle<()>,
    /// The way events go to the recorder; taken to close it at the end.
    events: Arc<std::sync::Mutex<Option<EventSender>>>,
    recorder: Option<tokio::task::JoinHandle<()>>,
}

type EventSender = tokio::sync::mpsc::UnboundedSender<corral_core::NetworkRequest>;

impl Drop for RunNetwork {
    fn drop(&mut self) {
        self.gateway.revoke();
        self.serving.abort();
    }
}

impl RunNetwork {
    /// Starts the gateway and links it into the run's container; returns once the relay
    /// there listens.
    pub async fn start<S: Sandbox + Clone + 'static>(
        ctx: &Engine,
        sandbox: &S,
        run: &Run,
        project: &Project,
        plan: &NetworkPlan,
    ) -> Result<RunNetwork, StepStop> {
        let container = run
            .container_id
            .clone()
            .ok_or_else(|| StepStop::fail(FailKind::Internal, "no container"))?;
        let (sender, mut recorded) = tokio::sync::mpsc::unbounded_channel();
        let (engine, run_id) = (ctx.clone(), run.id);
        // Events leave the gateway's hot path at once; they are recorded in order here.
        let recorder = tokio::spawn(async move {
            while let Some(request) = recorded.recv().await {
                let _ = engine
                    .append(run_id, RunEventBody::Network { request })
                    .await;
            }
        });
        let events = Arc::new(std::sync::Mutex::new(Some(sender)));
        let sink = events.clone();
        // A restarted Corral counts what the run used before against its budget.
        let used_before = ctx.run_network(run.id).await.map(|n| n.tokens).unwrap_or(0);
        let workflow = &project.workflow;
        let gateway = RunGateway::new(
            GatewayConfig {
                run: run.id.to_string(),
                placeholder: plan.placeholder.clone(),
                upstreams: plan.upstreams.clone(),
                allow_hosts: AllowList::new(&workflow.allow_hosts),
                provider_tools: workflow.provider_tools,
                budget_tokens: workflow.budget_tokens,
                tokens_used_before: used_before,
            },
            Arc::new(corral_gateway::SystemResolver),
            Arc::new(move |request| {
                let sink = sink.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(sender) = sink.as_ref() {
                    let _ = sender.send(request);
                }
            }),
        )
        .map_err(|e| StepStop::fail(FailKind::Network, e.to_string()))?;
        let doors = Services {
            gateway: gateway.clone(),
            ctx: ctx.clone(),
            scope: crate::mcp::Scope::of(run, ctx.task_record(run.task_id).await?.kind),
            mcp_slots: Arc::new(tokio::sync::Semaphore::new(MCP_CONNECTIONS)),
        };
        let serving = match plan.doors {
            Doors::Relay => {
                let link = open_link(sandbox, &container).await?;
                tokio::spawn(serve(sandbox.clone(), container, doors, link))
            }
            Doors::Loopback { .. } => {
                let listeners = listen_on_loopback(plan.doors).await?;
                tokio::spawn(serve_loopback(doors, listeners))
            }
        };
        Ok(RunNetwork {
            gateway,
            serving,
            events,
            recorder: Some(recorder),
        })
    }

    /// `(budget, used)` once a model call of the run was refused for its token budget.
    pub fn budget_refused(&self) -> Option<(u64, u64)> {
        self.gateway.budget_refused()
    }

    /// Ends the run's network: the placeholder revoked, every connection cut, and every
    /// request seen until then recorded before the run's end is.
    pub async fn finish(mut self) {
        self.gateway.revoke();
        self.serving.abort();
        // Cut connections report as they end: a moment for them, then the door closes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.events.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(recorder) = self.recorder.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), recorder).await;
        }
    }
}

/// MCP connections one run's agent may hold open at once; more are cut at once.
const MCP_CONNECTIONS: usize = 8;

/// What answers behind the doors: the gateway, and the run's MCP server.
#[derive(Clone)]
struct Services {
    gateway: RunGateway,
    ctx: Engine,
    scope: crate::mcp::Scope,
    mcp_slots: Arc<tokio::sync::Semaphore>,
}

impl Services {
    /// Serves one connection the sandbox opened to `service`'s door.
    fn spawn<IO>(&self, service: Service, stream: IO)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        match service {
            Service::Mcp => {
                // Past the limit the stream is dropped, which ends it.
                let Ok(slot) = self.mcp_slots.clone().try_acquire_owned() else {
                    tracing::warn!(run = %self.scope.run, "too many MCP connections; one cut");
                    return;
                };
                let (ctx, scope) = (self.ctx.clone(), self.scope);
                tokio::spawn(async move {
                    crate::mcp::serve(ctx, scope, stream).await;
                    drop(slot);
                });
            }
            _ => {
                let gateway = self.gateway.clone();
                tokio::spawn(async move { gateway.serve(service, stream).await });
            }
        }
    }
}

/// The local run's doors, on the ports its agent was given.
async fn listen_on_loopback(
    doors: Doors,
) -> Result<Vec<(Service, tokio::net::TcpListener)>, StepStop> {
    let Doors::Loopback { mcp, .. } = doors else {
        return Ok(Vec::new());
    };
    let mut ports = vec![
        (Service::Anthropic, doors.port(Provider::Anthropic)),
        (Service::OpenAi, doors.port(Provider::OpenAi)),
        (Service::Gemini, doors.port(Provider::Gemini)),
    ];
    ports.extend(mcp.map(|port| (Service::Mcp, port)));
    let mut listeners = Vec::new();
    for (service, port) in ports {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|e| {
                StepStop::fail(
                    FailKind::Network,
                    format!("the gateway cannot listen on 127.0.0.1:{port}, the port its agent was given: {e}"),
                )
            })?;
        listeners.push((service, listener));
    }
    Ok(listeners)
}

/// Hands each loopback connection to its service, until the run's network is dropped.
async fn serve_loopback(services: Services, listeners: Vec<(Service, tokio::net::TcpListener)>) {
    let mut accepting = tokio::task::JoinSet::new();
    for (service, listener) in listeners {
        let services = services.clone();
        accepting.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((tcp, _)) => services.spawn(service, tcp),
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
    }
    while accepting.join_next().await.is_some() {}
}

/// Opens the link, trying again for a while: after a restart the old relay may still hold
/// the ports until it notices its end of the old link closed.
async fn open_link<S: Sandbox>(sandbox: &S, container: &str) -> Result<Link, StepStop> {
    let deadline = tokio::time::Instant::now() + RELINK_FOR;
    loop {
        match sandbox.open_link(container).await {
            Ok(Some(link)) => return Ok(link),
            Ok(None) => {
                return Err(StepStop::fail(
                    FailKind::Sandbox,
                    "this sandbox has no link for the gateway",
                ));
            }
            Err(e) if tokio::time::Instant::now() >= deadline || e.is_unreachable() => {
                return Err(StepStop::sandbox(&e, FailKind::Sandbox));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Hands each connection the relay carries to its service; opens the link again whenever it
/// ends while the container runs.
async fn serve<S: Sandbox>(sandbox: S, container: String, services: Services, mut link: Link) {
    let gateway = services.gateway.clone();
    loop {
        loop {
            tokio::select! {
                next = link.incoming.recv() => match next {
                    Some((door, stream)) => {
                        // A door no service has: the stream is dropped, which ends it.
                        let Some(service) = Service::from_door(door) else { continue };
                        services.spawn(service, stream);
                    }
                    None => break,
                },
                () = link.mux.closed() => break,
            }
        }
        if gateway.is_revoked() || !sandbox.is_running(&container).await.unwrap_or(false) {
            return;
        }
        tracing::info!(container = %container, "the link to the relay ended; linking again");
        let _ = services
            .ctx
            .note(
                services.scope.run,
                "the relay in the container stopped (its link ended): the agent's model, proxy \
                 and Corral tool connections are cut until Corral links again",
            )
            .await;
        link = loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match sandbox.open_link(&container).await {
                Ok(Some(link)) => {
                    let _ = services
                        .ctx
                        .note(services.scope.run, "linked to the container again")
                        .await;
                    break link;
                }
                Ok(None) => return,
                Err(e) => {
                    if !sandbox.is_running(&container).await.unwrap_or(false) {
                        return;
                    }
                    tracing::warn!(container = %container, error = %e, "linking again failed");
                }
            }
        };
    }
}
