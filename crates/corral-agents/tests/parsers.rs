//! The parsers on transcripts in each runtime's documented format, and on garbage.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use corral_agents::{
    Acp, Adapter, AgentRequest, Aider, ClaudeCode, Codex, Cursor, Gemini, Opencode, PermissionMode,
    StreamParser,
};
use corral_core::{AgentEvent, ToolKind};

/// The assistant's texts among `events`, in order.
fn texts(events: &[AgentEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::AssistantText { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn parse(parser: &mut dyn StreamParser, text: &str) -> Vec<AgentEvent> {
    let mut events: Vec<AgentEvent> = text.lines().flat_map(|l| parser.line(l)).collect();
    events.extend(parser.finish());
    events
}

const CLAUDE: &str = r#"{"type":"system","subtype":"init","cwd":"/workspace","session_id":"3f1c-session","tools":["Write","Bash"],"model":"claude-sonnet-4-5","permissionMode":"acceptEdits"}
{"type":"assistant","message":{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"thinking","thinking":"I should write the file."},{"type":"text","text":"I'll create hello.txt."},{"type":"tool_use","id":"toolu_1","name":"Write","input":{"file_path":"/workspace/hello.txt","content":"hello\n"}}],"usage":{"input_tokens":12,"output_tokens":30}},"session_id":"3f1c-session"}
{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"File created successfully at: /workspace/hello.txt"}]},"session_id":"3f1c-session"}
{"type":"assistant","message":{"id":"msg_2","type":"message","role":"assistant","content":[{"type":"tool_use","id":"toolu_2","name":"Bash","input":{"command":"false"}}]},"session_id":"3f1c-session"}
{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_2","type":"tool_result","content":[{"type":"text","text":"Exit code 1"}],"is_error":true}]},"session_id":"3f1c-session"}
{"type":"assistant","message":{"id":"msg_3","type":"message","role":"assistant","content":[{"type":"text","text":"Done: hello.txt holds a greeting."}]},"session_id":"3f1c-session"}
{"type":"result","subtype":"success","is_error":false,"duration_ms":2100,"num_turns":3,"result":"Done: hello.txt holds a greeting.","session_id":"3f1c-session","total_cost_usd":0.0123,"usage":{"input_tokens":40,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":64}}
"#;

#[test]
fn claude_stream_json_becomes_session_text_tools_edits_usage_and_finish() {
    let events = parse(ClaudeCode.parser().as_mut(), CLAUDE);
    assert_eq!(
        events[0],
        AgentEvent::SessionStarted {
            session_id: "3f1c-session".into()
        }
    );
    assert!(events.contains(&AgentEvent::Thinking {
        text: "I should write the file.".into()
    }));
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { id, name, kind: ToolKind::FileEdit, input }
            if id == "toolu_1" && name == "Write" && input["content"] == "hello\n")));
    assert!(events.contains(&AgentEvent::FileEdit {
        path: "hello.txt".into()
    }));
    assert!(events.contains(&AgentEvent::ToolResult {
        id: "toolu_1".into(),
        ok: true,
        output: "File created successfully at: /workspace/hello.txt".into()
    }));
    assert!(events.iter().any(|e| matches!(
        e,
        AgentEvent::ToolCall {
            kind: ToolKind::Command,
            ..
        }
    )));
    assert!(events.contains(&AgentEvent::ToolResult {
        id: "toolu_2".into(),
        ok: false,
        output: "Exit code 1".into()
    }));
    assert!(events.contains(&AgentEvent::Usage {
        input_tokens: 145,
        output_tokens: 64,
        cost_micro_usd: Some(12_300)
    }));
    assert_eq!(
        events.last(),
        Some(&AgentEvent::Finished {
            ok: true,
            summary: Some("Done: hello.txt holds a greeting.".into())
        })
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, AgentEvent::SessionStarted { .. }))
            .count(),
        1
    );
}

#[test]
fn a_claude_error_result_is_an_error_and_an_unsuccessful_finish() {
    let line = r#"{"type":"result","subtype":"error_during_execution","is_error":true,"result":"model not found: claude-nope","session_id":"s"}"#;
    let events = parse(ClaudeCode.parser().as_mut(), line);
    assert!(events.contains(&AgentEvent::Error {
        message: "model not found: claude-nope".into()
    }));
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: false, .. })
    ));
}

