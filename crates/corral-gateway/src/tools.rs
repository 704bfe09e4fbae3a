//! Provider-side tools: web search, web fetch and remote MCP servers run by the provider reach
//! the internet from the provider's side, past the sandbox's allowlist. They are removed from
//! model requests unless the project allows them.

use serde_json::Value;

use crate::provider::Provider;

/// Removes the provider-side tools from a request body (JSON) and returns what it removed;
/// `None` when the body is not a JSON object (it is then forwarded as it is).
pub fn strip_provider_tools(provider: Provider, body: &mut Value) -> Option<Vec<String>> {
    let object = body.as_object_mut()?;
    let mut stripped = Vec::new();
    match provider {
        Provider::Anthropic | Provider::OpenAi => {
            for field in ["mcp_servers", "web_search_options"] {
                if object.remove(field).is_some() {
                    stripped.push(field.to_string());
                }
            }
            if let Some(Value::Array(tools)) = object.get_mut("tools") {
                tools.retain(|tool| {
                    let kind = tool.get("type").and_then(Value::as_str).unwrap_or("");
                    let internet = kind.starts_with("web_search")
                        || kind.starts_with("web_fetch")
                        || kind == "mcp";
                    if internet {
                        stripped.push(kind.to_string());
                    }
                    !internet
                });
            }
        }
        Provider::Gemini => {
            if let Some(Value::Array(tools)) = object.get_mut("tools") {
                for tool in tools.iter_mut() {
                    let Some(entry) = tool.as_object_mut() else {
                        continue;
                    };
                    for key in [
                        "googleSearch",
                        "google_search",
                        "googleSearchRetrieval",
                        "google_search_retrieval",
                        "urlContext",
                        "url_context",
                    ] {
                        if entry.remove(key).is_some() {
                            stripped.push(key.to_string());
                        }
                    }
                }
                tools.retain(|tool| tool.as_object().is_none_or(|o| !o.is_empty()));
            }
        }
    }
    Some(stripped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn anthropic_web_tools_and_mcp_servers_go_function_tools_stay() {
        let mut body = json!({
            "model": "m",
            "tools": [
                {"type": "web_search_20250305", "name": "web_search"},
                {"name": "Bash", "input_schema": {}},
                {"type": "web_fetch_20250910", "name": "web_fetch"},
            ],
            "mcp_servers": [{"url": "https://mcp.invalid"}],
        });
        let stripped = strip_provider_tools(Provider::Anthropic, &mut body).unwrap_or_default();
        assert_eq!(
            stripped,
            ["mcp_servers", "web_search_20250305", "web_fetch_20250910"]
        );
        assert_eq!(body["tools"], json!([{"name": "Bash", "input_schema": {}}]));
        assert!(body.get("mcp_servers").is_none());
    }

    #[test]
    fn openai_and_gemini_search_tools_go() {
        let mut body =
            json!({"tools": [{"type": "web_search_preview"}, {"type": "function", "name": "f"}]});
        let stripped = strip_provider_tools(Provider::OpenAi, &mut body).unwrap_or_default();
        assert_eq!(stripped, ["web_search_preview"]);
        assert_eq!(body["tools"], json!([{"type": "function", "name": "f"}]));

        let mut body = json!({"tools": [{"googleSearch": {}}, {"functionDeclarations": [], "urlContext": {}}]});
        let stripped = strip_provider_tools(Provider::Gemini, &mut body).unwrap_or_default();
        assert_eq!(stripped, ["googleSearch", "urlContext"]);
        assert_eq!(body["tools"], json!([{"functionDeclarations": []}]));
    }

    #[test]
    fn a_body_that_is_not_an_object_is_left_alone() {
        let mut body = json!([1, 2]);
        assert_eq!(strip_provider_tools(Provider::OpenAi, &mut body), None);
    }
}
