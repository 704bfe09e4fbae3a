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

/// Whether a run of `project` in this sandbox goes out through the gateway.
pub(crate) fn through_gateway(project: &Project, isolated: bool) -> bool {
    isolated && project.workflow.network == NetworkPolicy::Allowlist
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

/// The base URL an agent is given for `provider`: the relay's door inside the container
/// (OpenAI's written with its version, as OpenAI clients expect).
pub(crate) fn door_url(provider: Provider) -> String {
    match provider {
        Provider::Anthropic => format!("http://127.0.0.1:{}", Service::Anthropic.port()),
        Provider::OpenAi => format!("http://127.0.0.1:{}/v1", Service::OpenAi.port()),
        Provider::Gemini => format!("http://127.0.0.1:{}", Service::Gemini.port()),
    }
}

/// The environment every step gets: its HTTP traffic goes to the gateway's proxy door (both
/// spellings: curl and busybox read only the lower-case ones), loopback stays direct, and
/// Node's own fetch is told to follow the variables.
pub(crate) fn proxy_env() -> Vec<(String, String)> {
    let proxy = format!("http://127.0.0.1:{}", Service::Proxy.port());
    let no_proxy = "127.0.0.1,localhost,::1".to_string();
    vec![
        ("HTTP_PROXY".into(), proxy.clone()),
        ("HTTPS_PROXY".into(), proxy.clone()),
        ("http_proxy".into(), proxy.clone()),
        ("https_proxy".into(), proxy),
        ("NO_PROXY".into(), no_proxy.clone()),
        ("no_proxy".into(), no_proxy),
        ("NODE_USE_ENV_PROXY".into(), "1".into()),
    ]
}

/// What the gateway of a run needs, worked out with its plan. Holds the real key: `Debug`
/// shows no value.
#[derive(Debug, Clone)]
pub(crate) struct NetworkPlan {
    pub placeholder: Secret,
    pub upstreams: Vec<Upstream>,
}

impl NetworkPlan {
    /// The upstream each provider's requests go to: the project's variable naming it, or the
    /// provider itself; the key only for the provider it is for.
    pub fn new(project: &Project, placeholder: Secret, key: Option<(Provider, Secret)>) -> Self {
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
            upstreams,
        }
    }
}

/// The placeholder key of a run: made at its first plan and kept in its host-only folder, so
/// a restarted Corral gives the same one the running agent holds.
pub(crate) fn placeholder(ctx: &Engine, run: RunId) -> std::io::Result<Secret> {
    let dir = ctx.run_dir(run);
    let file = dir.join("gateway-placeholder");
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
}

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
        let (events, mut recorded) = tokio::sync::mpsc::unbounded_channel();
        let (recorder, run_id) = (ctx.clone(), run.id);
        // Events leave the gateway's hot path at once; they are recorded in order here.
        tokio::spawn(async move {
            while let Some(request) = recorded.recv().await {
                let _ = recorder
                    .append(run_id, RunEventBody::Network { request })
                    .await;
            }
        });
        let workflow = &project.workflow;
        let gateway = RunGateway::new(
            GatewayConfig {
                run: run.id.to_string(),
                placeholder: plan.placeholder.clone(),
                upstreams: plan.upstreams.clone(),
                allow_hosts: AllowList::new(&workflow.allow_hosts),
                provider_tools: workflow.provider_tools,
                budget_tokens: workflow.budget_tokens,
            },
            Arc::new(corral_gateway::SystemResolver),
            Arc::new(move |request| {
                let _ = events.send(request);
            }),
        )
        .map_err(|e| StepStop::fail(FailKind::Network, e.to_string()))?;
        let link = open_link(sandbox, &container).await?;
        let serving = tokio::spawn(serve(sandbox.clone(), container, gateway.clone(), link));
        Ok(RunNetwork { gateway, serving })
    }

    /// `(budget, used)` once the run's token budget is spent.
    pub fn budget_spent(&self, project: &Project) -> Option<(u64, u64)> {
        let budget = project.workflow.budget_tokens?;
        let used = self.gateway.tokens_used();
        (used >= budget).then_some((budget, used))
    }
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

/// Hands each connection the relay carries to the gateway; opens the link again whenever it
/// ends while the container runs.
async fn serve<S: Sandbox>(sandbox: S, container: String, gateway: RunGateway, mut link: Link) {
    loop {
        loop {
            tokio::select! {
                next = link.incoming.recv() => match next {
                    Some((door, stream)) => {
                        // A door no service has: the stream is dropped, which ends it.
                        let Some(service) = Service::from_door(door) else { continue };
                        let gateway = gateway.clone();
                        tokio::spawn(async move { gateway.serve(service, stream).await });
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
        link = loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match sandbox.open_link(&container).await {
                Ok(Some(link)) => break link,
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
