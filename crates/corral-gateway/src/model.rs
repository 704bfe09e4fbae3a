//! The model doors: a request from the agent, checked (this run's placeholder, a model
//! endpoint, the budget, the size), its credentials replaced by the real key, provider-side
//! tools removed unless allowed, forwarded to the provider (or the project's upstream), and
//! its response streamed back unbuffered while its bytes and tokens are counted.

use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use corral_core::{BlockRule, NetworkRequest};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use crate::RunGateway;
use crate::gateway::{Body, millis, respond, strip_hop_by_hop};
use crate::metered::Metered;
use crate::provider::{Provider, strip_credentials, strip_key_param};
use crate::tools::{NotJson, strip_provider_tools};

/// The largest request body forwarded (the providers' own limit is about this).
pub const MAX_MODEL_REQUEST: usize = 32 * 1024 * 1024;

impl RunGateway {
    pub(crate) async fn model(&self, provider: Provider, req: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let inner = &self.inner;
        let Some(upstream) = inner.upstreams.get(&provider) else {
            return self.model_error(provider, StatusCode::BAD_GATEWAY, "no upstream");
        };
        let host = upstream.authority.host().to_string();
        let door = provider.door();
        let refuse = |status: StatusCode, rule: BlockRule, asked: (&http::Method, &http::Uri)| {
            let message = format!("Corral's gateway refused this request: {}", rule.describe());
            self.refuse(door, asked, &host, status, rule, started);
            self.model_error(provider, status, &message)
        };
        if self.is_revoked() {
            return refuse(
                StatusCode::UNAUTHORIZED,
                BlockRule::RunEnded,
                (req.method(), req.uri()),
            );
        }
        if !provider.carries(req.headers(), req.uri().query(), inner.placeholder.expose()) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                BlockRule::BadPlaceholder,
                (req.method(), req.uri()),
            );
        }
        if !provider.is_model_path(req.method(), req.uri().path()) {
            return refuse(
                StatusCode::NOT_FOUND,
                BlockRule::NotModelEndpoint,
                (req.method(), req.uri()),
            );
        }
        if let Some(budget) = inner.budget {
            let used = inner.used.load(Ordering::SeqCst);
            if used >= budget {
                inner.budget_refused.store(true, Ordering::SeqCst);
                // Not 429: clients retry that; a budget does not come back by waiting.
                return refuse(
                    StatusCode::PAYMENT_REQUIRED,
                    BlockRule::BudgetSpent { budget, used },
                    (req.method(), req.uri()),
                );
            }
        }

        let too_large = BlockRule::TooLarge {
            limit: MAX_MODEL_REQUEST as u64,
        };
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_MODEL_REQUEST as u64) {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                too_large,
                (req.method(), req.uri()),
            );
        }
        let encoded = req
            .headers()
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes() != b"identity");
        if encoded && !inner.provider_tools {
            // Compressed, it could not be checked for provider-side tools.
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                BlockRule::Malformed,
                (req.method(), req.uri()),
            );
        }
        // Room in the gateway's memory for the body, which is read whole (the declared
        // length, or the most a body may be): many big uploads at once wait their turn.
        let room = declared.unwrap_or(MAX_MODEL_REQUEST as u64).max(1);
        let Ok(_room) = inner
            .buffered
            .acquire_many(u32::try_from(room).unwrap_or(u32::MAX))
            .await
        else {
            return self.model_error(provider, StatusCode::SERVICE_UNAVAILABLE, "closing");
        };
        let (mut parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_MODEL_REQUEST).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                let asked = (&parts.method, &parts.uri);
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large, asked);
                }
                return refuse(StatusCode::BAD_REQUEST, BlockRule::Malformed, asked);
            }
        };
        let (body, stripped_tools) = match self.without_provider_tools(provider, body) {
            Ok(rewritten) => rewritten,
            Err(NotJson) => {
                // Unread, it could not be checked for provider-side tools.
                return refuse(
                    StatusCode::BAD_REQUEST,
                    BlockRule::Malformed,
                    (&parts.method, &parts.uri),
                );
            }
        };
        let bytes_up = body.len() as u64;

        let path = parts.uri.path().to_string();
        let query = parts
            .uri
            .query()
            .map(strip_key_param)
            .filter(|q| !q.is_empty());
        let joined = join_path(&upstream.prefix, &path);
        let target = match query {
            Some(q) => format!("{joined}?{q}"),
            None => joined,
        };
        let uri = http::Uri::builder()
            .scheme(upstream.scheme.clone())
            .authority(upstream.authority.clone())
            .path_and_query(target)
            .build();
        let Ok(uri) = uri else {
            return refuse(
                StatusCode::BAD_REQUEST,
                BlockRule::Malformed,
                (&parts.method, &parts.uri),
            );
        };
        strip_hop_by_hop(&mut parts.headers);
        strip_credentials(&mut parts.headers);
        parts.headers.remove(http::header::HOST);
        parts.headers.remove(http::header::CONTENT_LENGTH);
        // Uncompressed, so the usage in the response can be read as it passes.
        parts.headers.remove(http::header::ACCEPT_ENCODING);
        if let Some((name, value)) = upstream
            .key
            .as_ref()
            .and_then(|k| provider.key_header(k.expose()))
        {
            parts.headers.insert(name, value);
        }
        let method = parts.method.to_string();
        let mut forwarded = Request::from_parts(parts, Full::new(body));
        *forwarded.uri_mut() = uri;

        let response = match inner.client.request(forwarded).await {
            Ok(response) => response,
            Err(e) => {
                let upstream_url = upstream.display();
                tracing::warn!(run = %inner.run, upstream = %upstream_url, error = %e, "gateway: the upstream is unreachable");
                self.report(NetworkRequest {
                    door,
                    host: host.clone(),
                    method,
                    path,
                    status: Some(502),
                    bytes_up,
                    bytes_down: 0,
                    duration_ms: millis(started),
                    blocked: None,
                    tokens: None,
                    stripped_tools,
                });
                let message = format!(
                    "Corral's gateway could not reach {} at {upstream_url}: {}",
                    provider.name(),
                    error_chain(&e)
                );
                return self.model_error(provider, StatusCode::BAD_GATEWAY, &message);
            }
        };
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let status = parts.status.as_u16();
        let gateway = self.clone();
        let metered = Metered::new(body, true, move |bytes_down, tokens| {
            if let Some(tokens) = tokens {
                gateway.inner.used.fetch_add(tokens, Ordering::SeqCst);
            }
            gateway.report(NetworkRequest {
                door,
                host,
                method,
                path,
                status: Some(status),
                bytes_up,
                bytes_down,
                duration_ms: millis(started),
                blocked: None,
                tokens,
                stripped_tools,
            });
        });
        Response::from_parts(parts, metered.boxed_unsync())
    }

    /// The body to forward: as it came when provider-side tools are allowed (or it is empty),
    /// else rewritten without them.
    fn without_provider_tools(
        &self,
        provider: Provider,
        body: Bytes,
    ) -> Result<(Bytes, Vec<String>), NotJson> {
        if self.inner.provider_tools || body.is_empty() {
            return Ok((body, Vec::new()));
        }
        let rewritten = strip_provider_tools(provider, &body, self.inner.budget.is_some())?;
        Ok((Bytes::from(rewritten.body), rewritten.stripped))
    }

    fn model_error(&self, provider: Provider, status: StatusCode, message: &str) -> Response<Body> {
        respond(
            status,
            "application/json",
            provider.error_body(status.as_u16(), message),
        )
    }
}

/// The upstream's base path joined with the agent's path; a base ending in the version the
/// path starts with (`/v1` + `/v1/responses`, as OpenAI base URLs are written) is not doubled.
fn join_path(prefix: &str, path: &str) -> String {
    if let Some(last) = prefix.rsplit('/').next().filter(|s| !s.is_empty())
        && let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(last))
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return format!("{prefix}{rest}");
    }
    format!("{prefix}{path}")
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::join_path;

    #[test]
    fn base_paths_join_without_doubling_the_version() {
        assert_eq!(join_path("", "/v1/messages"), "/v1/messages");
        assert_eq!(join_path("/v1", "/v1/responses"), "/v1/responses");
        assert_eq!(
            join_path("/litellm", "/v1/messages"),
            "/litellm/v1/messages"
        );
        assert_eq!(
            join_path("/api/v1", "/v1/chat/completions"),
            "/api/v1/chat/completions"
        );
        assert_eq!(join_path("/v1", "/v1beta/models"), "/v1/v1beta/models");
    }
}
