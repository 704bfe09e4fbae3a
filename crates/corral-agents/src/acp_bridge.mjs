// Corral's ACP bridge: runs an Agent Client Protocol agent (its command line after `--`) as
// the client side of the protocol, sends it one prompt, and prints what it does as JSON lines
// on stdout: the agent's `session/update` notifications as they come, plus `corral_acp` lines
// (session, permission, done, error). Corral parses those lines like any agent's output, so the
// durable step (output in files, exit status) works as for every agent.
// Usage: node acp_bridge.mjs --prompt-file F --permission edits|bypass|ask|readonly [--resume ID] [--mcp JSON] -- agent args...
// With `ask`, what edits do not allow is asked of a person through Corral's MCP server (its
// `permission_prompt` tool, as Claude Code's --permission-prompt-tool does).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const args = process.argv.slice(2);
const split = args.indexOf("--");
const opts = {};
for (let i = 0; i < split; i += 2) opts[args[i].replace(/^--/, "")] = args[i + 1];
const agentArgv = args.slice(split + 1);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const fail = (message, code = 1) => {
  say({ corral_acp: "error", message });
  process.exit(code);
};
if (split < 0 || agentArgv.length === 0) fail("no agent command line after --", 2);

// Gemini CLI (0.61) names a session's file by the minute; loading a session in the minute its
// file was made rewrites that file with an empty conversation, and then finds nothing to load.
// Before resuming, give the session's files names from an earlier minute.
function protectGeminiSession(id) {
  const root = join(process.env.HOME ?? "", ".gemini", "tmp");
  if (!id || !existsSync(root)) return;
  let n = 0;
  for (const project of readdirSync(root)) {
    const chats = join(root, project, "chats");
    if (!existsSync(chats)) continue;
    for (const file of readdirSync(chats)) {
      if (!file.endsWith(`-${id.slice(0, 8)}.jsonl`)) continue;
      const minute = String(n++).padStart(2, "0");
      renameSync(join(chats, file), join(chats, file.replace(/^session-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-/, `session-1970-01-01T00-${minute}-`)));
    }
  }
}
if (opts.resume) protectGeminiSession(opts.resume);
// Corral's MCP server for the run (ACP's stdio server shape), when it has one.
const mcpServers = opts.mcp ? [JSON.parse(opts.mcp)] : [];

const agent = spawn(agentArgv[0], agentArgv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
// Exit 1, not 127, when the agent is missing: 127 would read as "node is missing".
agent.on("error", (e) => fail(`the agent's program \`${agentArgv[0]}\` did not start: ${e.message}`));
let exited = false;
const gone = new Promise((resolve) =>
  agent.on("exit", (code, signal) => {
    exited = true;
    if (!finished) fail(`the agent exited (${signal ?? code}) before answering the prompt`);
    resolve();
  }),
);
let finished = false;
let nextId = 0;
const pending = new Map();
let replaying = false;
let lastUpdate = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function request(method, params) {
  const id = ++nextId;
  agent.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
const reply = (id, result) => agent.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, result }) + "\n");
const refuse = (id, message) =>
  agent.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32601, message } }) + "\n");

// What the project lets agents do without asking: edits allow everything but commands and
// fetches; bypass allows everything; ask allows edits and asks a person for the rest.
const beyondEdits = (toolCall) => ["execute", "fetch"].includes(toolCall?.kind ?? "other");
function pick(options, allowed) {
  const wanted = allowed ? ["allow_once", "allow_always"] : ["reject_once", "reject_always"];
  return wanted.map((kind) => options.find((o) => o.kind === kind)).find(Boolean) ?? options[0];
}

// Corral's MCP server for the run, started on the first approval: `call(tool, args)` answers
// with the tool's JSON text parsed.
let corral = null;
async function corralTool(tool, args) {
  corral ??= connectCorral().catch((e) => {
    corral = null;
    throw e;
  });
  const rpc = await corral;
  const answer = await rpc("tools/call", { name: tool, arguments: args });
  if (answer.error) throw answer.error;
  return JSON.parse(answer.result?.content?.[0]?.text ?? "{}");
}

