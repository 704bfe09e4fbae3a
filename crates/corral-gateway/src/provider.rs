//! The model providers the gateway forwards to: where each one is, which of its paths are
//! model endpoints, which headers carry its key, and the error shape its clients read.

use corral_core::NetworkDoor;
use http::{HeaderMap, HeaderName, HeaderValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Anthropic,
    OpenAi,
    Gemini,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Anthropic, Provider::OpenAi, Provider::Gemini];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Anthropic => "Anthropic",
            Provider::OpenAi => "OpenAI",
            Provider::Gemini => "Gemini",
        }
    }

    /// The provider whose model API a relay service is the door to.
    pub fn behind(service: corral_relay::Service) -> Option<Provider> {
        use corral_relay::Service;
        match service {
            Service::Anthropic => Some(Provider::Anthropic),
            Service::OpenAi => Some(Provider::OpenAi),
            Service::Gemini => Some(Provider::Gemini),
            Service::Proxy | Service::Mcp => None,
        }
    }

    pub fn door(self) -> NetworkDoor {
        match self {
            Provider::Anthropic => NetworkDoor::Anthropic,
            Provider::OpenAi => NetworkDoor::OpenAi,
            Provider::Gemini => NetworkDoor::Gemini,
        }
    }

    /// The provider's own API, used unless the project names another upstream.
    pub fn default_upstream(self) -> &'static str {
        match self {
            Provider::Anthropic => "https://api.anthropic.com",
            Provider::OpenAi => "https://api.openai.com",
            Provider::Gemini => "https://generativelanguage.googleapis.com",
        }
    }

    /// Whether `method path` (as the agent asked, relative to the door) is one of the model
    /// endpoints: generating and counting tokens (POST), listing models (GET). Nothing else
    /// (files, batches, fine-tuning, stored completions, deletions) is forwarded, and no
    /// percent-encoded path (which the upstream could decode into another).
    pub fn is_model_path(self, method: &http::Method, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        if path.contains("..") || path.contains("//") || path.contains('%') {
            return false;
        }
        let post = method == http::Method::POST;
        let get = method == http::Method::GET;
        let models = |base: &str| path == base || single_segment_under(path, &format!("{base}/"));
        match self {
            Provider::Anthropic => {
                (post && matches!(path, "/v1/messages" | "/v1/messages/count_tokens"))
                    || (get && models("/v1/models"))
            }
            Provider::OpenAi => {
                (post
                    && matches!(
                        path,
                        "/v1/responses" | "/v1/chat/completions" | "/v1/completions"
                    ))
                    || (get && models("/v1/models"))
            }
            Provider::Gemini => ["/v1beta/models", "/v1/models"].iter().any(|base| {
                if get && models(base) {
                    return true;
                }
                post && path
                    .strip_prefix(base)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .and_then(|rest| rest.split_once(':'))
                    .is_some_and(|(model, action)| {
                        !model.is_empty()
                            && !model.contains('/')
                            && matches!(
                                action,
                                "generateContent" | "streamGenerateContent" | "countTokens"
                            )
                    })
            }),
        }
    }

    /// Whether the request carries `placeholder` where this provider's clients put a key.
    pub fn carries(self, headers: &HeaderMap, query: Option<&str>, placeholder: &str) -> bool {
        let bearer = format!("Bearer {placeholder}");
        let header_is = |name: &str, value: &str| {
            headers
                .get_all(name)
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v.trim() == value))
        };
        match self {
            Provider::Anthropic => {
                header_is("x-api-key", placeholder) || header_is("authorization", &bearer)
            }
            Provider::OpenAi => header_is("authorization", &bearer),
            Provider::Gemini => {
                header_is("x-goog-api-key", placeholder)
                    || query.is_some_and(|q| {
                        q.split('&')
                            .any(|pair| pair.strip_prefix("key=") == Some(placeholder))
                    })
            }
        }
    }

    /// The header the real key goes in.
    pub fn key_header(self, key: &str) -> Option<(HeaderName, HeaderValue)> {
        let (name, value) = match self {
            Provider::Anthropic => ("x-api-key", key.to_string()),
            Provider::OpenAi => ("authorization", format!("Bearer {key}")),
            Provider::Gemini => ("x-goog-api-key", key.to_string()),
        };
        let mut value = HeaderValue::from_str(&value).ok()?;
        value.set_sensitive(true);
        Some((HeaderName::from_static(name), value))
    }

    /// An error body the provider's own clients show as a message.
    pub fn error_body(self, status: u16, message: &str) -> String {
        let body = match self {
            Provider::Anthropic => serde_json::json!({
                "type": "error",
                "error": { "type": error_type(status), "message": message },
            }),
            Provider::OpenAi => serde_json::json!({
                "error": { "message": message, "type": error_type(status), "code": null },
            }),
            Provider::Gemini => serde_json::json!({
                "error": { "code": status, "message": message, "status": error_type(status) },
            }),
        };
        body.to_string()
    }
}