const CODEX: &str = r#"{"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"**Writing the file**"}}
{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"bash -lc 'echo hi > hello.txt'","aggregated_output":"","exit_code":null,"status":"in_progress"}}
{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc 'echo hi > hello.txt'","aggregated_output":"","exit_code":0,"status":"completed"}}
{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"/workspace/notes.md","kind":"add"}],"status":"completed"}}
{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Created hello.txt and notes.md."}}
{"type":"turn.completed","usage":{"input_tokens":2400,"cached_input_tokens":1200,"output_tokens":95}}
"#;

#[test]
fn codex_exec_json_becomes_session_commands_file_edits_text_and_usage() {
    let events = parse(Codex.parser().as_mut(), CODEX);
    assert_eq!(
        events[0],
        AgentEvent::SessionStarted {
            session_id: "0199a213-81c0-7800-8aa1-bbab2a035a53".into()
        }
    );
    assert!(events.contains(&AgentEvent::Thinking {
        text: "**Writing the file**".into()
    }));
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { id, kind: ToolKind::Command, .. } if id == "item_1")));
    assert!(events.contains(&AgentEvent::ToolResult {
        id: "item_1".into(),
        ok: true,
        output: String::new()
    }));
    assert!(events.contains(&AgentEvent::FileEdit {
        path: "notes.md".into()
    }));
    assert!(events.contains(&AgentEvent::AssistantText {
        text: "Created hello.txt and notes.md.".into()
    }));
    assert!(events.contains(&AgentEvent::Usage {
        input_tokens: 2400,
        output_tokens: 95,
        cost_micro_usd: None
    }));
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: true, .. })
    ));

    let failed = parse(
        Codex.parser().as_mut(),
        r#"{"type":"turn.failed","error":{"message":"model gpt-nope does not exist"}}"#,
    );
    assert_eq!(
        failed,
        vec![
            AgentEvent::Error {
                message: "model gpt-nope does not exist".into()
            },
            AgentEvent::Finished {
                ok: false,
                summary: None
            }
        ]
    );
}

