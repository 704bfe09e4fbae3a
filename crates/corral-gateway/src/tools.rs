//! Provider-side tools: web search, web fetch and remote MCP servers run by the provider reach
//! the internet from the provider's side, past the sandbox's allowlist. They are removed from
//! model requests unless the project allows them.
//!
//! The body is read shallowly: its top-level fields stay raw text (a hostile body cannot
//! inflate in memory), only the tool entries are looked into, and the body forwarded is the
//! one rewritten from what was read, so a duplicated field cannot hide a tool from this check
//! and show it to the provider.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::provider::Provider;

/// The body is not a JSON object.
#[derive(Debug, PartialEq, Eq)]
pub struct NotJson;

/// What a request body became.
#[derive(Debug, PartialEq, Eq)]
pub struct Rewritten {
    pub body: Vec<u8>,
    pub stripped: Vec<String>,
}

type Fields = BTreeMap<String, Box<RawValue>>;

#[derive(Deserialize)]
struct Typed {
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

const TOP_LEVEL: [&str; 2] = ["mcp_servers", "web_search_options"];
const GEMINI_KEYS: [&str; 8] = [
    "googleSearch",
    "google_search",
    "googleSearchRetrieval",
    "google_search_retrieval",
    "urlContext",
    "url_context",
    "googleMaps",
    "google_maps",
];

fn internet_tool(kind: &str) -> bool {
    kind.starts_with("web_search") || kind.starts_with("web_fetch") || kind == "mcp"
}

/// Removes the provider-side tools from a JSON request body. With `count_usage`, an OpenAI
/// chat stream is asked to report its usage (it does not unless asked), so a budget can count
/// it.
pub fn strip_provider_tools(
    provider: Provider,
    body: &[u8],
    count_usage: bool,
) -> Result<Rewritten, NotJson> {
    let mut fields: Fields = serde_json::from_slice(body).map_err(|_| NotJson)?;
    let mut stripped = Vec::new();
    for field in TOP_LEVEL {
        if fields.remove(field).is_some() {
            stripped.push(field.to_string());
        }
    }
    if let Some(tools) = fields.get("tools") {
        let tools: Vec<Box<RawValue>> = serde_json::from_str(tools.get()).map_err(|_| NotJson)?;
        let mut kept = Vec::with_capacity(tools.len());
        for tool in tools {
            match provider {
                Provider::Anthropic | Provider::OpenAi => {
                    let kind = serde_json::from_str::<Typed>(tool.get())
                        .ok()
                        .and_then(|t| t.kind)
                        .unwrap_or_default();
                    if internet_tool(&kind) {
                        stripped.push(kind);
                    } else {
                        kept.push(tool);
                    }
                }
                Provider::Gemini => {
                    let Ok(mut entry) = serde_json::from_str::<Fields>(tool.get()) else {
                        kept.push(tool);
                        continue;
                    };
                    for key in GEMINI_KEYS {
                        if entry.remove(key).is_some() {
                            stripped.push(key.to_string());
                        }
                    }
                    if !entry.is_empty() {
                        kept.push(raw(&entry)?);
                    }
                }
            }
        }
        fields.insert("tools".to_string(), raw(&kept)?);
    }
    if count_usage
        && provider == Provider::OpenAi
        && fields.get("stream").is_some_and(|s| s.get() == "true")
        && !fields.contains_key("stream_options")
    {
        fields.insert(
            "stream_options".into(),
            raw(&serde_json::json!({"include_usage": true}))?,
        );
    }
    let body = serde_json::to_vec(&fields).map_err(|_| NotJson)?;
    Ok(Rewritten { body, stripped })
}

fn raw<T: serde::Serialize>(value: &T) -> Result<Box<RawValue>, NotJson> {
    serde_json::value::to_raw_value(value).map_err(|_| NotJson)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn strip(provider: Provider, body: Value) -> (Value, Vec<String>) {
        let out = strip_provider_tools(provider, body.to_string().as_bytes(), false).unwrap_or(
            Rewritten {
                body: Vec::new(),
                stripped: Vec::new(),
            },
        );
        (
            serde_json::from_slice(&out.body).unwrap_or_default(),
            out.stripped,
        )
    }

    #[test]
    fn anthropic_web_tools_and_mcp_servers_go_function_tools_stay() {
        let (body, stripped) = strip(
            Provider::Anthropic,
            json!({
                "model": "m",
                "tools": [
                    {"type": "web_search_20250305", "name": "web_search"},
                    {"name": "Bash", "input_schema": {"type": "object"}},
                    {"type": "web_fetch_20250910", "name": "web_fetch"},
                ],
                "mcp_servers": [{"url": "https://mcp.invalid"}],
            }),
        );
        assert_eq!(
            stripped,
            ["mcp_servers", "web_search_20250305", "web_fetch_20250910"]
        );
        assert_eq!(
            body["tools"],
            json!([{"name": "Bash", "input_schema": {"type": "object"}}])
        );
        assert!(body.get("mcp_servers").is_none());
        assert_eq!(body["model"], "m");
    }

    #[test]
    fn openai_and_gemini_search_tools_go() {
        let (body, stripped) = strip(
            Provider::OpenAi,
            json!({"tools": [{"type": "web_search_preview"}, {"type": "function", "name": "f"}]}),
        );
        assert_eq!(stripped, ["web_search_preview"]);
        assert_eq!(body["tools"], json!([{"type": "function", "name": "f"}]));

        let (body, stripped) = strip(
            Provider::Gemini,
            json!({"tools": [{"googleSearch": {}}, {"functionDeclarations": [], "urlContext": {}}]}),
        );
        assert_eq!(stripped, ["googleSearch", "urlContext"]);
        assert_eq!(body["tools"], json!([{"functionDeclarations": []}]));
    }

    #[test]
    fn a_duplicated_field_cannot_hide_a_tool() {
        let body = br#"{"tools":[{"type":"web_search_20250305"}],"tools":[]}"#;
        let out = strip_provider_tools(Provider::Anthropic, body, false).unwrap_or(Rewritten {
            body: Vec::new(),
            stripped: Vec::new(),
        });
        let text = String::from_utf8_lossy(&out.body);
        assert!(!text.contains("web_search"), "{text}");
        assert_eq!(text.matches("\"tools\"").count(), 1, "{text}");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused_and_usage_is_asked_for() {
        assert_eq!(
            strip_provider_tools(Provider::OpenAi, b"[1,2]", false),
            Err(NotJson)
        );
        assert_eq!(
            strip_provider_tools(Provider::OpenAi, b"\xef\xbb\xbf{}", false),
            Err(NotJson)
        );
        let out = strip_provider_tools(Provider::OpenAi, br#"{"stream":true}"#, true).unwrap_or(
            Rewritten {
                body: Vec::new(),
                stripped: Vec::new(),
            },
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&out.body).unwrap_or_default()["stream_options"],
            json!({"include_usage": true})
        );
    }
}