fn single_segment_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 | 404 => "permission_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        502 | 504 => "api_error",
        _ => "invalid_request_error",
    }
}

/// Removes every way a client may have sent a key: the gateway adds the real one.
pub fn strip_credentials(headers: &mut HeaderMap) {
    for name in [
        "authorization",
        "x-api-key",
        "x-goog-api-key",
        "api-key",
        "proxy-authorization",
    ] {
        headers.remove(name);
    }
}

/// The query without any `key=` pair (Gemini clients may put the key there).
pub fn strip_key_param(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("key="))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_model_endpoints_are_forwarded() {
        let (get, post, delete) = (
            &http::Method::GET,
            &http::Method::POST,
            &http::Method::DELETE,
        );
        let a = Provider::Anthropic;
        assert!(a.is_model_path(post, "/v1/messages"));
        assert!(a.is_model_path(post, "/v1/messages/count_tokens"));
        assert!(a.is_model_path(get, "/v1/models/claude-sonnet-4-5"));
        assert!(!a.is_model_path(get, "/v1/messages"));
        assert!(!a.is_model_path(post, "/v1/files"));
        assert!(!a.is_model_path(get, "/v1/organizations/me/api_keys"));
        assert!(!a.is_model_path(post, "/v1/messages/../files"));
        assert!(!a.is_model_path(post, "/v1/messages/batches"));
        assert!(!a.is_model_path(get, "/v1/models/%2E%2E%2Ffiles"));
        let o = Provider::OpenAi;
        assert!(o.is_model_path(post, "/v1/responses"));
        assert!(o.is_model_path(post, "/v1/chat/completions"));
        assert!(
            !o.is_model_path(get, "/v1/chat/completions"),
            "stored completions"
        );
        assert!(!o.is_model_path(delete, "/v1/models/ft:mine"));
        assert!(!o.is_model_path(post, "/v1/files"));
        assert!(!o.is_model_path(post, "/v1/fine_tuning/jobs"));
        let g = Provider::Gemini;
        assert!(g.is_model_path(post, "/v1beta/models/gemini-2.5-pro:streamGenerateContent"));
        assert!(g.is_model_path(post, "/v1beta/models/gemini-2.5-pro:countTokens"));
        assert!(g.is_model_path(get, "/v1beta/models"));
        assert!(!g.is_model_path(post, "/v1beta/models/x:delete"));
        assert!(!g.is_model_path(post, "/v1beta/files"));
        assert!(!g.is_model_path(post, "/v1beta/models/a/b:generateContent"));
    }

    #[test]
    fn the_placeholder_is_found_where_each_provider_puts_its_key() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static("ph-1"));
        assert!(Provider::Anthropic.carries(&h, None, "ph-1"));
        assert!(!Provider::Anthropic.carries(&h, None, "ph-2"));
        assert!(!Provider::OpenAi.carries(&h, None, "ph-1"));
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer ph-1"));
        assert!(Provider::OpenAi.carries(&h, None, "ph-1"));
        assert!(Provider::Anthropic.carries(&h, None, "ph-1"));
        assert!(Provider::Gemini.carries(&HeaderMap::new(), Some("alt=sse&key=ph-1"), "ph-1"));
        assert!(!Provider::Gemini.carries(&HeaderMap::new(), Some("key=ph-10"), "ph-1"));
        assert_eq!(strip_key_param("alt=sse&key=ph-1"), "alt=sse");
    }

    #[test]
    fn error_bodies_are_the_providers_shapes() {
        let body: serde_json::Value =
            serde_json::from_str(&Provider::Anthropic.error_body(429, "spent")).unwrap_or_default();
        assert_eq!(body["error"]["message"], "spent");
        assert_eq!(body["type"], "error");
    }
}