/// A tiny deterministic generator, so the garbage is the same on every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn garbage_never_fails_a_parser_and_comes_out_raw() {
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut lines: Vec<String> = (0..2000)
        .map(|_| {
            let len = (xorshift(&mut seed) % 300) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
            String::from_utf8_lossy(&bytes).replace('\n', " ")
        })
        .collect();
    // Truncated JSON of each format, wrong types where objects are expected, deep nesting.
    for source in [
        CLAUDE,
        CODEX,
        include_str!("transcripts/gemini-0.61.0.jsonl"),
        include_str!("transcripts/cursor-documented.jsonl"),
        include_str!("transcripts/opencode-1.18.33.jsonl"),
        include_str!("transcripts/acp-gemini-0.61.0.jsonl"),
    ] {
        for line in source.lines() {
            lines.push(line[..line.len() / 2].to_string());
        }
    }
    lines.push(r#"{"type":"assistant","message":"not an object"}"#.into());
    lines.push(r#"{"type":"assistant","message":{"content":5}}"#.into());
    lines.push(
        r#"{"type":"user","message":{"content":[{"type":"tool_result","content":{"a":1}}]}}"#
            .into(),
    );
    lines.push(r#"{"type":"item.completed","item":{"type":"file_change","changes":"x"}}"#.into());
    lines.push(r#"{"type":"result","usage":"none","total_cost_usd":"free"}"#.into());
    lines.push(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)));
    lines.push(format!(
        "{{\"type\":\"assistant\",\"x\":\"{}\"}}",
        "a".repeat(10 << 20)
    ));
    lines.push("y".repeat(10 << 20));
    lines.push(r#"{"type":"tool_use","parameters":7,"tool_name":[]}"#.into());
    lines.push(r#"{"type":"message","role":"assistant","content":{},"delta":"yes"}"#.into());
    for adapter in [
        &ClaudeCode as &dyn Adapter,
        &Codex,
        &Gemini,
        &Cursor,
        &Opencode,
    ] {
        let mut parser = adapter.parser();
        let mut raw = 0;
        for line in &lines {
            for event in parser.line(line) {
                if matches!(event, AgentEvent::Raw { .. }) {
                    raw += 1;
                }
            }
        }
        parser.finish();
        assert!(
            raw >= 2000,
            "{:?}: random lines come out raw ({raw})",
            adapter.runtime()
        );
    }
}

#[test]
fn the_prompt_is_one_argument_whatever_it_holds() {
    let prompt = "Fix \"the\" bug;\n$(rm -rf /) `x` — naïve ünïcode ✓";
    let request = AgentRequest {
        prompt: prompt.into(),
        model: Some("sonnet".into()),
        resume: Some("sess-1".into()),
        permission: PermissionMode::Bypass,
        base_url: Some("http://127.0.0.1:9".into()),
        agent_command: Vec::new(),
        home: "/corral/home".into(),
        in_container: true,
        mcp: None,
    };
    let claude = ClaudeCode.command(&request);
    assert_eq!(claude.iter().filter(|a| a.as_str() == prompt).count(), 1);
    assert!(claude.windows(2).any(|w| w == ["--resume", "sess-1"]));
    assert!(
        claude
            .windows(2)
            .any(|w| w == ["--permission-mode", "bypassPermissions"])
    );
    assert!(claude.windows(2).any(|w| w == ["--model", "sonnet"]));
    let env = ClaudeCode.env(&request);
    assert!(env.contains(&("ANTHROPIC_BASE_URL".into(), "http://127.0.0.1:9".into())));
    assert!(env.contains(&("IS_SANDBOX".into(), "1".into())));

    let codex = Codex.command(&request);
    assert_eq!(codex.last().map(String::as_str), Some(prompt));
    assert_eq!(&codex[..4], ["codex", "exec", "resume", "sess-1"]);
    assert!(codex.contains(&"--dangerously-bypass-approvals-and-sandbox".to_string()));
    // Codex's own sandbox on the host; switched off in a container, which is the boundary.
    let edits = AgentRequest {
        permission: PermissionMode::AcceptEdits,
        in_container: false,
        ..request.clone()
    };
    let host = Codex.command(&edits);
    assert!(
        host.windows(2)
            .any(|w| w == ["-c", "sandbox_mode=\"workspace-write\""])
    );
    let contained = Codex.command(&AgentRequest {
        in_container: true,
        ..edits
    });
    assert!(
        contained
            .windows(2)
            .any(|w| w == ["-c", "sandbox_mode=\"danger-full-access\""])
    );
}

/// Each CLI is pointed at Corral's MCP server for the run in its own per-run configuration,
/// never the user's or the repository's.
#[test]
fn every_cli_gets_corrals_mcp_server_in_its_per_run_configuration() {
    let request = AgentRequest {
        prompt: "p".into(),
        home: "/corral/run/home".into(),
        in_container: true,
        mcp: Some(corral_agents::McpServer {
            command: "/corral/bin/corral-relay".into(),
            args: vec!["mcp".into()],
        }),
        ..AgentRequest::default()
    };
    let claude = ClaudeCode.command(&request).join(" ");
    assert!(claude.contains("--strict-mcp-config"), "{claude}");
    assert!(claude.contains("--allowedTools mcp__corral"), "{claude}");
    assert!(
        claude.contains("--disallowedTools AskUserQuestion"),
        "{claude}"
    );
    assert!(
        ClaudeCode
            .env(&request)
            .contains(&("ENABLE_TOOL_SEARCH".into(), "false".into()))
    );
    let file = |files: Vec<(String, String)>, name: &str| {
        files
            .into_iter()
            .find(|(path, _)| path.ends_with(name))
            .map(|(_, text)| text)
            .unwrap_or_default()
    };
    let codex = file(Codex.files(&request), "config.toml");
    assert!(
        codex.contains(
            "[mcp_servers.corral]\ncommand = \"/corral/bin/corral-relay\"\nargs = [\"mcp\"]"
        ) && codex.contains("default_tools_approval_mode = \"approve\""),
        "{codex}"
    );
    let gemini: serde_json::Value =
        serde_json::from_str(&file(Gemini.files(&request), "settings.json")).expect("json");
    assert_eq!(
        gemini["mcpServers"]["corral"]["command"],
        "/corral/bin/corral-relay"
    );
    assert_eq!(gemini["mcpServers"]["corral"]["trust"], true);
    assert_eq!(gemini["security"]["auth"]["selectedType"], "gemini-api-key");
    let opencode: serde_json::Value =
        serde_json::from_str(&file(Opencode.files(&request), "opencode.json")).expect("json");
    assert_eq!(
        opencode["mcp"]["corral"]["command"],
        serde_json::json!(["/corral/bin/corral-relay", "mcp"])
    );
    let acp_request = AgentRequest {
        agent_command: vec!["gemini".into(), "--acp".into()],
        ..request.clone()
    };
    let acp = Acp.command(&acp_request);
    let mcp = acp
        .windows(2)
        .find(|w| w[0] == "--mcp")
        .map(|w| w[1].clone())
        .expect("--mcp");
    let mcp: serde_json::Value = serde_json::from_str(&mcp).expect("json");
    assert_eq!(mcp["name"], "corral");
    assert_eq!(mcp["args"], serde_json::json!(["mcp"]));
    // Given through session/new only: the inner agent's own settings do not repeat it.
    let inner: serde_json::Value =
        serde_json::from_str(&file(Acp.files(&acp_request), "settings.json")).expect("json");
    assert!(inner.get("mcpServers").is_none(), "{inner}");
}

/// A transcript of the real Claude Code 2.1.332 (`claude -p ... --output-format stream-json
/// --verbose --permission-mode bypassPermissions`) against a scripted Anthropic Messages server on
/// 127.0.0.1: turn 1 a Write tool call, turn 2 a final text.
#[test]
fn a_real_claude_code_transcript_parses_to_the_tool_call_the_edit_and_the_result() {
    let text = include_str!("transcripts/claude-code-2.1.332.jsonl");
    let events = parse(ClaudeCode.parser().as_mut(), text);
    assert!(
        matches!(&events[0], AgentEvent::SessionStarted { session_id } if session_id.len() == 36)
    );
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { name, kind: ToolKind::FileEdit, .. } if name == "Write")));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::FileEdit { path } if path.ends_with("hello.txt")))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolResult { ok: true, .. }))
    );
    assert!(events.contains(&AgentEvent::AssistantText {
        text: "Done.".into()
    }));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Usage { output_tokens, .. } if *output_tokens > 0))
    );
    assert_eq!(
        events.last(),
        Some(&AgentEvent::Finished {
            ok: true,
            summary: Some("Done.".into())
        })
    );
    assert!(
        !events.iter().any(|e| matches!(e, AgentEvent::Raw { .. })),
        "{events:?}"
    );
}

