//! The MCP tool calls the scripted model makes for a Claude conversation whose prompt holds
//! "CORRAL-MCP": one call per turn, in order (`model_server` replies with them).

/// The MCP tool calls a "CORRAL-MCP" conversation makes, in order: `CORRAL-MCP-TASK` proposes a
/// task, `CORRAL-MCP-ASK` asks the human a question, `CORRAL-MCP-CONSULT` asks another agent,
/// `CORRAL-MCP-ORCHESTRATE` plans subtasks.
pub fn mcp_script(body: &str) -> Vec<(&'static str, serde_json::Value)> {
    let mut calls = Vec::new();
    if body.contains("CORRAL-MCP-TASK") {
        calls.push((
            "create_task",
            serde_json::json!({"title": "Write the docs", "prompt": "Document what changed", "idempotency_key": "docs"}),
        ));
    }
    if body.contains("CORRAL-MCP-ASK") {
        calls.push((
            "ask_human",
            serde_json::json!({"questions": [{"question": "Which database?", "options": [
                {"label": "SQLite", "description": "embedded"},
                {"label": "Postgres", "description": "a server"}]}],
                "context": "The cart needs storage"}),
        ));
    }
    if body.contains("CORRAL-MCP-ORCHESTRATE-ASK") {
        // One subtask, an agent that asks a question (which comes to its orchestrator first).
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "Pick", "prompt": "CORRAL-MCP-ASK: pick a database",
                "runtime": "claude-code", "idempotency_key": "pick"}),
        ));
        return calls;
    }
    if body.contains("CORRAL-MCP-ORCHESTRATE-FINISH-EARLY") {
        // One that fails, one that works, and finish at once (before either ended).
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "Fails", "command": ["sh", "-c", "sleep 1; exit 3"],
                "idempotency_key": "fails"}),
        ));
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "Works", "command": ["sh", "-c", "echo w > w.txt"],
                "idempotency_key": "works"}),
        ));
        calls.push(("finish", serde_json::json!({"summary": "Both started."})));
        return calls;
    }
    if body.contains("CORRAL-MCP-ORCHESTRATE-CONFLICT") {
        // Two subtasks that write the same file differently, then the turn ends.
        for (title, line) in [("A", "a"), ("B", "b")] {
            calls.push((
                "create_subtask",
                serde_json::json!({"title": title, "command": ["sh", "-c", format!("echo {line} > x.txt")],
                    "idempotency_key": title}),
            ));
        }
    } else if body.contains("CORRAL-MCP-ORCHESTRATE-FAILFAST") {
        // One that fails at once (its failure wakes the orchestrator), one that takes long.
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "Fails", "command": ["sh", "-c", "exit 3"],
                "wake_on_failure": true, "idempotency_key": "fails"}),
        ));
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "Slow", "command": ["sh", "-c", "sleep 3; echo s > s.txt"],
                "idempotency_key": "slow"}),
        ));
    } else if body.contains("CORRAL-MCP-ORCHESTRATE") {
        // An orchestrator: two subtasks at once, a third after both, a look, then finish.
        // `-SLOW`: each subtask takes two seconds (a test kills Corral meanwhile).
        let slow = if body.contains("CORRAL-MCP-ORCHESTRATE-WAIT-SLOW") {
            "sleep 2; "
        } else {
            ""
        };
        let sh = |script: &str| serde_json::json!(["sh", "-c", format!("{slow}{script}")]);
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "A", "command": sh("echo a > a.txt"), "idempotency_key": "a"}),
        ));
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "B", "command": sh("echo b > b.txt"), "idempotency_key": "b"}),
        ));
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "C", "command": sh("cat a.txt b.txt > c.txt"),
                "after": ["A", "B"], "idempotency_key": "c"}),
        ));
        calls.push((
            "create_subtask",
            serde_json::json!({"title": "D", "command": sh("true"), "after": ["Not mine"]}),
        ));
        // `-WAIT`: it ends its turn and is woken with the results (see `reply`).
        if !body.contains("CORRAL-MCP-ORCHESTRATE-WAIT") {
            calls.push(("list_subtasks", serde_json::json!({})));
            calls.push((
                "finish",
                serde_json::json!({"summary": "A and B at once, then C from both."}),
            ));
        }
    }
    if body.contains("CORRAL-MCP-CONSULT") {
        calls.push((
            "ask_agent",
            serde_json::json!({"question": "Is a HashMap right for the cache?",
                "context": "I am adding a cache"}),
        ));
    }
    calls
}
