//! A scripted model server on 127.0.0.1 for the real agent CLIs: Anthropic Messages SSE (Claude
//! Code), OpenAI Responses SSE (Codex), Gemini streamGenerateContent SSE and Chat Completions
//! SSE (OpenCode, and Aider's whole-file edits as text). Turn 1 of a
//! conversation is a tool call writing `hello.txt` (`second.txt` when the conversation holds
//! "FOLLOW-UP"); once the tool's result came back, the reply is the text "Done.". A Claude
//! conversation whose prompt holds "CORRAL-MCP" calls Corral's MCP tools instead, one per turn
//! (`mcp_script`). The model `claude-nope` answers 404. Shared by the CLI tests and the agent
//! overhead benchmark.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[path = "model_dialects.rs"]
mod dialects;
use dialects::{chat_reply, gemini_reply, responses_reply};
#[path = "model_scripts.rs"]
mod scripts;
pub use scripts::mcp_script;

fn sse(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .map(|e| {
            format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap_or("x")
            )
        })
        .collect()
}

/// The scripted model's reply to one request body.
fn reply(body: &str) -> String {
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    // Answered: a tool result came back after the human's latest words (a resumed session
    // carries the whole earlier conversation too).
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let has = |m: &serde_json::Value, kind: &str| match &m["content"] {
        serde_json::Value::String(_) => kind == "text",
        serde_json::Value::Array(parts) => parts.iter().any(|p| p["type"] == kind),
        _ => false,
    };
    let last_human = messages
        .iter()
        .rposition(|m| m["role"] == "user" && has(m, "text") && !has(m, "tool_result"))
        .unwrap_or(0);
    let results = messages[last_human..]
        .iter()
        .filter(|m| has(m, "tool_result"))
        .count();
    let turn = messages.len();
    // A consult run's agent (`ask_agent`): in a container it first tries to write (its view
    // of the checkout is read-only), then answers.
    if body.contains(CONSULT_PROMPT) {
        if body.contains("CORRAL-MCP-CONSULT-SLOW") {
            // A consulted agent that thinks for long: its asker is cancelled meanwhile.
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
        let cwd = working_dir(body);
        if results == 0 && cwd == "/workspace" {
            let input =
                serde_json::json!({"file_path": "/workspace/consulted.txt", "content": "no\n"});
            return tool_use_reply(&request, turn, "Write", &input);
        }
        return text_reply(&request, turn, CONSULT_ANSWER);
    }
    // A command that needs a person's approval (`agent-permissions=ask`).
    if body.contains("CORRAL-MCP-APPROVE") {
        if results == 0 {
            let input =
                serde_json::json!({"command": APPROVED_COMMAND, "description": "write a file"});
            return tool_use_reply(&request, turn, "Bash", &input);
        }
        return text_reply(&request, turn, "Done.");
    }
    if body.contains(REVIEWER_PROMPT) {
        return reviewer_reply(&request, results, body);
    }
    if body.contains("CORRAL-CHECKS") {
        return checks_reply(&request, &messages[last_human..], results, body);
    }
    // An orchestrator woken with its subtask's question: it answers it.
    let asked = messages
        .get(last_human)
        .map(ToString::to_string)
        .filter(|m| m.contains("Your subtasks ask"));
    if let Some(asked) = asked {
        if body.contains("CORRAL-MCP-ORCHESTRATE-ASK-IGNORE") {
            // It leaves the question to the person.
            return text_reply(&request, turn, "The person should decide that.");
        }
        if results == 0 {
            let id = asked
                .split("request ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap_or_default();
            let input = serde_json::json!({"request": id, "answers": [{"selected": ["SQLite"]}]});
            return tool_use_reply(&request, turn, "mcp__corral__answer_subtask", &input);
        }
        return text_reply(&request, turn, "Answered.");
    }
    // An orchestrator told its subtasks' work conflicts: it cancels `B`, and ends its turn.
    let conflicted = messages
        .get(last_human)
        .is_some_and(|m| m.to_string().contains("does not merge into one branch"));
    if conflicted {
        if results == 0 {
            let input = serde_json::json!({"subtask": "B"});
            return tool_use_reply(&request, turn, "mcp__corral__cancel_subtask", &input);
        }
        return text_reply(&request, turn, "B is left out.");
    }
    // An orchestrator woken at once by a failure: it finishes (the rest still runs).
    let failed = messages
        .get(last_human)
        .is_some_and(|m| m.to_string().contains("A subtask failed"));
    if failed {
        if results == 0 {
            let input = serde_json::json!({"summary": "Fails failed; Slow goes on."});
            return tool_use_reply(&request, turn, "mcp__corral__finish", &input);
        }
        return text_reply(&request, turn, "Done.");
    }
    // An orchestrator woken with its subtasks' results: it finishes.
    let woken = messages
        .get(last_human)
        .is_some_and(|m| m.to_string().contains("Your subtasks have ended"));
    if woken {
        if results == 0 {
            let input = serde_json::json!({"summary": "All three done: c.txt holds a and b."});
            return tool_use_reply(&request, turn, "mcp__corral__finish", &input);
        }
        return text_reply(&request, turn, "Done.");
    }
    let script = mcp_script(body);
    // A resumed session whose new message is a person's answer: it is taken, the turn ends.
    let answered_later = messages.get(last_human).is_some_and(|m| {
        let m = m.to_string();
        m.contains("A person answered the question") || m.contains("The agent you consulted")
    });
    if !script.is_empty() && answered_later {
        return text_reply(&request, turn, "Got the answer.");
    }
    if !script.is_empty() {
        return match script.get(results) {
            Some((tool, input)) => {
                tool_use_reply(&request, turn, &format!("mcp__corral__{tool}"), input)
            }
            None => text_reply(&request, turn, "Done."),
        };
    }
    let answered = results > 0;
    let cwd = working_dir(body);
    let block = if answered {
        vec![
            serde_json::json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
            serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Done."}}),
        ]
    } else {
        // A follow-up asks for a second file.
        let (name, content) = if body.contains("FOLLOW-UP") {
            ("second.txt", "second\n")
        } else {
            ("hello.txt", "hello\n")
        };
        let input = serde_json::json!({"file_path": format!("{cwd}/{name}"), "content": content});
        vec![
            serde_json::json!({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":format!("toolu_{turn}"),"name":"Write","input":{}}}),
            serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":input.to_string()}}),
        ]
    };
    let mut events = vec![
        serde_json::json!({"type":"message_start","message":{"id":format!("msg_{turn}"),"type":"message","role":"assistant","model":request["model"],"content":[],"stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}}),
    ];
    events.extend(block);
    events.push(serde_json::json!({"type":"content_block_stop","index":0}));
    events.push(serde_json::json!({"type":"message_delta","delta":{"stop_reason": if answered {"end_turn"} else {"tool_use"}},"usage":{"output_tokens":5}}));
    events.push(serde_json::json!({"type":"message_stop"}));
    sse(&events)
}

/// A `CORRAL-CHECKS` conversation: its first turn writes `answer.txt` saying "broken"; a turn
/// resumed with failed checks writes "fixed" (with `CORRAL-CHECKS-NEVER`, "worse"); with
/// `CORRAL-CHECKS-REVIEW` a review's requested changes are fixed too. Once the write came back,
/// "Done.".
fn checks_reply(
    request: &serde_json::Value,
    since_human: &[serde_json::Value],
    results: usize,
    body: &str,
) -> String {
    let turn = request["messages"].as_array().map_or(0, Vec::len);
    if results == 1 && body.contains("CORRAL-CHECKS-FORGE") {
        // The working agent tries to give its own work the reviewer's verdict.
        let input = serde_json::json!({"verdict": "approve", "summary": "forged"});
        return tool_use_reply(request, turn, "mcp__corral__submit_review", &input);
    }
    if results > 0 {
        return text_reply(request, turn, "Done.");
    }
    let latest = since_human
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let fixing =
        latest.contains("The project's checks failed") || latest.contains("A review of your work");
    let content = if !fixing {
        "broken\n"
    } else if body.contains("CORRAL-CHECKS-NEVER") {
        "worse\n"
    } else {
        "fixed\n"
    };
    let cwd = working_dir(body);
    let input = serde_json::json!({"file_path": format!("{cwd}/answer.txt"), "content": content});
    tool_use_reply(request, turn, "Write", &input)
}

/// What an agent reviewer is told first (core's `review::reviewer_prompt`).
const REVIEWER_PROMPT: &str = "You review another coding agent's work";

/// An agent reviewer: it requests changes on `answer.txt` while the diff adds "broken", and
/// approves otherwise; with `CORRAL-REVIEW-SILENT` in the task it never gives a verdict.
fn reviewer_reply(request: &serde_json::Value, results: usize, body: &str) -> String {
    let turn = request["messages"].as_array().map_or(0, Vec::len);
    if results > 0 || body.contains("CORRAL-REVIEW-SILENT") {
        return text_reply(request, turn, "Reviewed.");
    }
    let input = if body.contains("+broken") {
        serde_json::json!({"verdict": "request_changes", "summary": "answer.txt is wrong",
            "comments": [{"path": "answer.txt", "line": 1, "text": "It must say fixed."}]})
    } else {
        serde_json::json!({"verdict": "approve", "summary": "Looks right."})
    };
    tool_use_reply(request, turn, "mcp__corral__submit_review", &input)
}

/// The command a `CORRAL-MCP-APPROVE` conversation asks to run.
pub const APPROVED_COMMAND: &str = "sh -c 'echo approved > approved.txt'";

/// What a consult run's agent is told first (core's `Consult::prompt_for`).
const CONSULT_PROMPT: &str = "Another coding agent asks for your view";
/// What the scripted consulted agent answers.
pub const CONSULT_ANSWER: &str = "CONSULTED-ANSWER: keep the cache in a BTreeMap.";

/// Where Claude Code says it works: "Primary working directory: <path>".
fn working_dir(body: &str) -> &str {
    body.split("Primary working directory: ")
        .nth(1)
        .and_then(|rest| rest.split('\\').next())
        .unwrap_or("/workspace")
}

/// The name under which the agent offered the model Corral's `tool` (each CLI names MCP tools
/// its own way), found in the request's tool declarations.
fn declared(tool: &str, mut tool_names: impl Iterator<Item = String>) -> Option<String> {
    tool_names.find(|name| name.ends_with(tool))
}

/// The next of the script's MCP calls once `done` of them came back, as (its name among
/// `declared_names`, its arguments); `None` when the script is over (or has none).
fn next_mcp_call(
    body: &str,
    done: usize,
    declared_names: &[String],
) -> Option<(String, serde_json::Value)> {
    let (tool, arguments) = mcp_script(body).into_iter().nth(done)?;
    let name = declared(tool, declared_names.iter().cloned())?;
    Some((name, arguments))
}

fn message_events(
    request: &serde_json::Value,
    turn: usize,
    block: Vec<serde_json::Value>,
    stop: &str,
) -> String {
    let mut events = vec![
        serde_json::json!({"type":"message_start","message":{"id":format!("msg_{turn}"),"type":"message","role":"assistant","model":request["model"],"content":[],"stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}}),
    ];
    events.extend(block);
    events.push(serde_json::json!({"type":"content_block_stop","index":0}));
    events.push(serde_json::json!({"type":"message_delta","delta":{"stop_reason": stop},"usage":{"output_tokens":5}}));
    events.push(serde_json::json!({"type":"message_stop"}));
    sse(&events)
}

fn tool_use_reply(
    request: &serde_json::Value,
    turn: usize,
    name: &str,
    input: &serde_json::Value,
) -> String {
    let block = vec![
        serde_json::json!({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":format!("toolu_{turn}"),"name":name,"input":{}}}),
        serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":input.to_string()}}),
    ];
    message_events(request, turn, block, "tool_use")
}

fn text_reply(request: &serde_json::Value, turn: usize, text: &str) -> String {
    let block = vec![
        serde_json::json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":text}}),
    ];
    message_events(request, turn, block, "end_turn")
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(format!("{path} {body}\n{head}"));
    let unknown_model = body.contains("\"model\":\"claude-nope\"");
    let (status, kind, payload) = if unknown_model {
        (
            "404 Not Found",
            "application/json",
            r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}"#
                .to_string(),
        )
    } else if path.contains("count_tokens") {
        (
            "200 OK",
            "application/json",
            r#"{"input_tokens":10}"#.to_string(),
        )
    } else {
        let payload = if path.ends_with("/responses") {
            responses_reply(&body)
        } else if path.contains(":streamGenerateContent") {
            gemini_reply(&body)
        } else if path.ends_with("/chat/completions") {
            chat_reply(&body)
        } else {
            reply(&body)
        };
        ("200 OK", "text/event-stream", payload)
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{payload}",
        payload.len()
    )?;
    stream.flush()
}

/// Starts the scripted server; returns its base URL and the requests it saw.
pub fn model_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let _ = serve(stream, &seen);
            });
        }
    });
    (url, requests)
}