/// A transcript of the real Codex CLI 0.169.0 (`codex exec --json`) against a scripted OpenAI
/// Responses server on 127.0.0.1 (a custom `model_provider` in its config.toml): turn 1 an
/// `exec_command` call writing hello.txt, turn 2 a final message.
#[test]
fn a_real_codex_transcript_parses_to_the_command_its_result_the_text_and_usage() {
    let text = include_str!("transcripts/codex-0.169.0.jsonl");
    let events = parse(Codex.parser().as_mut(), text);
    assert!(
        matches!(&events[0], AgentEvent::SessionStarted { session_id } if session_id.len() == 36)
    );
    // Codex reports the unknown test model's missing metadata as an error item; it is kept.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Error { message } if message.contains("gpt-test")))
    );
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { kind: ToolKind::Command, input, .. }
            if input["command"].as_str().is_some_and(|c| c.contains("hello.txt")))));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolResult { ok: true, .. }))
    );
    assert!(events.contains(&AgentEvent::AssistantText {
        text: "Done.".into()
    }));
    assert!(events.contains(&AgentEvent::Usage {
        input_tokens: 40,
        output_tokens: 14,
        cost_micro_usd: None
    }));
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: true, .. })
    ));
    assert!(
        !events.iter().any(|e| matches!(e, AgentEvent::Raw { .. })),
        "{events:?}"
    );
}

/// A transcript of the real Gemini CLI 0.61.0 (`gemini -p ... --output-format stream-json
/// --approval-mode yolo -m gemini-2.5-flash`) against a scripted streamGenerateContent server on
/// 127.0.0.1: turn 1 a write_file call, turn 2 the text "Done." in two chunks.
#[test]
fn a_real_gemini_transcript_parses_to_the_edit_the_joined_text_and_usage() {
    let text = include_str!("transcripts/gemini-0.61.0.jsonl");
    let events = parse(Gemini.parser().as_mut(), text);
    assert!(
        matches!(&events[0], AgentEvent::SessionStarted { session_id } if session_id.len() == 36)
    );
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { name, kind: ToolKind::FileEdit, .. } if name == "write_file")));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::FileEdit { path } if path == "hello.txt"))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolResult { ok: true, .. }))
    );
    // The streamed chunks "Do" + "ne." are one text.
    let texts = texts(&events);
    assert_eq!(texts, ["Done."]);
    assert!(events.iter().any(|e| matches!(
        e,
        AgentEvent::Usage {
            input_tokens: 220,
            output_tokens: 13,
            ..
        }
    )));
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: true, .. })
    ));
    assert!(!events.iter().any(|e| matches!(e, AgentEvent::Raw { .. })));
}

