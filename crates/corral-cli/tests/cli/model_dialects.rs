//! The scripted model's replies in the OpenAI Responses (Codex), Gemini streamGenerateContent
//! and Chat Completions (OpenCode, Aider) dialects; `model_server` holds Anthropic's and serves
//! them all.

use super::{APPROVED_COMMAND, next_mcp_call, sse};

/// The scripted model's reply in OpenAI's Responses API (what Codex speaks): a shell command
/// writing the file, then "Done." once its output came back after the latest user message.
pub(super) fn responses_reply(body: &str) -> String {
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let items = request["input"].as_array().cloned().unwrap_or_default();
    let last_user = items
        .iter()
        .rposition(|i| i["type"] == "message" && i["role"] == "user")
        .unwrap_or(0);
    let outputs = items[last_user..]
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .count();
    let answered = outputs > 0;
    let turn = items.len();
    // Codex offers an MCP server's tools as a namespace (`mcp__corral`) of functions; a call
    // names the function and its namespace.
    let mcp_call = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "namespace")
        .find_map(|ns| {
            let names: Vec<String> = ns["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect();
            let (tool, arguments) = next_mcp_call(body, outputs, &names)?;
            Some((ns["name"].as_str()?.to_string(), tool, arguments))
        });
    let item = if let Some((namespace, tool, arguments)) = mcp_call {
        serde_json::json!({"type":"function_call","id":format!("fc_{turn}"),"call_id":format!("call_{turn}"),
            "name":tool,"namespace":namespace,"arguments":arguments.to_string()})
    } else if answered {
        serde_json::json!({"type":"message","role":"assistant","id":format!("msg_{turn}"),
            "content":[{"type":"output_text","text":"Done."}]})
    } else {
        let (name, text) = if body.contains("FOLLOW-UP") {
            ("second.txt", "second")
        } else {
            ("hello.txt", "hello")
        };
        let cmd = format!("printf '{text}\\n' > {name}");
        serde_json::json!({"type":"function_call","id":format!("fc_{turn}"),"call_id":format!("call_{turn}"),
            "name":"exec_command","arguments":serde_json::json!({"cmd": cmd}).to_string()})
    };
    sse(&[
        serde_json::json!({"type":"response.created","response":{"id":format!("resp_{turn}")}}),
        serde_json::json!({"type":"response.output_item.done","output_index":0,"item":item}),
        serde_json::json!({"type":"response.completed","response":{"id":format!("resp_{turn}"),
            "usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":0},"output_tokens":14,
                "output_tokens_details":{"reasoning_tokens":0},"total_tokens":54}}}),
    ])
}

/// The scripted model's reply in Gemini's streamGenerateContent SSE: a write_file call, then
/// "Done." in two chunks once the function's response came back.
pub(super) fn gemini_reply(body: &str) -> String {
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let contents = request["contents"].as_array().cloned().unwrap_or_default();
    let is_response = |entry: &serde_json::Value| {
        entry["parts"]
            .as_array()
            .is_some_and(|parts| parts.iter().any(|p| p.get("functionResponse").is_some()))
    };
    let last_user_text = contents
        .iter()
        .rposition(|e| e["role"] == "user" && !is_response(e))
        .unwrap_or(0);
    let responses = contents[last_user_text..]
        .iter()
        .filter(|e| is_response(e))
        .count();
    let answered = contents.last().is_some_and(is_response);
    let usage = serde_json::json!({"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110});
    let chunk = |parts: serde_json::Value, last: bool| {
        let mut candidate =
            serde_json::json!({"content": {"role": "model", "parts": parts}, "index": 0});
        let mut chunk = serde_json::json!({"modelVersion": "gemini-test", "responseId": "r1"});
        if last {
            candidate["finishReason"] = "STOP".into();
            chunk["usageMetadata"] = usage.clone();
        }
        chunk["candidates"] = serde_json::json!([candidate]);
        format!("data: {chunk}\r\n\r\n")
    };
    let names: Vec<String> = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["functionDeclarations"].as_array())
        .flatten()
        .filter_map(|d| d["name"].as_str().map(str::to_string))
        .collect();
    let mcp_call = next_mcp_call(body, responses, &names);
    if let Some((tool, arguments)) = mcp_call {
        chunk(
            serde_json::json!([{"functionCall": {"name": tool, "args": arguments}}]),
            true,
        )
    } else if answered {
        chunk(serde_json::json!([{"text": "Do"}]), false)
            + &chunk(serde_json::json!([{"text": "ne."}]), true)
    } else if body.contains("CORRAL-MCP-APPROVE") {
        chunk(
            serde_json::json!([{"functionCall": {"name": "run_shell_command", "args": {"command": APPROVED_COMMAND, "description": "write a file"}}}]),
            true,
        )
    } else {
        let (name, content) = if body.contains("FOLLOW-UP") {
            ("second.txt", "second\n")
        } else {
            ("hello.txt", "hello\n")
        };
        chunk(
            serde_json::json!([{"functionCall": {"name": "write_file", "args": {"file_path": name, "content": content}}}]),
            true,
        )
    }
}

/// The scripted model's reply in OpenAI's Chat Completions SSE (OpenCode): a `write` call with
/// an absolute path under the working directory its system prompt names, then "Done." once
/// the tool's result came back; a request without tools (a title) gets a title.
pub(super) fn chat_reply(body: &str) -> String {
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        let data =
            serde_json::json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {data}\n\n")
    };
    let usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20}}\n\ndata: [DONE]\n\n";
    let text = |t: &str| {
        chunk(serde_json::json!({"role": "assistant", "content": t}), None)
            + &chunk(serde_json::json!({}), Some("stop"))
            + usage
    };
    if body.contains("You are a title generator") {
        return text("Hello file");
    }
    if request.get("tools").is_none() {
        // Aider: no tools, edits as text in its "whole" format (the file's name, then a fenced
        // block with all of it).
        let last_user = request["messages"]
            .as_array()
            .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default();
        let (name, content) = if last_user.contains("FOLLOW-UP") {
            ("second.txt", "second")
        } else {
            ("hello.txt", "hello")
        };
        return text(&format!(
            "I will create {name}.\n\n{name}\n```\n{content}\n```\n"
        ));
    }
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let last_user = messages
        .iter()
        .rposition(|m| m["role"] == "user")
        .unwrap_or(0);
    let results = messages[last_user..]
        .iter()
        .filter(|m| m["role"] == "tool")
        .count();
    let names: Vec<String> = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
        .collect();
    if let Some((tool, arguments)) = next_mcp_call(body, results, &names) {
        return chunk(
            serde_json::json!({"role": "assistant", "tool_calls": [{"index": 0, "id": format!("call_{}", messages.len()),
                "type": "function", "function": {"name": tool, "arguments": arguments.to_string()}}]}),
            None,
        ) + &chunk(serde_json::json!({}), Some("tool_calls"))
            + usage;
    }
    if results > 0 {
        return text("Done.");
    }
    let system = messages
        .first()
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    let cwd = system
        .split("Working directory: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or("/workspace")
        .trim();
    let (name, content) = if body.contains("FOLLOW-UP") {
        ("second.txt", "second\n")
    } else {
        ("hello.txt", "hello\n")
    };
    let arguments = serde_json::json!({"filePath": format!("{cwd}/{name}"), "content": content});
    chunk(
        serde_json::json!({"role": "assistant", "tool_calls": [{"index": 0, "id": format!("call_{}", messages.len()),
            "type": "function", "function": {"name": "write", "arguments": arguments.to_string()}}]}),
        None,
    ) + &chunk(serde_json::json!({}), Some("tool_calls"))
        + usage
}
