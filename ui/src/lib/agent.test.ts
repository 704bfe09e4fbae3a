import { describe, expect, it } from "vitest";
import type { RunEventDto } from "./api/backend";
import { agentSummary, shownInLog } from "./agent";

const log: RunEventDto[] = [
  { kind: "output", seq: 1, at: 0, step: "agent", stderr: false, line: '{"type":"system"}' },
  { kind: "agent", seq: 2, at: 0, event: { event: "session_started", session_id: "s1" } },
  { kind: "agent", seq: 3, at: 0, event: { event: "tool_call", id: "t1", name: "Write", input: "{}", kind: "file_edit" } },
  { kind: "agent", seq: 4, at: 0, event: { event: "tool_result", id: "t1", ok: false, output: "denied" } },
  { kind: "agent", seq: 5, at: 0, event: { event: "usage", input_tokens: 10, output_tokens: 5, cost_usd: 0.01 } },
  { kind: "agent", seq: 6, at: 0, event: { event: "usage", input_tokens: 3, output_tokens: 2, cost_usd: null } },
  { kind: "output", seq: 7, at: 0, step: "agent", stderr: true, line: "warning on stderr" },
];

describe("an agent's log in the run view", () => {
  it("totals usage and pairs each tool call with its result", () => {
    const s = agentSummary(log);
    expect(s.hasAgent).toBe(true);
    expect([s.inputTokens, s.outputTokens, s.costUsd]).toEqual([13, 7, 0.01]);
    expect(s.results.get("t1")).toEqual({ ok: false, output: "denied" });
  });

  it("hides the raw stdout, results and usage rows but keeps stderr and the calls", () => {
    expect(log.filter((e) => shownInLog(e, true)).map((e) => e.seq)).toEqual([2, 3, 7]);
    expect(log.filter((e) => shownInLog(e, false))).toHaveLength(log.length);
  });
});