#[test]
fn a_gemini_error_result_fails_with_the_api_message_and_text_is_never_lost() {
    let error = r#"{"type":"init","session_id":"s-1","model":"nope"}
{"type":"message","role":"assistant","content":"Partial","delta":true}
{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: models/nope is not found]"},"stats":{"input_tokens":0,"output_tokens":0}}"#;
    let events = parse(Gemini.parser().as_mut(), error);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::AssistantText { text } if text == "Partial"))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Error { message } if message.contains("models/nope")))
    );
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: false, .. })
    ));
    // Text still buffered when the output ends comes out at the end.
    let cut = parse(
        Gemini.parser().as_mut(),
        r#"{"type":"message","role":"assistant","content":"tail","delta":true}"#,
    );
    assert!(matches!(cut.as_slice(), [AgentEvent::AssistantText { text }] if text == "tail"));
}

/// Cursor's CLI cannot run here (the vendor's install script and service): this transcript is
/// written from its documented stream-json format (cursor.com/docs/cli/reference/output-format):
/// a read, a write and a failing function call between two assistant messages.
#[test]
fn a_cursor_transcript_in_its_documented_format_parses_to_tools_edits_and_the_result() {
    let text = include_str!("transcripts/cursor-documented.jsonl");
    let events = parse(Cursor.parser().as_mut(), text);
    assert!(
        matches!(&events[0], AgentEvent::SessionStarted { session_id }
        if session_id == "c6b62c6f-7ead-4fd6-9922-e952131177ff")
    );
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { name, kind: ToolKind::Read, .. } if name == "read")));
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { name, kind: ToolKind::FileEdit, .. } if name == "write")));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::FileEdit { path } if path == "hello.txt"))
    );
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolResult { ok: true, output, .. } if output == "# Shop\n")));
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { name, .. } if name == "run_terminal_cmd")));
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolResult { id, ok: false, .. } if id == "call_3")));
    let texts = texts(&events);
    assert_eq!(
        texts,
        ["I'll read the README first.", "Done: hello.txt written."]
    );
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: true, .. })
    ));
    assert!(!events.iter().any(|e| matches!(e, AgentEvent::Raw { .. })));
    let argv = Cursor.command(&AgentRequest {
        prompt: "go".into(),
        resume: Some("c6b6".into()),
        ..AgentRequest::default()
    });
    assert_eq!(
        &argv[..5],
        [
            "cursor-agent",
            "-p",
            "--output-format",
            "stream-json",
            "--force"
        ]
    );
    assert!(argv.windows(2).any(|w| w == ["--resume", "c6b6"]));
    assert_eq!(argv.last().map(String::as_str), Some("go"));
}

/// A transcript of the real OpenCode 1.18.33 (`opencode run --format json`) against a scripted
/// Chat Completions server on 127.0.0.1: a write tool call, then the text "Done.".
#[test]
fn a_real_opencode_transcript_parses_to_the_write_the_text_usage_and_a_good_finish() {
    let text = include_str!("transcripts/opencode-1.18.33.jsonl");
    let events = parse(Opencode.parser().as_mut(), text);
    assert!(
        matches!(&events[0], AgentEvent::SessionStarted { session_id }
        if session_id.starts_with("ses_"))
    );
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolCall { name, kind: ToolKind::FileEdit, .. } if name == "write")));
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::FileEdit { path } if path.ends_with("/hello.txt"))));
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolResult { ok: true, output, .. } if output == "Wrote file successfully.")));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::AssistantText { text } if text == "Done."))
    );
    let usage: u64 = events
        .iter()
        .map(|e| match e {
            AgentEvent::Usage { input_tokens, .. } => *input_tokens,
            _ => 0,
        })
        .sum();
    assert_eq!(usage, 250, "two model calls: 100 + 150 input tokens");
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: true, .. })
    ));
    assert!(!events.iter().any(|e| matches!(e, AgentEvent::Raw { .. })));
    // The prompt goes in on stdin, never as a positional argument.
    let argv = Opencode.command(&AgentRequest {
        prompt: "two words".into(),
        ..AgentRequest::default()
    });
    assert!(!argv.iter().any(|a| a == "two words"), "{argv:?}");
    let files = Opencode.files(&AgentRequest {
        prompt: "two words".into(),
        ..AgentRequest::default()
    });
    assert!(
        files
            .iter()
            .any(|(p, c)| p == ".corral/prompt.txt" && c == "two words")
    );
}

