//! Parser throughput: a 100 MB Claude Code stream-json transcript (tool calls, results, text),
//! parsed line by line. Prints MB/s and events/s; asserts nothing about speed.
//! Run: `cargo bench -p corral-agents --bench parse`.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use std::time::Instant;

use corral_agents::{Adapter, ClaudeCode, Codex};

fn claude_transcript(target: usize) -> String {
    let mut out = String::with_capacity(target + 4096);
    out.push_str(r#"{"type":"system","subtype":"init","session_id":"s-1","tools":["Write"]}"#);
    out.push('\n');
    let mut i = 0u64;
    while out.len() < target {
        let body = "lorem ipsum dolor sit amet ".repeat(8);
        out.push_str(&format!(
            r#"{{"type":"assistant","message":{{"id":"m{i}","role":"assistant","content":[{{"type":"text","text":"Step {i}: {body}"}},{{"type":"tool_use","id":"t{i}","name":"Write","input":{{"file_path":"/workspace/src/f{i}.rs","content":"fn f{i}() {{}}\n{body}"}}}}]}},"session_id":"s-1"}}"#
        ));
        out.push('\n');
        out.push_str(&format!(
            r#"{{"type":"user","message":{{"role":"user","content":[{{"tool_use_id":"t{i}","type":"tool_result","content":"File created successfully"}}]}},"session_id":"s-1"}}"#
        ));
        out.push('\n');
        i += 1;
    }
    out
}

fn codex_transcript(target: usize) -> String {
    let mut out = String::with_capacity(target + 4096);
    let mut i = 0u64;
    while out.len() < target {
        let text = "lorem ipsum dolor sit amet ".repeat(8);
        out.push_str(&format!(
            r#"{{"type":"item.completed","item":{{"id":"item_{i}","type":"command_execution","command":"bash -lc 'cat f{i}'","aggregated_output":"{text}","exit_code":0,"status":"completed"}}}}"#
        ));
        out.push('\n');
        out.push_str(&format!(
            r#"{{"type":"item.completed","item":{{"id":"m_{i}","type":"agent_message","text":"{text}"}}}}"#
        ));
        out.push('\n');
        i += 1;
    }
    out
}

fn measure(name: &str, adapter: &dyn Adapter, transcript: &str) {
    let mut parser = adapter.parser();
    let start = Instant::now();
    let mut events = 0usize;
    for line in transcript.lines() {
        events += parser.line(line).len();
    }
    events += parser.finish().len();
    let secs = start.elapsed().as_secs_f64();
    let mb = transcript.len() as f64 / 1_000_000.0;
    println!(
        "{name}: {mb:.0} MB in {secs:.2} s = {:.0} MB/s, {:.0} events/s ({events} events)",
        mb / secs,
        events as f64 / secs
    );
}

fn main() {
    measure(
        "claude stream-json",
        &ClaudeCode,
        &claude_transcript(100_000_000),
    );
    measure("codex exec --json", &Codex, &codex_transcript(100_000_000));
}