async function connectCorral() {
  const server = mcpServers[0];
  const child = spawn(server.command, server.args ?? [], { stdio: ["pipe", "pipe", "inherit"] });
  child.on("error", () => {});
  const waiting = new Map();
  let id = 0;
  createInterface({ input: child.stdout }).on("line", (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const waiter = waiting.get(msg.id);
    if (waiter) {
      waiting.delete(msg.id);
      waiter(msg);
    }
  });
  child.on("exit", () => {
    for (const waiter of waiting.values()) waiter({ error: { message: "Corral's MCP server went away" } });
    waiting.clear();
    corral = null;
  });
  const rpc = (method, params) =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: n, method, params }) + "\n");
    });
  await rpc("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "corral-acp-bridge", version: "1" } });
  child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
  return rpc;
}

async function decide(toolCall, options) {
  if (opts.permission === "readonly") return pick(options, ["read", "search", "think"].includes(toolCall?.kind));
  if (opts.permission === "bypass" || !beyondEdits(toolCall)) return pick(options, true);
  if (opts.permission !== "ask" || mcpServers.length === 0) return pick(options, false);
  try {
    const input = toolCall?.rawInput ?? { title: toolCall?.title ?? null, content: toolCall?.content ?? null };
    const verdict = await corralTool("permission_prompt", { tool_name: toolCall?.kind ?? "tool", input });
    return pick(options, verdict?.behavior === "allow");
  } catch (e) {
    say({ corral_acp: "error", message: `asking Corral for approval failed: ${errorText(e)}` });
    return pick(options, false);
  }
}

createInterface({ input: agent.stdout }).on("line", (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    say({ corral_acp: "raw", line });
    return;
  }
  if (msg.id !== undefined && msg.method === undefined) {
    const waiter = pending.get(msg.id);
    pending.delete(msg.id);
    if (waiter) msg.error ? waiter.reject(msg.error) : waiter.resolve(msg.result);
  } else if (msg.method === "session/update") {
    lastUpdate = Date.now();
    if (!replaying) say(msg);
  } else if (msg.method === "session/request_permission") {
    const toolCall = msg.params?.toolCall ?? null;
    decide(toolCall, msg.params?.options ?? []).then((option) => {
      say({ corral_acp: "permission", toolCall, option: option?.kind ?? null });
      reply(msg.id, option ? { outcome: { outcome: "selected", optionId: option.optionId } } : { outcome: { outcome: "cancelled" } });
    });
  } else if (msg.id !== undefined) {
    refuse(msg.id, `Corral's client does not offer ${msg.method}`);
  }
});

const errorText = (e) => (e && e.message ? `${e.message}${e.data ? `: ${JSON.stringify(e.data)}` : ""}` : String(e));

async function main() {
  const prompt = readFileSync(opts["prompt-file"], "utf8");
  const cwd = process.cwd();
  const init = await request("initialize", {
    protocolVersion: 1,
    clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
  });
  say({ corral_acp: "initialized", agentInfo: init?.agentInfo ?? null, loadSession: !!init?.agentCapabilities?.loadSession });
  const open = async () => {
    if (opts.resume) {
      if (!init?.agentCapabilities?.loadSession) throw { message: "this agent cannot load a session (no loadSession)" };
      // Loading replays the conversation as updates, some after the answer: they are history,
      // not this run's events. Wait until the agent has been quiet for 200 ms (at most 3 s).
      replaying = true;
      await request("session/load", { sessionId: opts.resume, cwd, mcpServers });
      const until = Date.now() + 3000;
      lastUpdate = Date.now();
      while (Date.now() - lastUpdate < 200 && Date.now() < until) await sleep(50);
      replaying = false;
      return opts.resume;
    }
    return (await request("session/new", { cwd, mcpServers })).sessionId;
  };
  let sessionId;
  try {
    sessionId = await open();
  } catch (e) {
    // Some agents want an authentication method picked first (e.g. an API key from the env).
    const methods = init?.authMethods ?? [];
    if (methods.length === 0) throw e;
    const method = methods.find((m) => /api.?key/i.test(m.id)) ?? methods[0];
    await request("authenticate", { methodId: method.id });
    sessionId = await open();
  }
  say({ corral_acp: "session", sessionId });
  const result = await request("session/prompt", { sessionId, prompt: [{ type: "text", text: prompt }] });
  finished = true;
  say({ corral_acp: "done", stopReason: result?.stopReason ?? null });
  // The agent has recorded the turn by now (give its last write a moment). Stop it with
  // SIGKILL: on a graceful shutdown Gemini CLI rewrites the session it loaded as empty, and a
  // follow-up would find nothing to resume.
  await Promise.race([gone, sleep(300)]);
  if (!exited) agent.kill("SIGKILL");
  process.exit(0);
}

main().catch((e) => fail(errorText(e)));