#[test]
fn an_opencode_error_fails_the_run_with_the_api_message() {
    let text = r#"{"type":"error","timestamp":1,"sessionID":"ses_x","error":{"name":"APIError","data":{"message":"The model `nope` does not exist","statusCode":404}}}"#;
    let events = parse(Opencode.parser().as_mut(), text);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Error { message } if message.contains("nope")))
    );
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: false, .. })
    ));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, AgentEvent::Finished { .. }))
            .count(),
        1
    );
}

/// The real Aider 0.86.2's output (`aider --message ... --no-pretty`) against a scripted Chat
/// Completions server: the banner, the assistant's words with the whole-file edit, the token
/// line, the applied edit.
#[test]
fn real_aider_output_becomes_text_an_edit_usage_and_a_good_finish() {
    let text = include_str!("transcripts/aider-0.86.2.txt");
    let events = parse(Aider.parser().as_mut(), text);
    assert!(matches!(&events[0], AgentEvent::SessionStarted { .. }));
    let texts = texts(&events);
    assert_eq!(
        texts,
        ["I will create hello.txt with the greeting.\n\nhello.txt\n```\nhello\n```"]
    );
    assert!(events.iter().any(|e| matches!(
        e,
        AgentEvent::Usage {
            input_tokens: 594,
            output_tokens: 18,
            cost_micro_usd: Some(630)
        }
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        AgentEvent::ToolCall {
            kind: ToolKind::FileEdit,
            ..
        }
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::FileEdit { path } if path == "hello.txt"))
    );
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: true, .. })
    ));
}

#[test]
fn an_aider_api_error_fails_the_run_though_aider_exits_0() {
    let text = "\nAider v0.86.2\nModel: openai/nope with whole edit format\n\nlitellm.NotFoundError: OpenAIException - The model `nope` does not exist\n";
    let events = parse(Aider.parser().as_mut(), text);
    assert!(
        events.iter().any(
            |e| matches!(e, AgentEvent::Error { message } if message.contains("NotFoundError"))
        )
    );
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: false, .. })
    ));
    // Counts with a k suffix.
    let big = parse(Aider.parser().as_mut(), "Tokens: 1.2k sent, 12k received.");
    assert!(matches!(
        big.as_slice(),
        [AgentEvent::Usage {
            input_tokens: 1200,
            output_tokens: 12000,
            cost_micro_usd: None
        }]
    ));
}

/// What Corral's ACP bridge printed for the real Gemini CLI 0.61.0 in ACP mode (`gemini --acp`)
/// against a scripted server: its session, a permission request for the write (allowed), the
/// write's completed update with the diff, and the text in two chunks.
#[test]
fn an_acp_transcript_parses_to_the_session_the_edit_and_the_joined_text() {
    let text = include_str!("transcripts/acp-gemini-0.61.0.jsonl");
    let events = parse(Acp.parser().as_mut(), text);
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::SessionStarted { session_id } if session_id.len() == 36)));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(
                e,
                AgentEvent::ToolCall {
                    kind: ToolKind::FileEdit,
                    ..
                }
            ))
            .count(),
        1,
        "announced once, by the permission request"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::FileEdit { path } if path == "hello.txt"))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolResult { ok: true, .. }))
    );
    let texts = texts(&events);
    assert_eq!(texts, ["Done."]);
    assert!(matches!(
        events.last(),
        Some(AgentEvent::Finished { ok: true, .. })
    ));
    // The agent's command line follows the bridge's own arguments.
    let argv = Acp.command(&AgentRequest {
        agent_command: vec!["gemini".into(), "--acp".into()],
        home: "/h".into(),
        resume: Some("s-1".into()),
        ..AgentRequest::default()
    });
    assert_eq!(argv[..2], ["node", "/h/.corral/acp_bridge.mjs"]);
    assert!(argv.windows(2).any(|w| w == ["--resume", "s-1"]));
    assert!(argv.ends_with(&["--".into(), "gemini".into(), "--acp".into()]));
    // A known agent brings its settings (Gemini's settings.json).
    let files = Acp.files(&AgentRequest {
        agent_command: vec!["gemini".into(), "--acp".into()],
        ..AgentRequest::default()
    });
    assert!(files.iter().any(|(p, _)| p == ".gemini/settings.json"));
    // A bridge failure fails the run with its words.
    let failed = parse(
        Acp.parser().as_mut(),
        r#"{"corral_acp":"error","message":"the agent's program `x` did not start"}"#,
    );
    assert!(matches!(
        failed.last(),
        Some(AgentEvent::Finished { ok: false, .. })
    ));
}
