// A scripted Anthropic Messages server on 127.0.0.1 for the real Claude Code CLI in the window's
// end-to-end test (the Rust tests have the same script): a Write tool call for hello.txt
// (second.txt when the conversation holds "FOLLOW-UP"), then "Done." once the result came back.
// A conversation holding "CORRAL-MCP-ASK" calls Corral's ask_human tool instead. A
// "CORRAL-CHECKS" conversation writes answer.txt saying "broken"; a turn resumed with failed
// checks or review comments writes "fixed" ("worse" with "CORRAL-CHECKS-NEVER").
// A "CORRAL-MCP-ORCHESTRATE" conversation plans three command-line subtasks (A and B at once,
// C after both), ends its turn, and calls finish once woken with their results.
// Every request body is kept in `requests`.
import http from "node:http";

const sh = (script) => ["sh", "-c", script];
/** The orchestrator's planning turn: its tool calls in order. */
const ORCHESTRATE = [
  ["mcp__corral__create_subtask", { title: "A", command: sh("sleep 3; echo a > a.txt"), idempotency_key: "a" }],
  ["mcp__corral__create_subtask", { title: "B", command: sh("sleep 3; echo b > b.txt"), idempotency_key: "b" }],
  ["mcp__corral__create_subtask", { title: "C", command: sh("sleep 2; cat a.txt b.txt > c.txt"), after: ["A", "B"], idempotency_key: "c" }],
];

function reply(body) {
  const request = JSON.parse(body || "{}");
  const messages = request.messages ?? [];
  const has = (m, kind) =>
    typeof m.content === "string" ? kind === "text" : (m.content ?? []).some((p) => p.type === kind);
  let lastHuman = 0;
  messages.forEach((m, i) => {
    if (m.role === "user" && has(m, "text") && !has(m, "tool_result")) lastHuman = i;
  });
  const answered = messages.slice(lastHuman).some((m) => has(m, "tool_result"));
  const asks = body.includes("CORRAL-MCP-ASK");
  const latest = JSON.stringify(messages[lastHuman] ?? {});
  const checks = body.includes("CORRAL-CHECKS");
  const fixing = latest.includes("The project's checks failed") || latest.includes("A review of your work");
  const cwd = (body.split("Primary working directory: ")[1] ?? "/workspace").split("\\")[0];
  const turn = messages.length;
  const events = [
    { type: "message_start", message: { id: `msg_${turn}`, type: "message", role: "assistant", model: request.model, content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } },
  ];
  const orchestrating = body.includes("CORRAL-MCP-ORCHESTRATE");
  const results = messages.slice(lastHuman).filter((m) => has(m, "tool_result")).length;
  const woken = latest.includes("Your subtasks have ended");
  const planned = orchestrating ? (woken ? [["mcp__corral__finish", { summary: "A and B at once, then C from both." }]] : ORCHESTRATE)[results] : undefined;
  const endsTurn = orchestrating ? planned === undefined : answered;
  if (orchestrating && planned) {
    events.push({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: `toolu_${turn}`, name: planned[0], input: {} } });
    events.push({ type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: JSON.stringify(planned[1]) } });
  } else if (orchestrating) {
    events.push({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    events.push({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: woken ? "Done: c.txt holds a and b." : "Planned: A and B at once, then C." } });
  } else if (answered) {
    events.push({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    events.push({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Done." } });
  } else if (asks) {
    const input = JSON.stringify({
      questions: [{ question: "Which database?", options: [{ label: "SQLite", description: "embedded" }, { label: "Postgres", description: "a server" }] }],
      context: "The cart needs storage",
    });
    events.push({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: `toolu_${turn}`, name: "mcp__corral__ask_human", input: {} } });
    events.push({ type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: input } });
  } else if (checks) {
    const content = !fixing ? "broken\n" : body.includes("CORRAL-CHECKS-NEVER") ? "worse\n" : "fixed\n";
    const input = JSON.stringify({ file_path: `${cwd}/answer.txt`, content });
    events.push({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: `toolu_${turn}`, name: "Write", input: {} } });
    events.push({ type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: input } });
  } else {
    const name = body.includes("FOLLOW-UP") ? "second.txt" : "hello.txt";
    const input = JSON.stringify({ file_path: `${cwd}/${name}`, content: `${name.replace(".txt", "")}\n` });
    events.push({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: `toolu_${turn}`, name: "Write", input: {} } });
    events.push({ type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: input } });
  }
  events.push({ type: "content_block_stop", index: 0 });
  events.push({ type: "message_delta", delta: { stop_reason: endsTurn ? "end_turn" : "tool_use" }, usage: { output_tokens: 5 } });
  events.push({ type: "message_stop" });
  return events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
}

/** Every request body any server here was sent, in order. */
export const requests = [];

/** Starts the server; resolves to its base URL. */
export function startModelServer() {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      requests.push(body);
      if (req.url.includes("count_tokens")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"input_tokens":10}');
        return;
      }
      const payload = reply(body);
      res.writeHead(200, { "content-type": "text/event-stream", "content-length": Buffer.byteLength(payload) });
      res.end(payload);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)));
}
